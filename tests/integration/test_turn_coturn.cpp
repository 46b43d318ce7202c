// The turn-client plugin's allocation logic against a real coturn on 127.0.0.1: long-term
// credentials (static user) and coturn's time-limited ones (use-auth-secret), Send/Data
// indications then ChannelData, refreshes, a stale 5-tuple (437) and Deallocate. The client
// runs on a real UDP socket; the peer is another real socket that echoes.
#include "coturn_process.hpp"
#include "proto/turn.h"
#include "turn_test_client.hpp"

#include <catch2/catch.hpp>

#include <ctime>
#include <string>

using om::test::CoturnOptions;
using om::test::CoturnProcess;
using om::turnclient::State;
using namespace om::test::turn;


TEST_CASE("turn-client allocates through coturn with long-term credentials and relays both ways", "[turn][interop]")
{
    if (!CoturnProcess::available()) {
        WARN("SKIPPED: turnserver missing (apt-get install -y coturn)");
        return;
    }
    CoturnProcess coturn(CoturnOptions{.user = "alice:wonderland"});
    INFO(coturn.log());
    Client client(loopback(static_cast<uint16_t>(coturn.port())), "alice", "wonderland");
    REQUIRE(client.allocate());
    REQUIRE(client.relayed);
    CHECK(om::proto::is_loopback(*client.relayed));
    // RFC 8656 §7.3: XOR-MAPPED-ADDRESS is the client's socket as the server sees it.
    REQUIRE(client.allocation->reflexive());
    CHECK(om::proto::same_address(*client.allocation->reflexive(), client.socket.local));
    CHECK(client.allocation->counters().auth_challenges == 1);
    CHECK_FALSE(client.allocation->uses_sha256());  // coturn 4.6 offers MD5 only

    UdpSocket peer;
    // The first datagrams wait for the permission, then leave as Send indications; once the
    // channel is bound, ChannelData carries the rest.
    const int count = 40;
    for (int i = 0; i < count; ++i) {
        REQUIRE(client.allocation->send(peer.local, bytes_of("ping " + std::to_string(i)), now_us()) == OM_OK);
        om_address seen{};
        client.run_until([&] { return echo_pending(peer, &seen) > 0 || false; }, 1000);
        CHECK(om::proto::same_address(seen, *client.relayed));  // the peer sees the relayed address
        client.run_until([&] { return client.received.size() == size_t(i + 1); }, 2000);
    }
    REQUIRE(client.received.size() == size_t(count));
    for (int i = 0; i < count; ++i) {
        CHECK(client.received[size_t(i)].second == "ping " + std::to_string(i));
        CHECK(om::proto::same_address(client.received[size_t(i)].first, peer.local));
    }
    const auto& c = client.allocation->counters();
    CHECK(c.permissions >= 1);
    CHECK(c.channels_bound == 1);
    CHECK(c.channel_data_out > 0);
    CHECK(c.channel_data_in > 0);
    CHECK(c.send_indications + c.channel_data_out == size_t(count));
    CHECK(c.bad_integrity == 0);

    // Deallocate: the same 5-tuple can allocate again at once (no 437 Allocation Mismatch).
    client.allocation->release(now_us());
    client.make("alice", "wonderland");
    REQUIRE(client.allocate());
}

TEST_CASE("turn-client reports a wrong password as an authentication failure", "[turn][interop]")
{
    if (!CoturnProcess::available()) {
        WARN("SKIPPED: turnserver missing (apt-get install -y coturn)");
        return;
    }
    CoturnProcess coturn(CoturnOptions{.user = "alice:wonderland"});
    Client client(loopback(static_cast<uint16_t>(coturn.port())), "alice", "looking-glass");
    CHECK_FALSE(client.allocate());
    CHECK(client.status == OM_ERR_AUTH);
    CHECK(client.why.find("401") != std::string::npos);
}

TEST_CASE("turn-client takes over a 5-tuple a crashed client left allocated (437)", "[turn][interop]")
{
    if (!CoturnProcess::available()) {
        WARN("SKIPPED: turnserver missing (apt-get install -y coturn)");
        return;
    }
    CoturnProcess coturn(CoturnOptions{.user = "alice:wonderland"});
    INFO(coturn.log());
    Client client(loopback(static_cast<uint16_t>(coturn.port())), "alice", "wonderland");
    REQUIRE(client.allocate());
    // The process "crashes": a new client on the same socket, knowing nothing.
    client.make("alice", "wonderland");
    const bool again = client.allocate();
    UNSCOPED_INFO(coturn.log());
    REQUIRE(again);
    CHECK(client.relayed);
}

TEST_CASE("turn-client works with coturn's time-limited credentials (use-auth-secret)", "[turn][interop]")
{
    if (!CoturnProcess::available()) {
        WARN("SKIPPED: turnserver missing (apt-get install -y coturn)");
        return;
    }
    const std::string secret = "a shared secret the signaling server also holds";
    CoturnProcess coturn(CoturnOptions{.secret = secret});
    INFO(coturn.log());
    const auto now = static_cast<uint64_t>(std::time(nullptr));
    auto good = om::proto::turn::rest_credentials(secret, "agent-a", now + 600);
    Client client(loopback(static_cast<uint16_t>(coturn.port())), good.username, good.password);
    CHECK(client.allocate());

    auto expired = om::proto::turn::rest_credentials(secret, "agent-b", now - 60);
    Client late(loopback(static_cast<uint16_t>(coturn.port())), expired.username, expired.password);
    CHECK_FALSE(late.allocate());
    CHECK(late.status == OM_ERR_AUTH);

    auto forged = om::proto::turn::rest_credentials("another secret", "agent-c", now + 600);
    Client forger(loopback(static_cast<uint16_t>(coturn.port())), forged.username, forged.password);
    CHECK_FALSE(forger.allocate());
}

TEST_CASE("turn-client refreshes its allocation before coturn's short lifetime runs out", "[turn][interop]")
{
    if (!CoturnProcess::available()) {
        WARN("SKIPPED: turnserver missing (apt-get install -y coturn)");
        return;
    }
    CoturnProcess coturn(CoturnOptions{.user = "alice:wonderland", .extra = {"--max-allocate-lifetime=4"}});
    INFO(coturn.log());
    Client client(loopback(static_cast<uint16_t>(coturn.port())), "alice", "wonderland");
    REQUIRE(client.allocate());
    CHECK(client.allocation->lifetime_s() == 4);
    // Past two lifetimes: still allocated, refreshed, and still relaying.
    client.run_until([] { return false; }, 9000);
    CHECK(client.allocation->state() == State::Allocated);
    CHECK(client.allocation->counters().refreshes >= 2);
    CHECK(client.events.empty());
    UdpSocket peer;
    REQUIRE(client.allocation->send(peer.local, bytes_of("still here"), now_us()) == OM_OK);
    client.run_until([&] { return echo_pending(peer) > 0; }, 2000);
    CHECK(client.run_until([&] { return !client.received.empty(); }, 2000));
}
