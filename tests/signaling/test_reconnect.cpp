#include "harness.h"

TEST_CASE("after the server restarts, agents reconnect and relaying resumes", "[reconnect]")
{
    auto server = test::start_server();
    int32_t port = server->http_port();
    std::string url = server->url();
    test::RecordingAgent a(url, "ra"), b(url, "rb");
    a.agent->connect();
    b.agent->connect();
    a.agent->connect_peer("rb", OM_TRANSPORT_SERVER_RELAY); // a relayed peer waits for the server
    a.agent->send("rb", "before");
    REQUIRE(b.wait_for(OM_EVENT_MESSAGE, 1));

    server->stop();
    server.reset();
    REQUIRE(a.wait_for(OM_EVENT_DISCONNECTED, 1));
    REQUIRE(a.wait_for(OM_EVENT_RECONNECTING, 1));
    CHECK(a.agent->peer_state("rb").status == OM_PEER_CONNECTING);
    CHECK(test::status_of([&] { a.agent->send("rb", "while down"); }) == OM_ERR_STATE);

    server = test::start_server({}, port);  // same address, new process state
    REQUIRE(a.wait_for(OM_EVENT_CONNECTED, 2, 15000));
    REQUIRE(b.wait_for(OM_EVENT_CONNECTED, 2, 15000));
    CHECK(a.agent->peer_state("rb").status == OM_PEER_CONNECTED);
    a.agent->send("rb", "after");
    REQUIRE(b.wait_for(OM_EVENT_MESSAGE, 2));
    auto got = b.of_type(OM_EVENT_MESSAGE);
    CHECK(std::string(got[1].data.begin(), got[1].data.end()) == "after");
}

TEST_CASE("disconnect leaves the server and ends relay peers", "[reconnect]")
{
    auto server = test::start_server();
    test::RecordingAgent a(server->url(), "da"), b(server->url(), "db");
    a.agent->connect();
    b.agent->connect();
    a.agent->connect_peer("db", OM_TRANSPORT_SERVER_RELAY);
    a.agent->disconnect();
    a.agent->disconnect();  // idempotent
    CHECK(a.agent->peer_state("db").status == OM_PEER_DISCONNECTED);
    CHECK(a.wait_for(OM_EVENT_PEER_DISCONNECTED, 1));
    CHECK(a.count(OM_EVENT_RECONNECTING) == 0);
    a.agent->connect();  // and it can come back
    CHECK(a.wait_for(OM_EVENT_CONNECTED, 2));
}
