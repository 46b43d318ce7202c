// Registration with --secret: missing, forged, expired and another id's token are refused with
// an error frame and a close, and counted; a live id is refused (409) or replaced.
#include "server_process.hpp"
#include "ws_test_client.hpp"

#include <catch2/catch.hpp>

using namespace om::test;

namespace {

const std::string secret = "integration-secret";

void expect_refused(int port, const std::string& id, const std::optional<std::string>& token, uint16_t code) {
    TestClient c(port);
    auto error = c.register_expecting_error(id, token);
    REQUIRE(error);
    CHECK(error->code == code);
    CHECK_FALSE(error->reason.empty());
    CHECK(c.wait_closed(3s).has_value());
}

} // namespace

TEST_CASE("tokens: missing, forged, expired and another id's are refused and counted", "[auth]") {
    ServerProcess server({"--secret", secret});
    expect_refused(server.port(), "alice", std::nullopt, 401);
    expect_refused(server.port(), "alice", make_token("not-the-secret", "alice", 600), 401);
    expect_refused(server.port(), "alice", "not.a.jwt", 401);
    expect_refused(server.port(), "alice", make_token(secret, "alice", -10), 401);
    expect_refused(server.port(), "alice", make_token(secret, "bob", 600), 403);

    TestClient good(server.port());
    auto registered = good.register_as("alice", make_token(secret, "alice", 600));
    CHECK(registered.id == "alice");
    CHECK(registered.keepalive_ms > 0);
    CHECK_FALSE(registered.session.empty());

    std::string metrics = http_get(server.port(), "/metrics").body;
    CHECK(metric_value(metrics, "orbitmesh_auth_failures_total") == 5);
    CHECK(metric_value(metrics, "orbitmesh_auth_failures_by_reason_total{reason=\"missing\"}") == 1);
    CHECK(metric_value(metrics, "orbitmesh_auth_failures_by_reason_total{reason=\"forged\"}") == 2);
    CHECK(metric_value(metrics, "orbitmesh_auth_failures_by_reason_total{reason=\"expired\"}") == 1);
    CHECK(metric_value(metrics, "orbitmesh_auth_failures_by_reason_total{reason=\"wrong_subject\"}") == 1);
    CHECK(metric_value(metrics, "orbitmesh_agents_connected") == 1);
    CHECK(server.terminate() == 0);
}

TEST_CASE("the token command mints a token the server accepts", "[auth]") {
    ServerProcess server({"--secret", secret});
    std::string command = std::string(OM_SERVER_BINARY) + " token --secret " + secret + " --id carol --ttl 60";
    FILE* pipe = ::popen(command.c_str(), "r");
    REQUIRE(pipe);
    char line[4096] = "";
    REQUIRE(std::fgets(line, sizeof line, pipe) != nullptr);
    CHECK(::pclose(pipe) == 0);
    std::string token(line);
    while (!token.empty() && (token.back() == '\n' || token.back() == '\r')) token.pop_back();
    TestClient c(server.port());
    CHECK(c.register_as("carol", token).id == "carol");
    CHECK(server.terminate() == 0);
}

TEST_CASE("an id already live is refused with 409 by default", "[auth]") {
    ServerProcess server({"--open"});
    TestClient first(server.port());
    first.register_as("dup");
    TestClient second(server.port());
    auto error = second.register_expecting_error("dup", std::nullopt);
    REQUIRE(error);
    CHECK(error->code == 409);
    CHECK(second.wait_closed(3s).has_value());
    first.send(sig::Ping{1}); // the first connection is untouched
    CHECK(first.receive_as<sig::Pong>());
    CHECK(metric_value(http_get(server.port(), "/metrics").body, "orbitmesh_errors_total{kind=\"id_in_use\"}") == 1);
    CHECK(server.terminate() == 0);
}

TEST_CASE("with --replace-existing-id the newer registration wins", "[auth]") {
    ServerProcess server({"--open", "--replace-existing-id"});
    TestClient first(server.port());
    first.register_as("dup");
    TestClient second(server.port());
    CHECK(second.register_as("dup").id == "dup");
    auto told = first.receive_as<sig::Error>();
    REQUIRE(told);
    CHECK(told->code == 409);
    CHECK(first.wait_closed(3s).has_value());
    second.send(sig::Ping{2});
    CHECK(second.receive_as<sig::Pong>());
    CHECK(http_get(server.port(), "/v1/agents").body == R"({"agents":["dup"],"details":[{"id":"dup","nat":null}]})");
    CHECK(server.terminate() == 0);
}
