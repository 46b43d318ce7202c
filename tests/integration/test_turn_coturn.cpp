// The turn-client plugin's allocation logic against a real coturn on 127.0.0.1: long-term
// credentials (static user) and coturn's time-limited ones (use-auth-secret), Send/Data
// indications then ChannelData, refreshes, a stale 5-tuple (437) and Deallocate. The client
// runs on a real UDP socket; the peer is another real socket that echoes.
#include "allocation.h"
#include "coturn_process.hpp"
#include "proto/address.h"
#include "proto/turn.h"

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <optional>
#include <ctime>
#include <functional>
#include <string>
#include <vector>

using om::test::CoturnOptions;
using om::test::CoturnProcess;
using om::turnclient::Allocation;
using om::turnclient::Settings;
using om::turnclient::State;

namespace {

uint64_t now_us()
{
    return static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now().time_since_epoch()).count());
}

om_address loopback(uint16_t port)
{
    om_address a{};
    om::proto::parse_address("127.0.0.1:" + std::to_string(port), 0, a);
    return a;
}

sockaddr_in to_sockaddr(const om_address& a)
{
    sockaddr_in s{};
    s.sin_family = AF_INET;
    s.sin_port = htons(a.port);
    std::memcpy(&s.sin_addr, a.bytes, 4);
    return s;
}

om_address from_sockaddr(const sockaddr_in& s)
{
    om_address a{};
    a.family = 4;
    a.port = ntohs(s.sin_port);
    std::memcpy(a.bytes, &s.sin_addr, 4);
    return a;
}

// A UDP socket on 127.0.0.1 with a free port.
struct UdpSocket {
    int fd = -1;
    om_address local{};
    UdpSocket()
    {
        fd = ::socket(AF_INET, SOCK_DGRAM, 0);
        sockaddr_in a = to_sockaddr(loopback(0));
        ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
        socklen_t len = sizeof a;
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
        local = from_sockaddr(a);
    }
    ~UdpSocket() { ::close(fd); }
    void send_to(const om_address& to, std::span<const uint8_t> bytes) const
    {
        sockaddr_in s = to_sockaddr(to);
        ::sendto(fd, bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&s), sizeof s);
    }
    // One datagram within timeout_ms, or false.
    bool receive(std::vector<uint8_t>& out, om_address& from, int timeout_ms) const
    {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, timeout_ms) <= 0) return false;
        out.resize(65536);
        sockaddr_in s{};
        socklen_t len = sizeof s;
        const ssize_t n = ::recvfrom(fd, out.data(), out.size(), 0, reinterpret_cast<sockaddr*>(&s), &len);
        if (n < 0) return false;
        out.resize(static_cast<size_t>(n));
        from = from_sockaddr(s);
        return true;
    }
};

// An Allocation on its own socket, driven until a condition holds.
struct Client {
    UdpSocket socket;
    om_address server;
    std::optional<Allocation> allocation;
    int32_t status = 1;  // 1: no answer yet
    std::string why;
    std::optional<om_address> relayed;
    std::vector<std::pair<om_address, std::string>> received;
    std::vector<om_turn_event_type> events;

    Client(const om_address& server_address, const std::string& user, const std::string& pass, Settings settings = {})
        : server(server_address)
    {
        make(user, pass, settings);
    }
    void make(const std::string& user, const std::string& pass, Settings settings = {})
    {
        Allocation::Io io;
        io.send = [this](std::span<const uint8_t> bytes) {
            socket.send_to(server, bytes);
            return int32_t{OM_OK};
        };
        io.deliver = [this](const om_address& peer, std::span<const uint8_t> payload) {
            received.emplace_back(peer, std::string(payload.begin(), payload.end()));
        };
        io.allocated = [this](int32_t s, const om_address* r, const std::string& w) {
            status = s;
            why = w;
            if (r) relayed = *r;
        };
        io.event = [this](om_turn_event_type type, int32_t, const om_address*, const std::string&) { events.push_back(type); };
        allocation.emplace(user, pass, settings, std::move(io));
        status = 1;
        relayed.reset();
    }
    // Feeds the socket and the timer until done() or timeout_ms.
    bool run_until(const std::function<bool()>& done, int timeout_ms)
    {
        const uint64_t until = now_us() + uint64_t(timeout_ms) * 1000;
        while (!done()) {
            const uint64_t now = now_us();
            if (now >= until) return false;
            uint64_t wake = allocation->next_wakeup_us();
            uint64_t limit = std::min<uint64_t>(until, wake ? wake : until);
            int wait_ms = limit > now ? int((limit - now + 999) / 1000) : 0;
            std::vector<uint8_t> bytes;
            om_address from{};
            if (socket.receive(bytes, from, std::min(wait_ms, 50)) && om::proto::same_address(from, server))
                allocation->on_datagram(bytes, now_us());
            allocation->tick(now_us());
        }
        return true;
    }
    bool allocate(int timeout_ms = 5000)
    {
        allocation->start(now_us(), uint32_t(timeout_ms));
        const bool answered = run_until([this] { return status != 1; }, timeout_ms + 500);
        UNSCOPED_INFO("allocate: status " << status << " " << why << " (auth_challenges "
                      << allocation->counters().auth_challenges << ", error_responses "
                      << allocation->counters().error_responses << ")");
        return answered && status == OM_OK;
    }
};

std::span<const uint8_t> bytes_of(const std::string& s) { return {reinterpret_cast<const uint8_t*>(s.data()), s.size()}; }

// The peer echoes what it got back to where it came from; returns how many it echoed.
size_t echo_pending(const UdpSocket& peer, om_address* last_from = nullptr)
{
    size_t n = 0;
    std::vector<uint8_t> data;
    om_address from{};
    while (peer.receive(data, from, 0)) {
        peer.send_to(from, data);
        if (last_from) *last_from = from;
        ++n;
    }
    return n;
}

}  // namespace

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
