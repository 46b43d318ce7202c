#include "harness.h"

#include <cstring>
#include <set>

TEST_CASE("10,000 reliable messages go through the server relay intact and in order", "[relay]")
{
    auto server = test::start_server();
    test::RecordingAgent a(server->url(), "alice"), b(server->url(), "bob");
    a.agent->connect();
    b.agent->connect();
    REQUIRE(a.wait_for(OM_EVENT_CONNECTED, 1));

    om_peer_state state = a.agent->connect_peer("bob", OM_TRANSPORT_SERVER_RELAY);
    CHECK(state.status == OM_PEER_CONNECTED);
    CHECK(state.active_transport == OM_TRANSPORT_SERVER_RELAY);
    CHECK(state.strategy == OM_STRATEGY_SERVER_RELAY);
    REQUIRE(b.wait_for(OM_EVENT_PEER_CONNECTED, 1));
    CHECK(b.of_type(OM_EVENT_PEER_CONNECTED)[0].peer_id == "alice");

    constexpr int kCount = 10000;
    for (int i = 0; i < kCount; ++i) {
        std::string payload = "message " + std::to_string(i) + " " + std::string(size_t(i % 200), char('a' + i % 26));
        for (int tries = 0;; ++tries) {  // the outgoing queue is bounded: back off when it is full
            om_status s = test::status_of([&] { a.agent->send("bob", payload); });
            if (s == OM_OK) break;
            REQUIRE(s == OM_ERR_WOULD_BLOCK);
            REQUIRE(tries < 1000);
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
    }
    REQUIRE(b.wait_for(OM_EVENT_MESSAGE, kCount, 30000));
    auto messages = b.of_type(OM_EVENT_MESSAGE);
    REQUIRE(messages.size() == size_t(kCount));
    for (int i = 0; i < kCount; ++i) {
        std::string expected = "message " + std::to_string(i) + " " + std::string(size_t(i % 200), char('a' + i % 26));
        REQUIRE(std::string(messages[i].data.begin(), messages[i].data.end()) == expected);
        REQUIRE(messages[i].peer_id == "alice");
        REQUIRE(messages[i].delivery_mode == OM_DELIVERY_RELIABLE_ORDERED);
    }
    auto at_a = a.agent->peer_state("bob");
    CHECK(at_a.messages_sent == uint64_t(kCount));
    auto at_b = b.agent->peer_state("alice");
    CHECK(at_b.messages_received == uint64_t(kCount));
    CHECK(at_b.status == OM_PEER_CONNECTED);
}

TEST_CASE("the delivery mode travels with each relayed message", "[relay]")
{
    auto server = test::start_server();
    test::RecordingAgent a(server->url(), "a1"), b(server->url(), "b1");
    a.agent->connect();
    b.agent->connect();
    a.agent->connect_peer("b1", OM_TRANSPORT_SERVER_RELAY); // the relay carries every mode
    // Each message names its mode; modes are independent streams, so they may arrive in any order.
    for (om_delivery_mode mode : {OM_DELIVERY_RELIABLE_UNORDERED, OM_DELIVERY_UNRELIABLE, OM_DELIVERY_SEQUENCED})
        a.agent->send("b1", "mode " + std::to_string(mode), mode);
    REQUIRE(b.wait_for(OM_EVENT_MESSAGE, 3));
    auto got = b.of_type(OM_EVENT_MESSAGE);
    std::set<int> modes;
    for (auto& m : got) {
        CHECK(std::string(m.data.begin(), m.data.end()) == "mode " + std::to_string(m.delivery_mode));
        modes.insert(m.delivery_mode);
    }
    CHECK(modes == std::set<int>{OM_DELIVERY_RELIABLE_UNORDERED, OM_DELIVERY_UNRELIABLE, OM_DELIVERY_SEQUENCED});
}

TEST_CASE("peer operations fail clearly in the wrong state", "[relay]")
{
    auto server = test::start_server();
    test::RecordingAgent a(server->url(), "lonely");
    CHECK(test::status_of([&] { a.agent->connect_peer("x"); }) == OM_ERR_STATE);  // not connected yet
    a.agent->connect();
    CHECK(test::status_of([&] { a.agent->connect(); }) == OM_ERR_STATE);
    CHECK(test::status_of([&] { a.agent->connect_peer("nobody"); }) == OM_ERR_NOT_FOUND);
    CHECK(a.agent->peer_state("nobody").status == OM_PEER_FAILED);
    CHECK(test::status_of([&] { a.agent->send("nobody", "x"); }) == OM_ERR_STATE);
    CHECK(test::status_of([&] { a.agent->connect_peer("lonely"); }) == OM_ERR_INVALID_ARGUMENT);
    // No TURN server configured: a TURN-only connection says so.
    CHECK(test::status_of([&] { a.agent->connect_peer("x", OM_TRANSPORT_TURN); }) == OM_ERR_STATE);
    CHECK_THAT(std::string(om_agent_last_error(a.agent->get())), Catch::Contains("TURN is not configured"));
    CHECK(test::status_of([&] { a.agent->send("nobody", std::string(70000, 'x')); }) == OM_ERR_STATE);
    CHECK(a.agent->peer_state("never-seen").status == OM_PEER_DISCONNECTED);
}

TEST_CASE("connect without a server or to a closed port fails in time", "[relay]")
{
    test::RecordingAgent none("", "x");
    CHECK(test::status_of([&] { none.agent->connect(); }) == OM_ERR_INVALID_ARGUMENT);
    test::RecordingAgent bad_scheme("http://127.0.0.1:1", "x");
    CHECK(test::status_of([&] { bad_scheme.agent->connect(); }) == OM_ERR_INVALID_ARGUMENT);

    test::RecordingAgent closed("ws://127.0.0.1:1", "x", {}, [](orbitmesh::AgentOptions& o) { o.raw().connection_timeout_ms = 1500; });
    auto start = std::chrono::steady_clock::now();
    CHECK(test::status_of([&] { closed.agent->connect(); }) == OM_ERR_TIMEOUT);
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::milliseconds(3000));
    CHECK(closed.count(OM_EVENT_RECONNECTING) >= 1);  // it retried with backoff meanwhile
}
