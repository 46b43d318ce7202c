// TURN through the public API: agents whose ICE sessions carry a relayed candidate from a real
// coturn (static and time-limited credentials), asked to connect over TURN alone, delivering
// every mode end to end encrypted with the TURN server and the signaling server seeing only
// ciphertext; the allocation's ChannelData carrying the data; a wrong TURN password failing
// with its reason; a lost allocation moving the connection to the server relay.
#include "coturn_process.hpp"
#include "delivery_checks.h"
#include "harness.h"

#include "proto/turn.h"

#include <ctime>

namespace {

using om::test::CoturnOptions;
using om::test::CoturnProcess;
using test::RecordingAgent;

std::function<void(orbitmesh::AgentOptions&)> with_turn(const CoturnProcess& coturn, std::string user, std::string pass)
{
    return [&coturn, user, pass](orbitmesh::AgentOptions& o) {
        test::fast(o);
        o.turn_server("127.0.0.1").turn_username(user).turn_password(pass);
        o.raw().turn_port = coturn.port();
    };
}

// A server with its TURN relay on loopback that hands out time-limited credentials for it.
std::unique_ptr<orbitmesh::Server> start_relay_server(const std::string& secret)
{
    orbitmesh::ServerOptions options;
    options.bind("127.0.0.1").http_port(0).stun_port(-1).open(true);
    options.enable_turn_relay(true).turn_secret(secret).turn_allow_loopback_peers(true);
    auto server = std::make_unique<orbitmesh::Server>(options);
    server->start();
    return server;
}

bool wait_counter(orbitmesh::Agent& agent, const std::string& name, uint64_t at_least, int timeout_ms = 5000)
{
    for (int i = 0; i < timeout_ms / 10; ++i) {
        if (agent.counter(name) >= at_least) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
}

} // namespace

TEST_CASE("turn: agents asked for TURN connect through coturn and deliver every mode, encrypted", "[turn][delivery]")
{
    if (!CoturnProcess::available()) {
        WARN("SKIPPED: turnserver missing (apt-get install -y coturn)");
        return;
    }
    CoturnProcess coturn(CoturnOptions{.user = "alice:wonderland"});
    auto server = test::start_server_with_stun();
    RecordingAgent a(test::url_of(*server), "alice", {}, with_turn(coturn, "alice", "wonderland"));
    RecordingAgent b(test::url_of(*server), "bob", {}, with_turn(coturn, "alice", "wonderland"));
    a.agent->connect();
    b.agent->connect();
    // Each agent allocates as soon as it is registered.
    REQUIRE(wait_counter(*a.agent, "turn.allocations", 1));
    REQUIRE(wait_counter(*b.agent, "turn.allocations", 1));
    om_peer_state state = a.agent->connect_peer("bob", OM_TRANSPORT_TURN);
    INFO(state.diagnosis);
    REQUIRE(state.status == OM_PEER_CONNECTED);
    CHECK(state.active_transport == OM_TRANSPORT_TURN);
    CHECK(state.strategy == OM_STRATEGY_TURN_RELAY);
    CHECK_THAT(std::string(state.local_candidate), Catch::Contains("typ relay"));
    REQUIRE(b.wait_for(OM_EVENT_PEER_CONNECTED, 1, 5000));
    CHECK(b.agent->peer_state("alice").active_transport == OM_TRANSPORT_TURN);

    const uint64_t relayed_before = server->counter("frames.in.relay");
    test::exchange_every_mode(a, b);
    test::check_encrypted_state(a, b);
    CHECK(server->counter("frames.in.relay") == relayed_before);  // not the server relay
    // The data went through the allocation (600 messages of 10+ bytes, packed into QUIC packets),
    // as ChannelData once the channel was bound.
    CHECK(a.agent->counter("plugin.turn-client.channel_data_out") > 10);
    CHECK(a.agent->counter("plugin.turn-client.bytes_out") > 600 * 10);
    CHECK(a.agent->counter("plugin.turn-client.bad_integrity") == 0);
}

TEST_CASE("turn: with coturn's time-limited credentials the relayed candidate joins the checks", "[turn]")
{
    if (!CoturnProcess::available()) {
        WARN("SKIPPED: turnserver missing (apt-get install -y coturn)");
        return;
    }
    const std::string secret = "shared between the signaling server and coturn";
    CoturnProcess coturn(CoturnOptions{.secret = secret});
    const auto expiry = static_cast<uint64_t>(std::time(nullptr)) + 3600;
    auto ca = om::proto::turn::rest_credentials(secret, "alice", expiry);
    auto cb = om::proto::turn::rest_credentials(secret, "bob", expiry);
    auto server = test::start_server_with_stun();
    RecordingAgent a(test::url_of(*server), "alice", {}, with_turn(coturn, ca.username, ca.password));
    RecordingAgent b(test::url_of(*server), "bob", {}, with_turn(coturn, cb.username, cb.password));
    a.agent->connect();
    b.agent->connect();
    REQUIRE(wait_counter(*a.agent, "turn.allocations", 1));
    REQUIRE(wait_counter(*b.agent, "turn.allocations", 1));
    // The best path on loopback is direct; the relayed candidate was offered and checked too.
    om_peer_state state = a.agent->connect_peer("bob");
    REQUIRE(state.status == OM_PEER_CONNECTED);
    CHECK(state.active_transport == OM_TRANSPORT_P2P);
    const std::string pairs = a.agent->peer_pairs_json("bob");
    CHECK_THAT(pairs, Catch::Contains("typ relay"));
}

TEST_CASE("turn: a wrong TURN password fails a TURN-only connection with the reason", "[turn]")
{
    if (!CoturnProcess::available()) {
        WARN("SKIPPED: turnserver missing (apt-get install -y coturn)");
        return;
    }
    CoturnProcess coturn(CoturnOptions{.user = "alice:wonderland"});
    auto server = test::start_server_with_stun();
    RecordingAgent a(test::url_of(*server), "alice", {}, with_turn(coturn, "alice", "looking-glass"));
    RecordingAgent b(test::url_of(*server), "bob", {}, test::fast);
    a.agent->connect();
    b.agent->connect();
    REQUIRE(wait_counter(*a.agent, "turn.allocations_failed", 1));
    om_status status = test::status_of([&] { a.agent->connect_peer("bob", OM_TRANSPORT_TURN); });
    CHECK(status == OM_ERR_STATE);
    CHECK_THAT(std::string(om_agent_last_error(a.agent->get())), Catch::Contains("TURN allocation failed"));
    CHECK_THAT(std::string(om_agent_last_error(a.agent->get())), Catch::Contains("401"));
    // Without TURN, the best path still works.
    CHECK(a.agent->connect_peer("bob").status == OM_PEER_CONNECTED);
}

TEST_CASE("turn: the server's own relay with time-limited credentials it hands out at registration", "[turn][delivery]")
{
    // No TURN option on the agents: the server holds the secret, runs the relay and gives each
    // registered agent credentials for it (coturn's use-auth-secret scheme).
    auto relay_server = start_relay_server("only the server knows");
    orbitmesh::Server& server = *relay_server;
    RecordingAgent a(test::url_of(server), "alice", {}, test::fast);
    RecordingAgent b(test::url_of(server), "bob", {}, test::fast);
    a.agent->connect();
    b.agent->connect();
    REQUIRE(wait_counter(*a.agent, "turn.allocations", 1));
    REQUIRE(wait_counter(*b.agent, "turn.allocations", 1));
    CHECK(a.agent->counter("turn.server_credentials") == 1);
    CHECK(server.counter("turn.credentials_issued") == 2);
    om_peer_state state = a.agent->connect_peer("bob", OM_TRANSPORT_TURN);
    INFO(state.diagnosis);
    REQUIRE(state.status == OM_PEER_CONNECTED);
    CHECK(state.active_transport == OM_TRANSPORT_TURN);
    REQUIRE(b.wait_for(OM_EVENT_PEER_CONNECTED, 1, 5000));
    test::exchange_every_mode(a, b);
    test::check_encrypted_state(a, b);
    CHECK(server.counter("turn.allocations") == 2);
    CHECK(server.counter("turn.packets_relayed") > 20);
    CHECK(server.counter("frames.in.relay") == 0);
}

TEST_CASE("turn: a server secret shared with coturn hands out credentials for coturn", "[turn]")
{
    if (!CoturnProcess::available()) {
        WARN("SKIPPED: turnserver missing (apt-get install -y coturn)");
        return;
    }
    const std::string secret = "the signaling server and coturn share this";
    CoturnProcess coturn(CoturnOptions{.secret = secret});
    orbitmesh::ServerOptions options;
    options.bind("127.0.0.1").http_port(0).stun_port(-1).open(true);
    options.turn_secret(secret).turn_address(coturn.address());
    orbitmesh::Server server(options);
    server.start();
    RecordingAgent a(test::url_of(server), "alice", {}, test::fast);
    RecordingAgent b(test::url_of(server), "bob", {}, test::fast);
    a.agent->connect();
    b.agent->connect();
    REQUIRE(wait_counter(*a.agent, "turn.allocations", 1));
    REQUIRE(wait_counter(*b.agent, "turn.allocations", 1));
    om_peer_state state = a.agent->connect_peer("bob", OM_TRANSPORT_TURN);
    REQUIRE(state.status == OM_PEER_CONNECTED);
    CHECK(state.active_transport == OM_TRANSPORT_TURN);
    for (int i = 0; i < 50; ++i) test::send_all(*a.agent, "bob", test::numbered("via coturn", i), OM_DELIVERY_RELIABLE_ORDERED);
    REQUIRE(test::wait_received(b, "alice", OM_DELIVERY_RELIABLE_ORDERED, 0, 50));
}

TEST_CASE("turn: a direct-only connection never uses a relayed candidate", "[turn]")
{
    auto relay_server = start_relay_server("direct only");
    orbitmesh::Server& server = *relay_server;
    RecordingAgent a(test::url_of(server), "alice", {}, test::fast);
    RecordingAgent b(test::url_of(server), "bob", {}, test::fast);
    a.agent->connect();
    b.agent->connect();
    REQUIRE(wait_counter(*a.agent, "turn.allocations", 1));
    REQUIRE(wait_counter(*b.agent, "turn.allocations", 1));
    om_peer_state state = a.agent->connect_peer("bob", OM_TRANSPORT_P2P);
    REQUIRE(state.status == OM_PEER_CONNECTED);
    CHECK(state.active_transport == OM_TRANSPORT_P2P);
    CHECK_THAT(a.agent->peer_pairs_json("bob"), !Catch::Contains("typ relay"));  // not offered, not paired
    REQUIRE(b.wait_for(OM_EVENT_PEER_CONNECTED, 1, 5000));
    CHECK(b.agent->peer_state("alice").active_transport == OM_TRANSPORT_P2P);
}

TEST_CASE("turn: over TCP to the server's relay (RFC 6062 framing), every mode delivered", "[turn][delivery]")
{
    auto relay_server = start_relay_server("tcp please");
    orbitmesh::Server& server = *relay_server;
    auto over_tcp = [](orbitmesh::AgentOptions& o) {
        test::fast(o);
        o.plugin_option("turn-client", "transport", "tcp");
    };
    RecordingAgent a(test::url_of(server), "alice", {}, over_tcp);
    RecordingAgent b(test::url_of(server), "bob", {}, over_tcp);
    a.agent->connect();
    b.agent->connect();
    REQUIRE(wait_counter(*a.agent, "turn.allocations", 1));
    REQUIRE(wait_counter(*b.agent, "turn.allocations", 1));
    CHECK(server.counter("turn.tcp.connections") == 2);
    om_peer_state state = a.agent->connect_peer("bob", OM_TRANSPORT_TURN);
    INFO(state.diagnosis);
    REQUIRE(state.status == OM_PEER_CONNECTED);
    CHECK(state.active_transport == OM_TRANSPORT_TURN);
    REQUIRE(b.wait_for(OM_EVENT_PEER_CONNECTED, 1, 5000));
    test::exchange_every_mode(a, b);
    CHECK(a.agent->counter("plugin.turn-client.channel_data_out") > 0);
    // Closing the agents closes the connections, and the allocations go with them.
    a.agent.reset();
    b.agent.reset();
    for (int i = 0; i < 100 && server.counter("turn.allocations") > 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    CHECK(server.counter("turn.allocations") == 0);
}

TEST_CASE("turn: a TURN server that does not answer over UDP is reached over TCP (auto)", "[turn]")
{
    if (!CoturnProcess::available()) {
        WARN("SKIPPED: turnserver missing (apt-get install -y coturn)");
        return;
    }
    // coturn with its UDP listeners off stands for a network that blocks UDP to the TURN server.
    CoturnProcess coturn(CoturnOptions{.user = "alice:wonderland", .extra = {"--no-udp"}});
    auto server = test::start_server_with_stun();
    auto tweak = [&](orbitmesh::AgentOptions& o) {
        with_turn(coturn, "alice", "wonderland")(o);
        o.plugin_option("turn-client", "auto_udp_ms", "300");
    };
    RecordingAgent a(test::url_of(*server), "alice", {}, tweak);
    RecordingAgent b(test::url_of(*server), "bob", {}, tweak);
    a.agent->connect();
    b.agent->connect();
    REQUIRE(wait_counter(*a.agent, "turn.allocations", 1, 8000));
    REQUIRE(wait_counter(*b.agent, "turn.allocations", 1, 8000));
    om_peer_state state = a.agent->connect_peer("bob", OM_TRANSPORT_TURN);
    REQUIRE(state.status == OM_PEER_CONNECTED);
    CHECK(state.active_transport == OM_TRANSPORT_TURN);
    for (int i = 0; i < 50; ++i) test::send_all(*a.agent, "bob", test::numbered("over tcp", i), OM_DELIVERY_RELIABLE_ORDERED);
    REQUIRE(test::wait_received(b, "alice", OM_DELIVERY_RELIABLE_ORDERED, 0, 50));
}
