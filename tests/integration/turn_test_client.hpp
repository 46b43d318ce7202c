// A TURN client for tests: the turn-client plugin's Allocation on a real UDP socket of its own
// (127.0.0.1), driven until a condition holds, and a UDP peer that echoes. Shared by the tests
// against coturn and against the embedded relay.
#pragma once

#include "allocation.h"
#include "proto/address.h"

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace om::test::turn {

using om::turnclient::Allocation;
using om::turnclient::Settings;

inline uint64_t now_us()
{
    return static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now().time_since_epoch()).count());
}

inline om_address loopback(uint16_t port)
{
    om_address a{};
    om::proto::parse_address("127.0.0.1:" + std::to_string(port), 0, a);
    return a;
}

inline sockaddr_in to_sockaddr(const om_address& a)
{
    sockaddr_in s{};
    s.sin_family = AF_INET;
    s.sin_port = htons(a.port);
    std::memcpy(&s.sin_addr, a.bytes, 4);
    return s;
}

inline om_address from_sockaddr(const sockaddr_in& s)
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

inline std::span<const uint8_t> bytes_of(const std::string& s) { return {reinterpret_cast<const uint8_t*>(s.data()), s.size()}; }

// The peer echoes what it got back to where it came from; returns how many it echoed.
inline size_t echo_pending(const UdpSocket& peer, om_address* last_from = nullptr)
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


}  // namespace om::test::turn
