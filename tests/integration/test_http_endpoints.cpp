// /healthz, /metrics, /v1/agents (admin token unless --open) and SIGTERM -> exit 0.
#include "server_process.hpp"
#include "ws_test_client.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

using namespace om::test;

TEST_CASE("healthz, metrics and agents on an open server", "[http]") {
    ServerProcess server({"--open"});
    HttpReply health = http_get(server.port(), "/healthz");
    CHECK(health.status == 200);
    CHECK(health.body == "ok");
    CHECK(server.output().find("WARNING: --open") != std::string::npos);

    TestClient a(server.port());
    a.register_as("alpha");
    TestClient b(server.port());
    b.register_as("beta");

    HttpReply agents = http_get(server.port(), "/v1/agents");
    CHECK(agents.status == 200);
    CHECK(agents.body == R"({"agents":["alpha","beta"],"details":[{"id":"alpha","nat":null},{"id":"beta","nat":null}]})");

    // The server counts an outgoing frame once its write returned, which can be just after the
    // client read it: poll briefly (bounded) for the counts to settle.
    HttpReply metrics = http_get(server.port(), "/metrics");
    for (int i = 0; i < 50 && metric_value(metrics.body, "orbitmesh_frames_out_total{type=\"registered\"}") < 2; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        metrics = http_get(server.port(), "/metrics");
    }
    CHECK(metrics.status == 200);
    CHECK(metric_value(metrics.body, "orbitmesh_agents_connected") == 2);
    CHECK(metric_value(metrics.body, "orbitmesh_frames_in_total{type=\"register\"}") == 2);
    CHECK(metric_value(metrics.body, "orbitmesh_frames_out_total{type=\"registered\"}") == 2);
    CHECK(metrics.body.find("# TYPE orbitmesh_agents_connected gauge") != std::string::npos);

    CHECK(http_get(server.port(), "/nowhere").status == 404);
    CHECK(server.terminate() == 0);
}

TEST_CASE("agents list needs the admin token when a secret is set", "[http][auth]") {
    ServerProcess server({"--secret", "s3cret"});
    CHECK(http_get(server.port(), "/v1/agents").status == 401);
    CHECK(http_get(server.port(), "/v1/agents", make_token("other", "admin", 60)).status == 401);
    CHECK(http_get(server.port(), "/v1/agents", make_token("s3cret", "alpha", 60)).status == 401);
    CHECK(http_get(server.port(), "/v1/agents", make_token("s3cret", "admin", -60)).status == 401);
    HttpReply ok = http_get(server.port(), "/v1/agents", make_token("s3cret", "admin", 60));
    CHECK(ok.status == 200);
    CHECK(ok.body == R"({"agents":[],"details":[]})");
    CHECK(metric_value(http_get(server.port(), "/metrics").body, "orbitmesh_auth_failures_total") == 4);
    CHECK(server.terminate() == 0);
}

TEST_CASE("SIGTERM with agents connected closes them with 1001 and exits 0", "[http][shutdown]") {
    ServerProcess server({"--open"});
    TestClient a(server.port());
    a.register_as("alpha");
    CHECK(server.terminate() == 0);
    CHECK(a.wait_closed(2s) == uint16_t{1001});
    CHECK(server.output().find("stopping") != std::string::npos);
}
