// bench/turn's load generator: our TURN client's allocation logic (plugins/turn-client) on real
// UDP sockets on 127.0.0.1, against any TURN server (ours or coturn). One JSON line per run.
//   alloc --count N        N allocations, each on its own socket (Allocate with long-term
//                          credentials), held until stdin closes (the driver reads the server's
//                          RSS meanwhile)
//   rate --clients K --pps R --seconds S --size B
//                          K allocations with a channel each to one peer socket of ours, then
//                          R ChannelData datagrams per second for S seconds, paced per
//                          millisecond; the peer counts what the relay delivered
//   rtt --count N --size B one allocation and channel; N round trips client -> relay -> peer ->
//                          relay -> client, and the same number over plain UDP between two
//                          sockets (the baseline); percentiles of both
// Common: --server IP:PORT --user NAME --pass PASS. Every loop is bounded in count and time.
#include "allocation.h"
#include "proto/address.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace {

using om::turnclient::Allocation;
using Clock = std::chrono::steady_clock;

uint64_t now_us()
{
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(Clock::now().time_since_epoch()).count());
}

sockaddr_in to_sockaddr(const om_address& a)
{
    sockaddr_in s{};
    s.sin_family = AF_INET;
    s.sin_port = htons(a.port);
    std::memcpy(&s.sin_addr, a.bytes, 4);
    return s;
}

int udp_socket(om_address& local, int rcvbuf = 0)
{
    const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    if (rcvbuf) ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        ::close(fd);
        return -1;
    }
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    local = {};
    local.family = 4;
    local.port = ntohs(a.sin_port);
    std::memcpy(local.bytes, &a.sin_addr, 4);
    return fd;
}

struct Options {
    std::string mode;
    om_address server{};
    std::string user = "bench", pass = "pass";
    int count = 1000, clients = 4, size = 1000, seconds = 2;
    long pps = 100000;
};

// One allocation on its own socket.
struct Client {
    int fd = -1;
    om_address local{};
    std::optional<Allocation> allocation;
    int32_t status = 1;
    std::optional<om_address> relayed;
    size_t delivered = 0;
    // While buffering (the rate run), what the allocation sends waits here for flush(): one
    // sendmmsg per pacing step, so the generator spends little of the machine's CPU.
    bool buffering = false;
    std::vector<std::vector<uint8_t>> queued;

    void flush(const om_address& server)
    {
        if (queued.empty()) return;
        const sockaddr_in to = to_sockaddr(server);
        std::vector<mmsghdr> messages(queued.size());
        std::vector<iovec> iov(queued.size());
        for (size_t i = 0; i < queued.size(); ++i) {
            iov[i] = {queued[i].data(), queued[i].size()};
            messages[i] = {};
            messages[i].msg_hdr.msg_name = const_cast<sockaddr_in*>(&to);
            messages[i].msg_hdr.msg_namelen = sizeof to;
            messages[i].msg_hdr.msg_iov = &iov[i];
            messages[i].msg_hdr.msg_iovlen = 1;
        }
        size_t sent = 0;
        while (sent < messages.size()) {
            const int r = ::sendmmsg(fd, messages.data() + sent, static_cast<unsigned>(messages.size() - sent), 0);
            if (r <= 0) break;
            sent += static_cast<size_t>(r);
        }
        queued.clear();
    }

    bool open(const Options& o)
    {
        fd = udp_socket(local, 4 << 20);
        if (fd < 0) return false;
        Allocation::Io io;
        const om_address server = o.server;
        io.send = [this, server](std::span<const uint8_t> bytes) {
            if (buffering) {
                queued.emplace_back(bytes.begin(), bytes.end());
                return int32_t{OM_OK};
            }
            const sockaddr_in to = to_sockaddr(server);
            return ::sendto(fd, bytes.data(), bytes.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof to) < 0
                       ? int32_t{OM_ERR_IO}
                       : int32_t{OM_OK};
        };
        io.deliver = [this](const om_address&, std::span<const uint8_t>) { ++delivered; };
        io.allocated = [this](int32_t s, const om_address* r, const std::string&) {
            status = s;
            if (r) relayed = *r;
        };
        allocation.emplace(o.user, o.pass, om::turnclient::Settings{}, std::move(io));
        return true;
    }
    // Feeds the socket and the timer until done() or timeout_ms.
    bool drive(const std::function<bool()>& done, int timeout_ms)
    {
        const uint64_t until = now_us() + uint64_t(timeout_ms) * 1000;
        uint8_t buf[65536];
        while (!done() && now_us() < until) {
            pollfd p{fd, POLLIN, 0};
            if (::poll(&p, 1, 5) > 0) {
                sockaddr_in from{};
                socklen_t len = sizeof from;
                const ssize_t n = ::recvfrom(fd, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
                if (n > 0) allocation->on_datagram({buf, static_cast<size_t>(n)}, now_us());
            }
            allocation->tick(now_us());
        }
        return done();
    }
    bool allocate()
    {
        allocation->start(now_us(), 5000);
        return drive([this] { return status != 1; }, 6000) && status == OM_OK;
    }
};

void raise_fd_limit()
{
    rlimit r{};
    ::getrlimit(RLIMIT_NOFILE, &r);
    r.rlim_cur = r.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &r);
}

int run_alloc(const Options& o)
{
    raise_fd_limit();
    std::vector<std::unique_ptr<Client>> clients;
    size_t failed = 0;
    const auto started = Clock::now();
    for (int i = 0; i < o.count; ++i) {
        auto c = std::make_unique<Client>();
        if (!c->open(o) || !c->allocate()) {
            ++failed;
            if (failed > 10) break;  // the server refuses: say so rather than spin on
            continue;
        }
        clients.push_back(std::move(c));
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
    std::printf("{\"mode\":\"alloc\",\"allocated\":%zu,\"failed\":%zu,\"seconds\":%.3f}\n", clients.size(), failed, seconds);
    std::fflush(stdout);
    std::string line;
    std::getline(std::cin, line);  // held until the driver has measured
    return failed ? 1 : 0;
}

int run_rate(const Options& o)
{
    om_address peer{};
    const int peer_fd = udp_socket(peer, 16 << 20);
    std::vector<std::unique_ptr<Client>> clients;
    for (int i = 0; i < o.clients; ++i) {
        auto c = std::make_unique<Client>();
        if (!c->open(o) || !c->allocate()) {
            std::printf("{\"mode\":\"rate\",\"error\":\"allocation failed\"}\n");
            return 1;
        }
        c->allocation->permit(peer, now_us());
        if (!c->drive([&] { return c->allocation->counters().channels_bound == 1; }, 3000)) {
            std::printf("{\"mode\":\"rate\",\"error\":\"ChannelBind failed\"}\n");
            return 1;
        }
        clients.push_back(std::move(c));
    }
    std::atomic<bool> stop{false};
    std::atomic<uint64_t> received{0};
    std::thread receiver([&] {
        // recvmmsg in batches of 64: the peer costs the machine as little as it can.
        constexpr size_t kBatch = 64;
        std::vector<uint8_t> buf(kBatch * 2048);
        std::vector<mmsghdr> messages(kBatch);
        std::vector<iovec> iov(kBatch);
        while (!stop.load()) {
            pollfd p{peer_fd, POLLIN, 0};
            if (::poll(&p, 1, 20) <= 0) continue;
            for (;;) {
                for (size_t i = 0; i < kBatch; ++i) {
                    iov[i] = {buf.data() + i * 2048, 2048};
                    messages[i] = {};
                    messages[i].msg_hdr.msg_iov = &iov[i];
                    messages[i].msg_hdr.msg_iovlen = 1;
                }
                const int n = ::recvmmsg(peer_fd, messages.data(), kBatch, MSG_DONTWAIT, nullptr);
                if (n <= 0) break;
                received.fetch_add(static_cast<uint64_t>(n));
            }
        }
    });
    for (auto& c : clients) c->buffering = true;
    const std::vector<uint8_t> payload(static_cast<size_t>(o.size), 0x5A);
    uint64_t sent = 0;
    const uint64_t total = static_cast<uint64_t>(o.pps) * static_cast<uint64_t>(o.seconds);
    const uint64_t start = now_us();
    size_t next = 0;
    while (sent < total) {
        // Paced per millisecond: what is due by now goes, round-robin over the clients.
        const uint64_t due = std::min<uint64_t>(total, (now_us() - start) * static_cast<uint64_t>(o.pps) / 1'000'000 + 1);
        while (sent < due) {
            Client& c = *clients[next++ % clients.size()];
            c.allocation->send(peer, payload, 0);
            ++sent;
        }
        for (auto& c : clients) c->flush(o.server);
        if (now_us() - start > uint64_t(o.seconds + 5) * 1'000'000) break;  // bounded even when slow
    }
    const double send_seconds = double(now_us() - start) / 1e6;
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // what is in flight lands
    stop = true;
    receiver.join();
    const uint64_t got = received.load();
    std::printf("{\"mode\":\"rate\",\"pps\":%ld,\"size\":%d,\"clients\":%d,\"sent\":%llu,\"received\":%llu,"
                "\"lost\":%lld,\"send_seconds\":%.3f}\n",
                o.pps, o.size, o.clients, static_cast<unsigned long long>(sent), static_cast<unsigned long long>(got),
                static_cast<long long>(sent) - static_cast<long long>(got), send_seconds);
    return 0;
}

double percentile(std::vector<double> v, double p)
{
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, static_cast<size_t>(p * double(v.size())))];
}

int run_rtt(const Options& o)
{
    om_address peer{};
    const int peer_fd = udp_socket(peer);
    Client c;
    if (!c.open(o) || !c.allocate()) {
        std::printf("{\"mode\":\"rtt\",\"error\":\"allocation failed\"}\n");
        return 1;
    }
    c.allocation->permit(peer, now_us());
    c.drive([&] { return c.allocation->counters().channels_bound == 1; }, 3000);
    const std::vector<uint8_t> payload(static_cast<size_t>(o.size), 0x33);
    std::vector<double> relayed, raw;
    uint8_t buf[65536];
    for (int i = 0; i < o.count; ++i) {
        const size_t before = c.delivered;
        const uint64_t t0 = now_us();
        c.allocation->send(peer, payload, t0);
        // The peer echoes to where it came from: the relayed address.
        pollfd p{peer_fd, POLLIN, 0};
        if (::poll(&p, 1, 1000) <= 0) continue;
        sockaddr_in from{};
        socklen_t len = sizeof from;
        const ssize_t n = ::recvfrom(peer_fd, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
        if (n > 0) ::sendto(peer_fd, buf, static_cast<size_t>(n), 0, reinterpret_cast<sockaddr*>(&from), len);
        if (c.drive([&] { return c.delivered > before; }, 1000)) relayed.push_back(double(now_us() - t0));
    }
    // The baseline: the same exchange over plain UDP between two sockets.
    om_address a{}, b{};
    const int fa = udp_socket(a), fb = udp_socket(b);
    const sockaddr_in to_b = to_sockaddr(b), to_a = to_sockaddr(a);
    for (int i = 0; i < o.count; ++i) {
        const uint64_t t0 = now_us();
        ::sendto(fa, payload.data(), payload.size(), 0, reinterpret_cast<const sockaddr*>(&to_b), sizeof to_b);
        pollfd p{fb, POLLIN, 0};
        if (::poll(&p, 1, 1000) <= 0) continue;
        const ssize_t n = ::recv(fb, buf, sizeof buf, 0);
        ::sendto(fb, buf, static_cast<size_t>(n), 0, reinterpret_cast<const sockaddr*>(&to_a), sizeof to_a);
        pollfd q{fa, POLLIN, 0};
        if (::poll(&q, 1, 1000) <= 0) continue;
        if (::recv(fa, buf, sizeof buf, 0) > 0) raw.push_back(double(now_us() - t0));
    }
    std::printf("{\"mode\":\"rtt\",\"size\":%d,\"count\":%d,\"relayed\":%zu,\"p50_us\":%.1f,\"p99_us\":%.1f,"
                "\"raw_p50_us\":%.1f,\"raw_p99_us\":%.1f}\n",
                o.size, o.count, relayed.size(), percentile(relayed, 0.5), percentile(relayed, 0.99), percentile(raw, 0.5),
                percentile(raw, 0.99));
    return relayed.size() == size_t(o.count) ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv)
{
    Options o;
    if (argc < 2) {
        std::fprintf(stderr, "usage: turn_loadgen alloc|rate|rtt --server IP:PORT [--user U --pass P] [options]\n");
        return 2;
    }
    o.mode = argv[1];
    for (int i = 2; i + 1 < argc; i += 2) {
        const std::string key = argv[i], value = argv[i + 1];
        if (key == "--server") {
            if (!om::proto::parse_address(value, 3478, o.server)) return 2;
        } else if (key == "--user") o.user = value;
        else if (key == "--pass") o.pass = value;
        else if (key == "--count") o.count = std::stoi(value);
        else if (key == "--clients") o.clients = std::stoi(value);
        else if (key == "--size") o.size = std::stoi(value);
        else if (key == "--seconds") o.seconds = std::stoi(value);
        else if (key == "--pps") o.pps = std::stol(value);
        else {
            std::fprintf(stderr, "turn_loadgen: unknown option %s\n", key.c_str());
            return 2;
        }
    }
    if (!om::proto::is_loopback(o.server)) {
        std::fprintf(stderr, "turn_loadgen: the server must be on 127.0.0.1 (benchmarks stay on loopback)\n");
        return 2;
    }
    if (o.mode == "alloc") return run_alloc(o);
    if (o.mode == "rate") return run_rate(o);
    if (o.mode == "rtt") return run_rtt(o);
    std::fprintf(stderr, "turn_loadgen: unknown mode %s\n", o.mode.c_str());
    return 2;
}
