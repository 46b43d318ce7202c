// Peer-to-peer connections between agents on loopback, through the public API only: the direct
// path wins, data is routed over it, the strategy and candidates are reported, a refusing
// peer, PreferP2P=false, a path that cannot punch (falls back to the relay), the server going
// away (P2P traffic goes on), and consent expiry when the peer vanishes.
#include "harness.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <future>

namespace {

using test::RecordingAgent;
using test::fast;
using test::start_server_with_stun;
using test::url_of;

size_t messages_from(RecordingAgent& agent, const std::string& peer, om_delivery_mode mode)
{
    size_t n = 0;
    for (auto& e : agent.of_type(OM_EVENT_MESSAGE)) n += e.peer_id == peer && e.delivery_mode == mode;
    return n;
}

bool wait_messages(RecordingAgent& agent, const std::string& peer, size_t wanted, int timeout_ms = 5000)
{
    for (int i = 0; i < timeout_ms / 10; ++i) {
        if (messages_from(agent, peer, OM_DELIVERY_UNRELIABLE) >= wanted) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
}

} // namespace

TEST_CASE("p2p: two agents on loopback connect directly and exchange datagrams", "[p2p]")
{
    auto server = start_server_with_stun();
    RecordingAgent a(url_of(*server), "alice", {}, fast);
    RecordingAgent b(url_of(*server), "bob", {}, fast);
    a.agent->connect();
    b.agent->connect();

    om_peer_state state = a.agent->connect_peer("bob");
    CHECK(state.status == OM_PEER_CONNECTED);
    CHECK(state.active_transport == OM_TRANSPORT_P2P);
    CHECK(state.local_nat == OM_NAT_OPEN);
    CHECK(state.remote_nat == OM_NAT_OPEN);
    CHECK(state.planned_strategy == OM_STRATEGY_DIRECT_CONNECT);  // the seed's matrix for Open/Open
    CHECK(state.strategy == OM_STRATEGY_DIRECT_CONNECT);
    CHECK_THAT(std::string(state.local_candidate), Catch::StartsWith("candidate:") && Catch::Contains("127.0.0.1") &&
                                                       Catch::Contains("typ host"));
    CHECK_THAT(std::string(state.remote_candidate), Catch::Contains("127.0.0.1") && Catch::Contains("typ host"));
    CHECK(state.connect_ms > 0);
    CHECK(state.connect_ms < 2000);
    CHECK(state.diagnosis[0] == '\0');
    REQUIRE(b.wait_for(OM_EVENT_PEER_CONNECTED, 1, 5000));
    CHECK(b.of_type(OM_EVENT_PEER_CONNECTED)[0].transport == OM_TRANSPORT_P2P);
    CHECK(a.of_type(OM_EVENT_PEER_CONNECTED)[0].transport == OM_TRANSPORT_P2P);
    CHECK(a.count(OM_EVENT_PEER_STATE_CHANGED) >= 2);  // Connecting, Connected

    // Data goes over the direct path, not through the server.
    uint64_t relayed_before = server->counter("frames.in.relay");
    for (int i = 0; i < 20; ++i) a.agent->send("bob", "ping " + std::to_string(i), OM_DELIVERY_UNRELIABLE);
    REQUIRE(wait_messages(b, "alice", 20));
    CHECK(server->counter("frames.in.relay") == relayed_before);
    CHECK(a.agent->counter("delivery.messages_sent") == 20);
    CHECK(a.agent->counter("strategy.pairs_ordered") >= 1);  // the strategy plugin ordered the pairs
    om_peer_state after = a.agent->peer_state("bob");
    CHECK(after.bytes_sent > 0);
    CHECK(after.messages_sent == 20);
    om_peer_state at_b = b.agent->peer_state("alice");
    CHECK(at_b.messages_received == 20);
    CHECK(at_b.packet_loss == 0.0);

    // The seed's default mode works over the direct path too (the QUIC session, delivery-quic).
    for (int i = 0; i < 20; ++i) a.agent->send("bob", "reliable " + std::to_string(i), OM_DELIVERY_RELIABLE_ORDERED);
    for (int i = 0; i < 500 && messages_from(b, "alice", OM_DELIVERY_RELIABLE_ORDERED) < 20; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    std::vector<std::string> reliable;
    for (auto& e : b.of_type(OM_EVENT_MESSAGE))
        if (e.delivery_mode == OM_DELIVERY_RELIABLE_ORDERED) reliable.emplace_back(e.data.begin(), e.data.end());
    REQUIRE(reliable.size() == 20);
    for (int i = 0; i < 20; ++i) CHECK(reliable[size_t(i)] == "reliable " + std::to_string(i));
    CHECK(server->counter("frames.in.relay") == relayed_before);
    // The pairs of the attempt say what was checked.
    std::string pairs = a.agent->peer_pairs_json("bob");
    CHECK_THAT(pairs, Catch::Contains("\"state\":\"succeeded\"") && Catch::Contains("\"nominated\":true"));
}

TEST_CASE("p2p: the direct path survives the server going away", "[p2p]")
{
    auto server = start_server_with_stun();
    auto quick = [](orbitmesh::AgentOptions& o) {
        fast(o);
        o.raw().keep_alive_interval_ms = 200;
        o.raw().disconnect_timeout_ms = 3000;
    };
    RecordingAgent a(url_of(*server), "alice", {}, quick);
    RecordingAgent b(url_of(*server), "bob", {}, quick);
    a.agent->connect();
    b.agent->connect();
    REQUIRE(a.agent->connect_peer("bob").active_transport == OM_TRANSPORT_P2P);
    REQUIRE(b.wait_for(OM_EVENT_PEER_CONNECTED, 1, 5000));

    server->stop();
    REQUIRE(a.wait_for(OM_EVENT_DISCONNECTED, 1, 5000));
    // Several consent rounds later the peers still talk directly.
    std::this_thread::sleep_for(std::chrono::milliseconds(800));
    for (int i = 0; i < 10; ++i) a.agent->send("bob", "after " + std::to_string(i), OM_DELIVERY_UNRELIABLE);
    REQUIRE(wait_messages(b, "alice", 10));
    CHECK(a.agent->peer_state("bob").status == OM_PEER_CONNECTED);
    CHECK(a.count(OM_EVENT_PEER_DISCONNECTED) == 0);
    CHECK(a.agent->peer_state("bob").rtt_ms > 0);
}

TEST_CASE("p2p: silence beyond DisconnectTimeoutMs disconnects the peer (consent, RFC 7675)", "[p2p]")
{
    auto server = start_server_with_stun();
    auto quick = [](orbitmesh::AgentOptions& o) {
        fast(o);
        o.raw().keep_alive_interval_ms = 100;
        o.raw().disconnect_timeout_ms = 600;
        o.raw().fallback_to_relay = 0;  // else the connection moves to the relay (test_delivery.cpp)
    };
    RecordingAgent a(url_of(*server), "alice", {}, quick);
    auto b = std::make_unique<RecordingAgent>(url_of(*server), "bob", std::string(), quick);
    a.agent->connect();
    b->agent->connect();
    REQUIRE(a.agent->connect_peer("bob").active_transport == OM_TRANSPORT_P2P);
    // Bob's socket closes without a word: only consent can tell.
    b->agent->close_transport();
    REQUIRE(a.wait_for(OM_EVENT_PEER_DISCONNECTED, 1, 3000));
    auto gone = a.of_type(OM_EVENT_PEER_DISCONNECTED)[0];
    CHECK(gone.peer_id == "bob");
    CHECK_THAT(gone.message, Catch::Contains("consent expired"));
    CHECK(a.agent->peer_state("bob").status == OM_PEER_DISCONNECTED);
}

TEST_CASE("p2p: PreferP2P=false and the server-relay transport skip the direct path", "[p2p]")
{
    auto server = start_server_with_stun();
    RecordingAgent a(url_of(*server), "alice", {}, [](orbitmesh::AgentOptions& o) { o.raw().prefer_p2p = 0; });
    RecordingAgent b(url_of(*server), "bob");
    RecordingAgent c(url_of(*server), "carol");
    a.agent->connect();
    b.agent->connect();
    c.agent->connect();
    om_peer_state state = a.agent->connect_peer("bob");
    CHECK(state.active_transport == OM_TRANSPORT_SERVER_RELAY);
    CHECK(state.strategy == OM_STRATEGY_SERVER_RELAY);
    CHECK(state.checks_sent == 0);
    state = c.agent->connect_peer("bob", OM_TRANSPORT_SERVER_RELAY);
    CHECK(state.active_transport == OM_TRANSPORT_SERVER_RELAY);
    CHECK(state.checks_sent == 0);
    c.agent->send("bob", "reliable over the relay", OM_DELIVERY_RELIABLE_ORDERED);
    REQUIRE(b.wait_for(OM_EVENT_MESSAGE, 1, 5000));
}

TEST_CASE("p2p: a path that cannot punch falls back to the server relay and says why", "[p2p]")
{
    auto server = start_server_with_stun();
    RecordingAgent a(url_of(*server), "alice", {}, fast);
    // Bob's transport drops everything it sends: checks never get an answer.
    RecordingAgent b(url_of(*server), "bob", {}, [](orbitmesh::AgentOptions& o) {
        fast(o);
        o.transport_plugin("netsim:udp").nat_discovery_plugin("none").plugin_option("netsim", "loss", "1");
    });
    a.agent->connect();
    b.agent->connect();
    om_peer_state state = a.agent->connect_peer("bob");
    CHECK(state.status == OM_PEER_CONNECTED);
    CHECK(state.active_transport == OM_TRANSPORT_SERVER_RELAY);
    CHECK(state.strategy == OM_STRATEGY_SERVER_RELAY);
    CHECK(state.planned_strategy == OM_STRATEGY_DIRECT_CONNECT);  // alice is Open (the seed's matrix)
    CHECK(state.checks_sent >= 5);
    CHECK_THAT(std::string(state.diagnosis), Catch::Contains("no direct path") && Catch::Contains("no answer"));
    CHECK(state.connect_ms < 3000);
    a.agent->send("bob", "still delivered", OM_DELIVERY_RELIABLE_ORDERED);
    REQUIRE(b.wait_for(OM_EVENT_MESSAGE, 1, 5000));
}

TEST_CASE("p2p: the responder's decision callback can refuse a peer", "[p2p]")
{
    auto server = start_server_with_stun();
    RecordingAgent a(url_of(*server), "alice");
    RecordingAgent b(url_of(*server), "bob", {}, [](orbitmesh::AgentOptions& o) {
        o.raw().accept_peer = [](void*, const char* peer, om_nat_type, char* reason, size_t cap) -> int32_t {
            std::snprintf(reason, cap, "%s is not on the guest list", peer);
            return 0;
        };
    });
    a.agent->connect();
    b.agent->connect();
    om_status status = test::status_of([&] { a.agent->connect_peer("bob"); });
    CHECK(status == OM_ERR_REFUSED);
    CHECK_THAT(a.agent->peer_state("bob").diagnosis, Catch::Contains("alice is not on the guest list"));
}

TEST_CASE("p2p: a STUN request that is no connectivity check is dropped and counted", "[p2p]")
{
    auto server = start_server_with_stun();
    RecordingAgent a(url_of(*server), "alice");
    a.agent->open_transport();
    std::string local = a.agent->local_address();
    uint16_t port = static_cast<uint16_t>(std::stoi(local.substr(local.rfind(':') + 1)));
    // A Binding request with a USERNAME but no PRIORITY, MESSAGE-INTEGRITY or FINGERPRINT (the
    // signed forms are in tests/integration/test_p2p_fake_peer.cpp).
    const uint8_t request[] = {0x00, 0x01, 0x00, 0x0c, 0x21, 0x12, 0xa4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
                               0x00, 0x06, 0x00, 0x08, 'n', 'o', 'b', 'o', 'd', 'y', ':', 'x'};
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int i = 0; i < 3; ++i) sendto(fd, request, sizeof request, 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
    close(fd);
    uint64_t dropped = 0;
    for (int i = 0; i < 200 && dropped < 3; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        dropped = a.agent->counter("ice.checks_dropped.malformed");
    }
    CHECK(dropped == 3);
    CHECK(a.count(OM_EVENT_DATAGRAM) == 0);
}

TEST_CASE("p2p: two agents that connect to each other at the same moment end on one connection", "[p2p]")
{
    auto server = start_server_with_stun();
    RecordingAgent a(url_of(*server), "alice", {}, fast);
    RecordingAgent b(url_of(*server), "bob", {}, fast);
    a.agent->connect();
    b.agent->connect();
    auto from_a = std::async(std::launch::async, [&] { return a.agent->connect_peer("bob"); });
    auto from_b = std::async(std::launch::async, [&] { return b.agent->connect_peer("alice"); });
    om_peer_state sa = from_a.get();
    om_peer_state sb = from_b.get();
    CHECK(sa.status == OM_PEER_CONNECTED);
    CHECK(sb.status == OM_PEER_CONNECTED);
    CHECK(sa.active_transport == OM_TRANSPORT_P2P);
    CHECK(sb.active_transport == OM_TRANSPORT_P2P);
    // The smaller id's request went on (or the race was no race): never two attempts at once.
    CHECK(a.agent->counter("peers.simultaneous_yielded") == 0);
    a.agent->send("bob", "hi", OM_DELIVERY_UNRELIABLE);
    REQUIRE(wait_messages(b, "alice", 1));
}

TEST_CASE("p2p: blocking calls from the agent's own callback are refused, not deadlocked", "[p2p]")
{
    auto server = start_server_with_stun();
    std::atomic<om_status> from_callback{OM_OK};
    std::atomic<bool> called{false};
    orbitmesh::Agent* self = nullptr;
    RecordingAgent b(url_of(*server), "bob");
    orbitmesh::AgentOptions o;
    o.server_url(url_of(*server)).agent_id("alice").bind_address("127.0.0.1");
    o.raw().connection_timeout_ms = 5000;
    orbitmesh::Agent a(o, [&](const om_event& e) {
        if (e.type != OM_EVENT_PEER_CONNECTED || called.exchange(true)) return;
        // On the loop thread: waiting here for the loop would stall it for the whole timeout.
        from_callback = test::status_of([&] { self->connect_peer("carol"); });
    });
    self = &a;
    a.connect();
    b.agent->connect();
    auto started = std::chrono::steady_clock::now();
    a.connect_peer("bob");
    for (int i = 0; i < 200 && !called; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    CHECK(called);
    CHECK(from_callback == OM_ERR_STATE);
    CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(3));
}
