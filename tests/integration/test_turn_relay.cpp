// The embedded TURN relay of orbitmesh-server (--enable-turn-relay) against our TURN client on
// real sockets and against coturn's own test client (turnutils_uclient with turnutils_peer):
// allocations, long-term and time-limited credentials, permissions enforced, channels, quotas,
// the bandwidth limit, peers on loopback refused unless allowed, and the /metrics counters.
#include "coturn_process.hpp"
#include "proto/turn.h"
#include "server_process.hpp"
#include "stun_test_support.hpp"
#include "turn_test_client.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <thread>

using namespace om::test;
using namespace om::test::turn;

namespace {

std::vector<std::string> relay_args(std::vector<std::string> extra = {})
{
    std::vector<std::string> args = {"--enable-turn-relay", "--turn-user", "alice:wonderland", "--turn-realm", "orbit.test"};
    args.insert(args.end(), extra.begin(), extra.end());
    return stun_args(args);
}

double turn_metric(const ServerProcess& server, const std::string& sample)
{
    return metric_value(http_get(server.port(), "/metrics").body, "orbitmesh_turn_" + sample);
}

om_address server_address(const ServerProcess& server) { return om::test::turn::loopback(static_cast<uint16_t>(server.stun_port())); }

bool have(const std::string& tool) { return std::system(("command -v " + tool + " >/dev/null 2>&1").c_str()) == 0; }

// turnutils_uclient (with `flags`) through the relay to a turnutils_peer on 127.0.0.1: its output.
std::string run_uclient(const ServerProcess& server, const std::string& flags)
{
    const int peer_port = free_udp_port();
    const std::string pid_file = "/tmp/om-turnutils-peer-" + std::to_string(peer_port);
    REQUIRE(std::system(("(turnutils_peer -L 127.0.0.1 -p " + std::to_string(peer_port) + " >/dev/null 2>&1 & echo $! > " +
                         pid_file + ")").c_str()) == 0);
    const std::string command = "timeout 30 turnutils_uclient " + flags + " -u alice -w wonderland -p " +
                                std::to_string(server.stun_port()) + " -e 127.0.0.1 -r " + std::to_string(peer_port) +
                                " -n 200 -l 500 -z 2 -c 127.0.0.1 2>&1";
    std::string output;
    if (FILE* pipe = ::popen(command.c_str(), "r")) {
        std::array<char, 4096> buffer{};
        size_t n = 0;
        while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0) output.append(buffer.data(), n);
        ::pclose(pipe);
    }
    std::system(("kill $(cat " + pid_file + ") 2>/dev/null; rm -f " + pid_file).c_str());
    return output;
}

}  // namespace

TEST_CASE("turn relay: an allocation relays both ways, Data indications then ChannelData", "[turn][relay]")
{
    ServerProcess server(relay_args({"--turn-allow-loopback-peers"}));
    Client client(server_address(server), "alice", "wonderland");
    REQUIRE(client.allocate());
    REQUIRE(client.relayed);
    CHECK(om::proto::is_loopback(*client.relayed));
    CHECK(client.relayed->port != server.stun_port());
    REQUIRE(client.allocation->reflexive());
    CHECK(om::proto::same_address(*client.allocation->reflexive(), client.socket.local));
    CHECK(client.allocation->lifetime_s() == 600);

    UdpSocket peer;
    const int count = 30;
    for (int i = 0; i < count; ++i) {
        REQUIRE(client.allocation->send(peer.local, bytes_of("ping " + std::to_string(i)), now_us()) == OM_OK);
        om_address seen{};
        REQUIRE(client.run_until([&] { return echo_pending(peer, &seen) > 0; }, 2000));
        CHECK(om::proto::same_address(seen, *client.relayed));
        REQUIRE(client.run_until([&] { return client.received.size() == size_t(i + 1); }, 2000));
        CHECK(client.received.back().second == "ping " + std::to_string(i));
    }
    const auto& c = client.allocation->counters();
    CHECK(c.channels_bound == 1);
    CHECK(c.channel_data_in > 0);  // the relay wraps in ChannelData once the channel is bound
    CHECK(c.data_indications + c.channel_data_in == size_t(count));
    CHECK(c.bad_integrity == 0);
    CHECK(turn_metric(server, "allocations_made_total") == 1);
    CHECK(turn_metric(server, "packets_relayed_total") >= 2 * count);
    CHECK(turn_metric(server, "bytes_relayed_total") >= 2 * count * 6);

    // Deallocate frees it at once (the same 5-tuple allocates again without a 437).
    client.allocation->release(now_us());
    client.make("alice", "wonderland");
    REQUIRE(client.allocate());
    CHECK(client.allocation->counters().error_responses == 1);  // only the first 401
}

TEST_CASE("turn relay: a peer without a permission is dropped and counted", "[turn][relay]")
{
    ServerProcess server(relay_args({"--turn-allow-loopback-peers"}));
    Client client(server_address(server), "alice", "wonderland");
    REQUIRE(client.allocate());
    UdpSocket permitted_peer, stranger;
    REQUIRE(client.allocation->permit(permitted_peer.local, now_us()) == OM_OK);
    REQUIRE(client.run_until([&] { return client.allocation->counters().permissions >= 1; }, 2000));
    // Permissions are per IP (RFC 8656 §9): a stranger on another IP is refused. On loopback
    // every socket shares 127.0.0.1, so the stranger writes from 127.0.0.2.
    const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in from = to_sockaddr(om::test::turn::loopback(0));
    from.sin_addr.s_addr = htonl(0x7F000002);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof from) == 0);
    sockaddr_in to = to_sockaddr(*client.relayed);
    for (int i = 0; i < 5; ++i) ::sendto(fd, "intruder", 8, 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
    ::close(fd);
    permitted_peer.send_to(*client.relayed, bytes_of("welcome"));
    REQUIRE(client.run_until([&] { return !client.received.empty(); }, 2000));
    client.run_until([] { return false; }, 200);
    REQUIRE(client.received.size() == 1);
    CHECK(client.received[0].second == "welcome");
    CHECK(turn_metric(server, "dropped_total{reason=\"no_permission\"}") == 5);
}

TEST_CASE("turn relay: loopback and private peers are refused unless allowed", "[turn][relay]")
{
    ServerProcess server(relay_args());
    Client client(server_address(server), "alice", "wonderland");
    REQUIRE(client.allocate());
    UdpSocket peer;
    REQUIRE(client.allocation->permit(peer.local, now_us()) == OM_OK);
    REQUIRE(client.run_until([&] { return !client.events.empty(); }, 3000));
    CHECK(client.events[0] == OM_TURN_EVENT_PERMISSION_FAILED);
    om_address private_peer{};
    om::proto::parse_address("10.1.2.3:4000", 0, private_peer);
    REQUIRE(client.allocation->permit(private_peer, now_us()) == OM_OK);
    REQUIRE(client.run_until([&] { return client.events.size() >= 2; }, 3000));
    CHECK(turn_metric(server, "refused_total{reason=\"peer_forbidden\"}") >= 2);
}

TEST_CASE("turn relay: wrong credentials and quotas are refused with their codes", "[turn][relay]")
{
    ServerProcess server(relay_args({"--turn-user-quota", "2", "--turn-max-allocations", "3", "--turn-user", "bob:builder"}));
    Client wrong(server_address(server), "alice", "not-it");
    CHECK_FALSE(wrong.allocate());
    CHECK(wrong.status == OM_ERR_AUTH);
    Client a1(server_address(server), "alice", "wonderland"), a2(server_address(server), "alice", "wonderland"),
        a3(server_address(server), "alice", "wonderland");
    REQUIRE(a1.allocate());
    REQUIRE(a2.allocate());
    CHECK_FALSE(a3.allocate());  // alice's quota: 2
    CHECK_THAT(a3.why, Catch::Contains("486"));
    Client b1(server_address(server), "bob", "builder"), b2(server_address(server), "bob", "builder");
    REQUIRE(b1.allocate());
    CHECK_FALSE(b2.allocate());  // 3 at once, all users
    CHECK_THAT(b2.why, Catch::Contains("508"));
    CHECK(turn_metric(server, "allocations") == 3);
}

TEST_CASE("turn relay: the per-allocation bandwidth limit drops what exceeds it", "[turn][relay]")
{
    ServerProcess server(relay_args({"--turn-allow-loopback-peers", "--turn-bytes-per-s", "20000"}));
    Client client(server_address(server), "alice", "wonderland");
    REQUIRE(client.allocate());
    UdpSocket peer;
    REQUIRE(client.allocation->permit(peer.local, now_us()) == OM_OK);
    REQUIRE(client.run_until([&] { return client.allocation->counters().channels_bound == 1; }, 2000));
    const std::string payload(1000, 'x');
    for (int i = 0; i < 100; ++i) REQUIRE(client.allocation->send(peer.local, bytes_of(payload), now_us()) == OM_OK);
    std::vector<uint8_t> data;
    om_address from{};
    size_t arrived = 0;
    while (peer.receive(data, from, 300)) ++arrived;
    // One second's worth (20 KB) passes in a burst; the rest of the 100 KB is dropped.
    CHECK(arrived >= 15);
    CHECK(arrived <= 25);
    CHECK(turn_metric(server, "dropped_total{reason=\"bandwidth\"}") >= 70);
}

TEST_CASE("turn relay: coturn-style time-limited credentials from the shared secret", "[turn][relay]")
{
    const std::string secret = "relay secret";
    ServerProcess server(stun_args({"--enable-turn-relay", "--turn-secret", secret}));
    const auto now = static_cast<uint64_t>(std::time(nullptr));
    auto good = om::proto::turn::rest_credentials(secret, "agent-a", now + 600);
    Client client(server_address(server), good.username, good.password);
    CHECK(client.allocate());
    auto expired = om::proto::turn::rest_credentials(secret, "agent-b", now - 10);
    Client late(server_address(server), expired.username, expired.password);
    CHECK_FALSE(late.allocate());
    CHECK(late.status == OM_ERR_AUTH);
}

TEST_CASE("turn relay: coturn's turnutils_uclient relays through it to turnutils_peer", "[turn][relay][interop]")
{
    if (!have("turnutils_uclient") || !have("turnutils_peer")) {
        WARN("SKIPPED: turnutils_uclient/turnutils_peer missing (apt-get install -y coturn)");
        return;
    }
    ServerProcess server(relay_args({"--turn-allow-loopback-peers"}));
    const std::string output = run_uclient(server, "");
    INFO(output);
    CHECK(output.find("Total lost packets 0 (0.000000%)") != std::string::npos);
    CHECK(output.find("Total transmit time") != std::string::npos);
    CHECK(turn_metric(server, "allocations_made_total") >= 1);
    CHECK(turn_metric(server, "packets_relayed_total") >= 400);
}

TEST_CASE("turn relay: a time-limited user's quota holds across new expiries", "[turn][relay]")
{
    // Each registration hands out "<new expiry>:<name>": the quota is the name's, not the string's.
    const std::string secret = "quota secret";
    ServerProcess server(stun_args({"--enable-turn-relay", "--turn-secret", secret, "--turn-user-quota", "1"}));
    const auto now = static_cast<uint64_t>(std::time(nullptr));
    auto first = om::proto::turn::rest_credentials(secret, "agent-a", now + 600);
    auto second = om::proto::turn::rest_credentials(secret, "agent-a", now + 900);
    auto other = om::proto::turn::rest_credentials(secret, "agent-b", now + 900);
    Client a1(server_address(server), first.username, first.password);
    Client a2(server_address(server), second.username, second.password);
    Client b(server_address(server), other.username, other.password);
    REQUIRE(a1.allocate());
    CHECK_FALSE(a2.allocate());
    CHECK_THAT(a2.why, Catch::Contains("486"));
    CHECK(b.allocate());
}

TEST_CASE("turn client: a full permission table makes room, refused peers first", "[turn][relay]")
{
    ServerProcess server(relay_args({"--turn-allow-loopback-peers"}));
    Settings settings;
    settings.max_peers = 2;
    Client client(server_address(server), "alice", "wonderland", settings);
    REQUIRE(client.allocate());
    om_address p1{}, p2{}, p3{};
    om::proto::parse_address("127.0.0.2:4000", 0, p1);
    om::proto::parse_address("127.0.0.3:4000", 0, p2);
    om::proto::parse_address("127.0.0.4:4000", 0, p3);
    REQUIRE(client.allocation->permit(p1, now_us()) == OM_OK);
    REQUIRE(client.allocation->permit(p2, now_us()) == OM_OK);
    REQUIRE(client.run_until([&] { return client.allocation->counters().permissions >= 2; }, 2000));
    // A third peer: the least recently used one gives way instead of the new one being refused.
    CHECK(client.allocation->permit(p3, now_us()) == OM_OK);
    CHECK(client.allocation->counters().dropped_peer_limit == 0);
    REQUIRE(client.run_until([&] { return client.allocation->counters().permissions >= 3; }, 2000));
}

TEST_CASE("turn relay: coturn's turnutils_uclient relays through it over TCP (RFC 6062 framing)", "[turn][relay][interop]")
{
    if (!have("turnutils_uclient") || !have("turnutils_peer")) {
        WARN("SKIPPED: turnutils_uclient/turnutils_peer missing (apt-get install -y coturn)");
        return;
    }
    ServerProcess server(relay_args({"--turn-allow-loopback-peers"}));
    const std::string output = run_uclient(server, "-t");  // TCP to the server; UDP to the peer
    INFO(output);
    CHECK(output.find("Total lost packets 0 (0.000000%)") != std::string::npos);
    CHECK(turn_metric(server, "tcp_connections_total") >= 1);
    CHECK(turn_metric(server, "allocations_made_total") >= 1);
    CHECK(turn_metric(server, "packets_relayed_total") >= 400);
    // The connections closed: their allocations went with them.
    for (int i = 0; i < 50 && turn_metric(server, "allocations") > 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    CHECK(turn_metric(server, "allocations") == 0);
}
