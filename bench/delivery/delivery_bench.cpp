// Delivery benchmark (bench/delivery/run): messages per second and MB/s delivered, counted at the
// receiver over a fixed window after a warm-up, and 64-byte ping-pong RTT, for
//   ours:    two OrbitMesh agents connected P2P on 127.0.0.1 (one QUIC connection, delivery-quic,
//            reliable-ordered; encryption is always on), through the public C++ wrapper;
//   ENet:    its reliable channel (ENet 1.3.x), best of a sweep of send windows;
//   raw UDP: sendmmsg/recvmmsg, no reliability (the floor; it loses: what arrives is counted).
// Everything runs in this one process, sender and receiver on their own threads (ours: each
// agent's loop thread plus the sending thread), unpinned, the same way for all three, so the
// ratios of one run compare like with like on the 2 shared cores. All traffic goes to
// 127.0.0.1; every sending loop is bounded in count and time.
//
// usage: delivery_bench [--seconds 3] [--warmup 1] [--sizes 64,1024,65536,1048576]
//                       [--rtt-rounds 2000] [--enet-windows 65536,262144,1048576]
//                       [--only ours,enet,udp] [--no-rtt] [--no-throughput] [--busy-poll-us 50]
// One JSON line per measurement on stdout, the tables on stderr.
#include <orbitmesh/orbitmesh.hpp>

#include <enet/enet.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <functional>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }
uint64_t now_ns() { return uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count()); }

struct Config {
    double seconds = 3.0;
    double warmup = 1.0;
    std::vector<size_t> sizes{64, 1024, 65536, 1048576};
    int rtt_rounds = 2000;
    int rtt_warmup = 200;
    std::vector<uint32_t> enet_windows{65536, 262144, 1048576};
    bool ours = true, enet = true, udp = true, rtt = true, throughput = true;
    // The ping-pong also runs ours with the agents' busy_poll_us at this, and raw UDP polling
    // as long before it blocks (its fair baseline). 0: neither runs.
    int busy_poll_us = 50;
};

// Upper bounds of every sending loop, whatever happens.
constexpr uint64_t kMaxMessagesPerRun = 200'000'000;
constexpr double kSlackSeconds = 2.0;
constexpr size_t kUdpMaxPayload = 65507;  // the largest IPv4 UDP datagram

std::string loadavg()
{
    std::ifstream f("/proc/loadavg");
    std::string a, b, c;
    f >> a >> b >> c;
    return a + " " + b + " " + c;
}

// Counted at the receiver.
struct Counter {
    std::atomic<uint64_t> msgs{0}, bytes{0}, order_errors{0};
    uint64_t next_seq = 0;  // receiver thread only
    void add(const uint8_t* data, size_t len, bool check_order)
    {
        if (check_order && len >= 8) {
            uint64_t seq;
            std::memcpy(&seq, data, 8);
            if (seq != next_seq) order_errors.fetch_add(1, std::memory_order_relaxed);
            next_seq = seq + 1;
        }
        msgs.fetch_add(1, std::memory_order_relaxed);
        bytes.fetch_add(len, std::memory_order_relaxed);
    }
};

struct Throughput {
    std::string impl, mode;
    size_t size = 0;
    double seconds = 0, msgs_per_s = 0, mb_per_s = 0;
    uint64_t msgs = 0, sent = 0, order_errors = 0;
    uint32_t window = 0;  // ENet
    bool valid = false;
    std::string note;
};

// Runs the timing window: warm-up, then counts what `c` received over cfg.seconds; sets stop.
Throughput measure_window(const Config& cfg, Counter& c, std::atomic<bool>& stop)
{
    std::this_thread::sleep_for(std::chrono::duration<double>(cfg.warmup));
    const auto t0 = Clock::now();
    const uint64_t m0 = c.msgs.load(), b0 = c.bytes.load();
    std::this_thread::sleep_for(std::chrono::duration<double>(cfg.seconds));
    const uint64_t m1 = c.msgs.load(), b1 = c.bytes.load();
    const double dt = seconds_since(t0);
    stop = true;
    Throughput r;
    r.seconds = dt;
    r.msgs = m1 - m0;
    r.msgs_per_s = double(r.msgs) / dt;
    r.mb_per_s = double(b1 - b0) / dt / 1e6;
    r.valid = true;
    return r;
}

void print_json(const Throughput& r)
{
    std::printf("{\"bench\":\"delivery\",\"test\":\"throughput\",\"impl\":\"%s\",\"mode\":\"%s\",\"size\":%zu,"
                "\"seconds\":%.3f,\"msgs\":%llu,\"msgs_per_s\":%.0f,\"mb_per_s\":%.2f,\"sent\":%llu,"
                "\"order_errors\":%llu,\"enet_window\":%u,\"valid\":%s,\"note\":\"%s\",\"load\":\"%s\"}\n",
                r.impl.c_str(), r.mode.c_str(), r.size, r.seconds, (unsigned long long)r.msgs, r.msgs_per_s, r.mb_per_s,
                (unsigned long long)r.sent, (unsigned long long)r.order_errors, r.window, r.valid ? "true" : "false",
                r.note.c_str(), loadavg().c_str());
    std::fflush(stdout);
}

struct Rtt {
    std::string impl, mode;
    int rounds = 0, lost = 0;
    double p50_us = 0, p99_us = 0, min_us = 0;
    bool valid = false;
};

Rtt summarize(std::string impl, std::string mode, std::vector<double> us, int lost)
{
    Rtt r;
    r.impl = std::move(impl);
    r.mode = std::move(mode);
    r.rounds = int(us.size());
    r.lost = lost;
    if (us.empty()) return r;
    std::sort(us.begin(), us.end());
    auto rank = [&](double p) { return us[std::min(us.size() - 1, size_t(std::max(1.0, std::ceil(p * double(us.size())))) - 1)]; };
    r.p50_us = rank(0.50);
    r.p99_us = rank(0.99);
    r.min_us = us.front();
    r.valid = true;
    return r;
}

void print_json(const Rtt& r)
{
    std::printf("{\"bench\":\"delivery\",\"test\":\"rtt\",\"impl\":\"%s\",\"mode\":\"%s\",\"size\":64,\"rounds\":%d,"
                "\"lost\":%d,\"p50_us\":%.1f,\"p99_us\":%.1f,\"min_us\":%.1f,\"valid\":%s,\"load\":\"%s\"}\n",
                r.impl.c_str(), r.mode.c_str(), r.rounds, r.lost, r.p50_us, r.p99_us, r.min_us, r.valid ? "true" : "false",
                loadavg().c_str());
    std::fflush(stdout);
}

// ---------------------------------------------------------------------------------------------
// ours: two agents and a server in this process.

class OursPair {
public:
    using Handler = std::function<void(OursPair&, bool at_rx, const om_event&)>;

    OursPair(const std::string& url, int n, Handler handler, int busy_poll_us = 0)
        : handler_(std::move(handler)), busy_poll_us_(busy_poll_us)
    {
        tx_id_ = "tx" + std::to_string(n);
        rx_id_ = "rx" + std::to_string(n);
        tx_ = make(url, tx_id_, false);
        rx_ = make(url, rx_id_, true);
        tx_->connect();
        rx_->connect();
        om_peer_state s = tx_->connect_peer(rx_id_);
        if (s.status != OM_PEER_CONNECTED || s.active_transport != OM_TRANSPORT_P2P)
            throw std::runtime_error("ours: the agents did not connect over P2P");
        std::unique_lock<std::mutex> lock(mutex_);
        if (!cv_.wait_for(lock, std::chrono::seconds(5), [&] { return rx_connected_; }))
            throw std::runtime_error("ours: the receiver never saw the peer connected");
    }
    ~OursPair()
    {
        tx_.reset();  // joins the loop threads: no handler runs after this
        rx_.reset();
    }

    orbitmesh::Agent& tx() { return *tx_; }
    orbitmesh::Agent& rx() { return *rx_; }
    const std::string& tx_id() const { return tx_id_; }
    const std::string& rx_id() const { return rx_id_; }

    // Waits (bounded) for the sender's PEER_WRITABLE after a WOULD_BLOCK.
    void wait_writable(int ms)
    {
        std::unique_lock<std::mutex> lock(mutex_);
        cv_.wait_for(lock, std::chrono::milliseconds(ms), [&] { return writable_; });
        writable_ = false;
    }

private:
    std::unique_ptr<orbitmesh::Agent> make(const std::string& url, const std::string& id, bool at_rx)
    {
        orbitmesh::AgentOptions o;
        o.server_url(url).agent_id(id).bind_address("127.0.0.1");
        o.raw().connection_timeout_ms = 5000;
        o.raw().nat_punch_retries = 5;
        o.raw().nat_punch_interval_ms = 40;
        o.busy_poll_us(busy_poll_us_);
        return std::make_unique<orbitmesh::Agent>(o, [this, at_rx](const om_event& e) {
            if (e.type == OM_EVENT_PEER_CONNECTED && at_rx) {
                std::lock_guard<std::mutex> lock(mutex_);
                rx_connected_ = true;
                cv_.notify_all();
            } else if (e.type == OM_EVENT_PEER_WRITABLE && !at_rx) {
                std::lock_guard<std::mutex> lock(mutex_);
                writable_ = true;
                cv_.notify_all();
            }
            if (handler_) handler_(*this, at_rx, e);
        });
    }

    Handler handler_;
    int busy_poll_us_;
    std::string tx_id_, rx_id_;
    std::mutex mutex_;
    std::condition_variable cv_;
    bool rx_connected_ = false, writable_ = false;
    std::unique_ptr<orbitmesh::Agent> tx_, rx_;
};

Throughput ours_throughput(const Config& cfg, const std::string& url, int n, size_t size)
{
    Counter c;
    std::atomic<bool> stop{false};
    OursPair pair(url, n, [&](OursPair&, bool at_rx, const om_event& e) {
        if (at_rx && e.type == OM_EVENT_MESSAGE) c.add(e.data, e.len, true);
    });
    uint64_t sent = 0;
    std::thread sender([&] {
        std::vector<uint8_t> buf(size, 0x5a);
        const auto start = Clock::now();
        const double limit = cfg.warmup + cfg.seconds + kSlackSeconds;
        om_agent* a = pair.tx().get();
        const char* peer = pair.rx_id().c_str();
        while (!stop && sent < kMaxMessagesPerRun && seconds_since(start) < limit) {
            std::memcpy(buf.data(), &sent, std::min<size_t>(8, size));
            // The C call under Agent::send: no exception per full queue in the hot loop.
            om_status s = om_agent_send_on_channel(a, peer, buf.data(), size, OM_DELIVERY_RELIABLE_ORDERED, 0);
            if (s == OM_OK) ++sent;
            else if (s == OM_ERR_WOULD_BLOCK) pair.wait_writable(5);
            else throw orbitmesh::Error(s, om_agent_last_error(a));
        }
    });
    Throughput r = measure_window(cfg, c, stop);
    sender.join();
    r.impl = "ours";
    r.mode = "reliable_ordered";
    r.size = size;
    r.sent = sent;
    r.order_errors = c.order_errors;
    return r;
}

Rtt ours_rtt(const Config& cfg, const std::string& url, int n, om_delivery_mode mode, int busy_poll_us = 0)
{
    std::mutex m;
    std::condition_variable cv;
    uint64_t cur = 0, sent_at = 0;  // under m
    const uint64_t total = uint64_t(cfg.rtt_warmup + cfg.rtt_rounds);
    std::vector<double> us;
    us.reserve(total);
    int lost = 0;
    OursPair* self = nullptr;
    auto send_ping = [&](OursPair& p, uint64_t seq) {
        uint8_t buf[64] = {};
        std::memcpy(buf, &seq, 8);
        om_agent_send_on_channel(p.tx().get(), p.rx_id().c_str(), buf, sizeof buf, mode, 0);
    };
    OursPair pair(url, n, [&](OursPair& p, bool at_rx, const om_event& e) {
        if (e.type != OM_EVENT_MESSAGE || e.len < 8) return;
        if (at_rx) {  // echo from the receiver's loop thread
            om_agent_send_on_channel(p.rx().get(), p.tx_id().c_str(), e.data, e.len, mode, 0);
            return;
        }
        const uint64_t t = now_ns();
        uint64_t seq;
        std::memcpy(&seq, e.data, 8);
        std::lock_guard<std::mutex> lock(m);
        if (seq != cur) return;  // a late duplicate after a resend
        if (cur >= uint64_t(cfg.rtt_warmup)) us.push_back(double(t - sent_at) / 1e3);
        ++cur;
        if (cur < total) {
            sent_at = now_ns();
            send_ping(p, cur);
        } else {
            cv.notify_all();  // only at the end: a wake-up per round would cost a context switch
        }
    }, busy_poll_us);
    self = &pair;
    {
        std::unique_lock<std::mutex> lock(m);
        sent_at = now_ns();
        send_ping(*self, 0);
        const auto start = Clock::now();
        uint64_t seen = 0;
        while (cur < total && seconds_since(start) < 30.0) {
            if (!cv.wait_for(lock, std::chrono::milliseconds(200), [&] { return cur >= total; }) && cur == seen) {
                ++lost;  // no progress for 200 ms: the ping or its echo was lost; send it again
                sent_at = now_ns();
                send_ping(*self, cur);
            }
            seen = cur;
        }
    }
    std::vector<double> copy;
    {
        std::lock_guard<std::mutex> lock(m);
        copy = us;
    }
    std::string name = mode == OM_DELIVERY_UNRELIABLE ? "unreliable" : "reliable_ordered";
    if (busy_poll_us) name += " poll" + std::to_string(busy_poll_us);
    return summarize("ours", name, copy, lost);
}

// ---------------------------------------------------------------------------------------------
// ENet

struct EnetHostPtr {
    ENetHost* h = nullptr;
    ~EnetHostPtr()
    {
        if (h) enet_host_destroy(h);
    }
};

ENetHost* enet_host_on_loopback(size_t peers)
{
    ENetAddress addr{};
    enet_address_set_host_ip(&addr, "127.0.0.1");
    addr.port = 0;
    ENetHost* h = enet_host_create(&addr, peers, 1, 0, 0);  // bandwidth 0/0: unlimited, no bandwidth throttle
    if (!h) throw std::runtime_error("enet_host_create failed");
    enet_socket_set_option(h->socket, ENET_SOCKOPT_RCVBUF, 4 * 1024 * 1024);
    enet_socket_set_option(h->socket, ENET_SOCKOPT_SNDBUF, 4 * 1024 * 1024);
    return h;
}

uint16_t enet_port(ENetHost* h)
{
    ENetAddress a{};
    enet_socket_get_address(h->socket, &a);
    return a.port;
}

// Connects a client host to the server host, servicing both from this thread; returns the
// client's peer.
ENetPeer* enet_connect_pair(ENetHost* server, ENetHost* client)
{
    ENetAddress to{};
    enet_address_set_host_ip(&to, "127.0.0.1");
    to.port = enet_port(server);
    ENetPeer* peer = enet_host_connect(client, &to, 1, 0);
    if (!peer) throw std::runtime_error("enet_host_connect failed");
    bool c_ok = false, s_ok = false;
    const auto start = Clock::now();
    while ((!c_ok || !s_ok) && seconds_since(start) < 5.0) {
        ENetEvent ev;
        while (enet_host_service(client, &ev, 1) > 0)
            if (ev.type == ENET_EVENT_TYPE_CONNECT) c_ok = true;
        while (enet_host_service(server, &ev, 1) > 0)
            if (ev.type == ENET_EVENT_TYPE_CONNECT) s_ok = true;
    }
    if (!c_ok || !s_ok) throw std::runtime_error("ENet did not connect");
    return peer;
}

// ENet tuned for throughput: the packet throttle pinned at its maximum (acceleration = scale,
// deceleration 0: it never backs off), and the reliable send window (bytes in flight) raised from
// the protocol's 64 KiB to `window`.
void enet_tune(ENetPeer* peer, uint32_t window)
{
    enet_peer_throttle_configure(peer, ENET_PEER_PACKET_THROTTLE_INTERVAL, ENET_PEER_PACKET_THROTTLE_SCALE, 0);
    peer->packetThrottle = ENET_PEER_PACKET_THROTTLE_SCALE;
    peer->windowSize = window;
}

Throughput enet_throughput(const Config& cfg, size_t size, uint32_t window)
{
    EnetHostPtr server, client;
    server.h = enet_host_on_loopback(1);
    client.h = enet_host_on_loopback(1);
    ENetPeer* peer = enet_connect_pair(server.h, client.h);
    enet_tune(peer, window);
    Counter c;
    std::atomic<bool> stop{false};
    std::thread receiver([&] {
        const auto start = Clock::now();
        const double limit = cfg.warmup + cfg.seconds + kSlackSeconds;
        ENetEvent ev;
        while (!stop && seconds_since(start) < limit) {
            if (enet_host_service(server.h, &ev, 1) <= 0) continue;
            do {
                if (ev.type == ENET_EVENT_TYPE_RECEIVE) {
                    c.add(ev.packet->data, ev.packet->dataLength, true);
                    enet_packet_destroy(ev.packet);
                }
            } while (enet_host_check_events(server.h, &ev) > 0);
        }
    });
    uint64_t sent = 0;
    std::thread sender([&] {
        std::vector<uint8_t> buf(size, 0x5a);
        const auto start = Clock::now();
        const double limit = cfg.warmup + cfg.seconds + kSlackSeconds;
        // The application's own bound on what it queued in ENet (enet_peer_send queues without
        // limit): sent minus received bytes, far above ENet's window so it never limits ENet.
        const uint64_t max_queued = std::max<uint64_t>(8u << 20, 4 * uint64_t(size));
        ENetEvent ev;
        while (!stop && sent < kMaxMessagesPerRun && seconds_since(start) < limit) {
            int burst = 0;
            while (burst < 64 && sent * size - c.bytes.load(std::memory_order_relaxed) < max_queued) {
                std::memcpy(buf.data(), &sent, std::min<size_t>(8, size));
                ENetPacket* p = enet_packet_create(buf.data(), size, ENET_PACKET_FLAG_RELIABLE);
                if (enet_peer_send(peer, 0, p) != 0) {
                    enet_packet_destroy(p);
                    break;
                }
                ++sent;
                ++burst;
            }
            // Sends what the window allows, takes the acknowledgements in.
            enet_host_service(client.h, &ev, burst ? 0 : 1);
            while (enet_host_check_events(client.h, &ev) > 0) {
            }
        }
    });
    Throughput r = measure_window(cfg, c, stop);
    sender.join();
    receiver.join();
    r.impl = "enet";
    r.mode = "reliable";
    r.size = size;
    r.sent = sent;
    r.window = window;
    r.order_errors = c.order_errors;
    return r;
}

Rtt enet_rtt(const Config& cfg)
{
    EnetHostPtr server, client;
    server.h = enet_host_on_loopback(1);
    client.h = enet_host_on_loopback(1);
    ENetPeer* peer = enet_connect_pair(server.h, client.h);
    std::atomic<bool> stop{false};
    std::thread echo([&] {
        const auto start = Clock::now();
        ENetEvent ev;
        while (!stop && seconds_since(start) < 60.0) {
            if (enet_host_service(server.h, &ev, 5) <= 0) continue;
            if (ev.type == ENET_EVENT_TYPE_RECEIVE) {
                ENetPacket* back = enet_packet_create(ev.packet->data, ev.packet->dataLength, ENET_PACKET_FLAG_RELIABLE);
                enet_peer_send(ev.peer, 0, back);
                enet_host_flush(server.h);
                enet_packet_destroy(ev.packet);
            }
        }
    });
    std::vector<double> us;
    int lost = 0;
    const int total = cfg.rtt_warmup + cfg.rtt_rounds;
    const auto start = Clock::now();
    for (uint64_t seq = 0; seq < uint64_t(total) && seconds_since(start) < 30.0; ++seq) {
        uint8_t buf[64] = {};
        std::memcpy(buf, &seq, 8);
        const uint64_t t0 = now_ns();
        enet_peer_send(peer, 0, enet_packet_create(buf, sizeof buf, ENET_PACKET_FLAG_RELIABLE));
        enet_host_flush(client.h);
        bool got = false;
        const auto wait_start = Clock::now();
        while (!got && seconds_since(wait_start) < 1.0) {
            ENetEvent ev;
            if (enet_host_service(client.h, &ev, 5) <= 0) continue;
            if (ev.type == ENET_EVENT_TYPE_RECEIVE) {
                uint64_t back;
                std::memcpy(&back, ev.packet->data, 8);
                enet_packet_destroy(ev.packet);
                if (back == seq) {
                    got = true;
                    if (seq >= uint64_t(cfg.rtt_warmup)) us.push_back(double(now_ns() - t0) / 1e3);
                }
            }
        }
        if (!got) ++lost;  // reliable: it comes later and is ignored (seq mismatch)
    }
    stop = true;
    echo.join();
    return summarize("enet", "reliable", us, lost);
}

// ---------------------------------------------------------------------------------------------
// raw UDP

int udp_socket_on_loopback(uint16_t* port)
{
    int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) throw std::runtime_error("socket failed");
    int big = 8 * 1024 * 1024;
    if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big) != 0)
        ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    if (::setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof big) != 0)
        ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
    timeval tv{0, 100000};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) throw std::runtime_error("bind failed");
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    *port = ntohs(a.sin_port);
    return fd;
}

void udp_connect(int fd, uint16_t port)
{
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) throw std::runtime_error("connect failed");
}

Throughput udp_throughput(const Config& cfg, size_t size)
{
    Throughput r;
    r.impl = "udp";
    r.mode = "raw";
    r.size = size;
    if (size > 65536) {
        r.note = "n/a: above one UDP datagram";
        return r;
    }
    const size_t dgram = std::min(size, kUdpMaxPayload);
    if (dgram != size) r.note = "datagrams of 65507 bytes (the IPv4 UDP maximum)";
    uint16_t rx_port = 0, tx_port = 0;
    int rx = udp_socket_on_loopback(&rx_port);
    int tx = udp_socket_on_loopback(&tx_port);
    udp_connect(tx, rx_port);
    Counter c;
    std::atomic<bool> stop{false};
    constexpr int kBatch = 64;
    std::thread receiver([&] {
        std::vector<std::vector<uint8_t>> bufs(kBatch, std::vector<uint8_t>(65536));
        std::vector<iovec> iov(kBatch);
        std::vector<mmsghdr> msgs(kBatch);
        const auto start = Clock::now();
        const double limit = cfg.warmup + cfg.seconds + kSlackSeconds;
        while (!stop && seconds_since(start) < limit) {
            for (int i = 0; i < kBatch; ++i) {
                iov[size_t(i)] = {bufs[size_t(i)].data(), bufs[size_t(i)].size()};
                msgs[size_t(i)] = {};
                msgs[size_t(i)].msg_hdr.msg_iov = &iov[size_t(i)];
                msgs[size_t(i)].msg_hdr.msg_iovlen = 1;
            }
            int n = ::recvmmsg(rx, msgs.data(), kBatch, MSG_WAITFORONE, nullptr);
            for (int i = 0; i < n; ++i) c.add(bufs[size_t(i)].data(), msgs[size_t(i)].msg_len, false);
        }
    });
    uint64_t sent = 0;
    std::thread sender([&] {
        std::vector<uint8_t> buf(dgram, 0x5a);
        std::vector<iovec> iov(kBatch, iovec{buf.data(), buf.size()});
        std::vector<mmsghdr> msgs(kBatch);
        for (int i = 0; i < kBatch; ++i) {
            msgs[size_t(i)].msg_hdr.msg_iov = &iov[size_t(i)];
            msgs[size_t(i)].msg_hdr.msg_iovlen = 1;
        }
        const auto start = Clock::now();
        const double limit = cfg.warmup + cfg.seconds + kSlackSeconds;
        while (!stop && sent < kMaxMessagesPerRun && seconds_since(start) < limit) {
            int n = ::sendmmsg(tx, msgs.data(), kBatch, 0);
            if (n > 0) sent += uint64_t(n);
        }
    });
    Throughput m = measure_window(cfg, c, stop);
    sender.join();
    receiver.join();
    ::close(rx);
    ::close(tx);
    m.impl = r.impl;
    m.mode = r.mode;
    m.size = size;
    m.sent = sent;
    m.note = r.note;
    return m;
}

// The pinging side of a raw UDP ping-pong: 64 B out, the same back (three reads of up to 100 ms
// each before it counts as lost). send(buf, len) and receive(buf, cap) -> bytes are the I/O.
template <typename Send, typename Receive>
Rtt udp_ping_pong(const Config& cfg, const char* mode, Send send, Receive receive)
{
    std::vector<double> us;
    int lost = 0;
    const int total = cfg.rtt_warmup + cfg.rtt_rounds;
    const auto start = Clock::now();
    for (uint64_t seq = 0; seq < uint64_t(total) && seconds_since(start) < 30.0; ++seq) {
        uint8_t buf[64] = {};
        std::memcpy(buf, &seq, 8);
        const uint64_t t0 = now_ns();
        send(buf, sizeof buf);
        uint8_t back[2048];
        bool got = false;
        for (int tries = 0; tries < 3 && !got; ++tries) {
            ssize_t n = receive(back, sizeof back);
            uint64_t s;
            if (n >= 8 && (std::memcpy(&s, back, 8), s == seq)) got = true;
        }
        if (!got) {
            ++lost;
            continue;
        }
        if (seq >= uint64_t(cfg.rtt_warmup)) us.push_back(double(now_ns() - t0) / 1e3);
    }
    return summarize("udp", mode, us, lost);
}

// Reads one datagram from a connected socket with a 100 ms receive timeout. With poll_us > 0 it
// first polls without blocking for up to that long, as an agent with busy_poll_us does.
ssize_t udp_receive(int fd, uint8_t* buf, size_t cap, int poll_us)
{
    if (poll_us > 0) {
        const uint64_t until = now_ns() + uint64_t(poll_us) * 1000;
        do {
            ssize_t n = ::recv(fd, buf, cap, MSG_DONTWAIT);
            if (n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) return n;
        } while (now_ns() < until);
    }
    return ::recv(fd, buf, cap, 0);
}

Rtt udp_rtt(const Config& cfg, int poll_us = 0)
{
    uint16_t a_port = 0, b_port = 0;
    int a = udp_socket_on_loopback(&a_port);
    int b = udp_socket_on_loopback(&b_port);
    udp_connect(a, b_port);
    udp_connect(b, a_port);
    std::atomic<bool> stop{false};
    std::thread echo([&] {
        uint8_t buf[2048];
        const auto start = Clock::now();
        while (!stop && seconds_since(start) < 60.0) {
            ssize_t n = udp_receive(b, buf, sizeof buf, poll_us);
            if (n > 0) (void)::send(b, buf, size_t(n), 0);
        }
    });
    const std::string mode = poll_us ? "raw poll" + std::to_string(poll_us) : "raw";
    Rtt r = udp_ping_pong(
        cfg, mode.c_str(), [&](const uint8_t* buf, size_t len) { (void)::send(a, buf, len, 0); },
        [&](uint8_t* buf, size_t cap) { return udp_receive(a, buf, cap, poll_us); });
    stop = true;
    echo.join();
    ::close(a);
    ::close(b);
    return r;
}

// Raw UDP through the calls OrbitMesh's loop and UDP transport make for each packet: an epoll
// wait, a non-blocking recvmmsg of up to 64 slots, and an unconnected sendmsg naming the peer
// (one socket serves every peer). The difference to "udp raw" (blocking recv and send on
// connected sockets) is the I/O model's share of the gap, not QUIC's nor the agent's.
Rtt udp_epoll_rtt(const Config& cfg)
{
    uint16_t a_port = 0, b_port = 0;
    int a = udp_socket_on_loopback(&a_port);
    int b = udp_socket_on_loopback(&b_port);
    struct Endpoint {
        int fd, ep;
        sockaddr_in to{};
        std::vector<uint8_t> storage = std::vector<uint8_t>(64 * 2048);
        mmsghdr headers[64]{};
        iovec vectors[64]{};
        sockaddr_in sources[64]{};
        Endpoint(int socket_fd, uint16_t peer_port) : fd(socket_fd), ep(::epoll_create1(EPOLL_CLOEXEC))
        {
            to.sin_family = AF_INET;
            to.sin_port = htons(peer_port);
            to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            epoll_event e{};
            e.events = EPOLLIN;
            e.data.fd = fd;
            ::epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
            reset(64);
        }
        ~Endpoint() { ::close(ep); }
        int filled = 0;
        void reset(int slots)
        {
            for (int i = 0; i < slots; ++i) {
                vectors[i] = {storage.data() + size_t(i) * 2048, 2048};
                headers[i].msg_hdr = msghdr{};
                headers[i].msg_hdr.msg_name = &sources[i];
                headers[i].msg_hdr.msg_namelen = sizeof sources[i];
                headers[i].msg_hdr.msg_iov = &vectors[i];
                headers[i].msg_hdr.msg_iovlen = 1;
            }
        }
        // Waits (at most timeout_ms) and reads what came: the first datagram's bytes, or 0.
        ssize_t wait_and_read(int timeout_ms, uint8_t* out, size_t cap)
        {
            epoll_event e;
            if (::epoll_wait(ep, &e, 1, timeout_ms) <= 0) return 0;
            reset(filled);  // as the transport: only the slots the last read filled
            int n = ::recvmmsg(fd, headers, 64, MSG_DONTWAIT, nullptr);
            filled = n > 0 ? n : 1;
            if (n <= 0) return 0;
            const size_t len = std::min<size_t>(headers[0].msg_len, cap);
            std::memcpy(out, storage.data(), len);
            return ssize_t(len);
        }
        void send_to_peer(const uint8_t* data, size_t len)
        {
            iovec v{const_cast<uint8_t*>(data), len};
            msghdr m{};
            m.msg_name = &to;
            m.msg_namelen = sizeof to;
            m.msg_iov = &v;
            m.msg_iovlen = 1;
            (void)::sendmsg(fd, &m, 0);
        }
    };
    Endpoint pinger(a, b_port), echoer(b, a_port);
    std::atomic<bool> stop{false};
    std::thread echo([&] {
        uint8_t buf[2048];
        const auto start = Clock::now();
        while (!stop && seconds_since(start) < 60.0)
            if (ssize_t n = echoer.wait_and_read(100, buf, sizeof buf); n > 0) echoer.send_to_peer(buf, size_t(n));
    });
    Rtt r = udp_ping_pong(
        cfg, "epoll", [&](const uint8_t* buf, size_t len) { pinger.send_to_peer(buf, len); },
        [&](uint8_t* buf, size_t cap) { return pinger.wait_and_read(100, buf, cap); });
    stop = true;
    echo.join();
    ::close(a);
    ::close(b);
    return r;
}

// ---------------------------------------------------------------------------------------------

template <typename T>
std::vector<T> parse_list(const std::string& text)
{
    std::vector<T> out;
    std::stringstream ss(text);
    std::string item;
    while (std::getline(ss, item, ','))
        if (!item.empty()) out.push_back(T(std::stoull(item)));
    return out;
}

std::string human_size(size_t s)
{
    if (s >= 1048576 && s % 1048576 == 0) return std::to_string(s / 1048576) + " MiB";
    if (s >= 1024 && s % 1024 == 0) return std::to_string(s / 1024) + " KiB";
    return std::to_string(s) + " B";
}

std::string fmt(double v, const char* f)
{
    char b[64];
    std::snprintf(b, sizeof b, f, v);
    return b;
}

} // namespace

int main(int argc, char** argv)
{
    Config cfg;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto next = [&]() -> std::string {
            if (i + 1 >= argc) throw std::runtime_error(a + " needs a value");
            return argv[++i];
        };
        if (a == "--seconds") cfg.seconds = std::stod(next());
        else if (a == "--warmup") cfg.warmup = std::stod(next());
        else if (a == "--sizes") cfg.sizes = parse_list<size_t>(next());
        else if (a == "--rtt-rounds") cfg.rtt_rounds = std::stoi(next());
        else if (a == "--busy-poll-us") cfg.busy_poll_us = std::stoi(next());
        else if (a == "--enet-windows") cfg.enet_windows = parse_list<uint32_t>(next());
        else if (a == "--only") {
            std::string v = next();
            cfg.ours = v.find("ours") != std::string::npos;
            cfg.enet = v.find("enet") != std::string::npos;
            cfg.udp = v.find("udp") != std::string::npos;
        } else if (a == "--no-rtt") cfg.rtt = false;
        else if (a == "--no-throughput") cfg.throughput = false;
        else {
            std::fprintf(stderr, "usage: delivery_bench [--seconds S] [--warmup S] [--sizes a,b] [--rtt-rounds N] "
                                 "[--enet-windows a,b] [--only ours,enet,udp] [--no-rtt] [--no-throughput] [--busy-poll-us 50]\n");
            return 2;
        }
    }
    cfg.seconds = std::clamp(cfg.seconds, 0.2, 30.0);
    cfg.warmup = std::clamp(cfg.warmup, 0.0, 10.0);
    cfg.rtt_rounds = std::clamp(cfg.rtt_rounds, 10, 100000);
    if (enet_initialize() != 0) {
        std::fprintf(stderr, "enet_initialize failed\n");
        return 1;
    }
    const std::string load_before = loadavg();
    std::fprintf(stderr, "delivery_bench: %.1f s per measurement after %.1f s warm-up, load %s\n", cfg.seconds, cfg.warmup,
                 load_before.c_str());

    orbitmesh::ServerOptions so;
    so.bind("127.0.0.1").http_port(0).stun_port(-1).open(true);
    orbitmesh::Server server(so);
    server.start();
    const std::string url = server.url();
    int pair_no = 0;

    std::map<size_t, Throughput> ours, enet, udp;
    std::vector<Rtt> rtts;
    if (cfg.throughput)
        for (size_t size : cfg.sizes) {
            if (cfg.ours) {
                ours[size] = ours_throughput(cfg, url, ++pair_no, size);
                print_json(ours[size]);
            }
            if (cfg.enet)
                for (uint32_t w : cfg.enet_windows) {
                    Throughput t = enet_throughput(cfg, size, w);
                    print_json(t);
                    if (!enet.count(size) || t.msgs_per_s > enet[size].msgs_per_s) enet[size] = t;
                }
            if (cfg.udp) {
                udp[size] = udp_throughput(cfg, size);
                print_json(udp[size]);
            }
        }
    if (cfg.rtt) {
        if (cfg.ours) {
            rtts.push_back(ours_rtt(cfg, url, ++pair_no, OM_DELIVERY_RELIABLE_ORDERED));
            print_json(rtts.back());
            rtts.push_back(ours_rtt(cfg, url, ++pair_no, OM_DELIVERY_UNRELIABLE));
            print_json(rtts.back());
            if (cfg.busy_poll_us) {
                rtts.push_back(ours_rtt(cfg, url, ++pair_no, OM_DELIVERY_RELIABLE_ORDERED, cfg.busy_poll_us));
                print_json(rtts.back());
            }
        }
        if (cfg.enet) {
            rtts.push_back(enet_rtt(cfg));
            print_json(rtts.back());
        }
        if (cfg.udp) {
            rtts.push_back(udp_rtt(cfg));
            print_json(rtts.back());
            rtts.push_back(udp_epoll_rtt(cfg));
            print_json(rtts.back());
            if (cfg.busy_poll_us) {
                rtts.push_back(udp_rtt(cfg, cfg.busy_poll_us));
                print_json(rtts.back());
            }
        }
    }
    enet_deinitialize();

    // Tables.
    auto cell = [](const std::map<size_t, Throughput>& m, size_t s) -> std::string {
        auto it = m.find(s);
        if (it == m.end() || !it->second.valid) return "n/a";
        return fmt(it->second.msgs_per_s, "%.0f") + " / " + fmt(it->second.mb_per_s, "%.1f");
    };
    auto ratio = [](const std::map<size_t, Throughput>& a, const std::map<size_t, Throughput>& b, size_t s) -> std::string {
        auto x = a.find(s), y = b.find(s);
        if (x == a.end() || y == b.end() || !x->second.valid || !y->second.valid || y->second.msgs_per_s <= 0) return "n/a";
        return fmt(x->second.msgs_per_s / y->second.msgs_per_s, "%.2f");
    };
    if (cfg.throughput) {
        std::fprintf(stderr, "\nthroughput, msgs/s / MB/s delivered (counted at the receiver; MB = 10^6 bytes)\n");
        std::fprintf(stderr, "%-8s | %-26s | %-26s | %-8s | %-28s | %-9s | %-8s\n", "size", "ours reliable-ordered",
                     "ENet reliable (best win)", "ENet win", "raw UDP (arrived %)", "ours/ENet", "ours/UDP");
        for (size_t s : cfg.sizes) {
            std::string w = enet.count(s) ? std::to_string(enet[s].window) : "-";
            std::string u = cell(udp, s);
            if (udp.count(s) && udp[s].valid && udp[s].sent)
                u += " (" + fmt(100.0 * double(udp[s].msgs) / double(std::max<uint64_t>(1, udp[s].sent)), "%.0f") + "%)";
            std::fprintf(stderr, "%-8s | %-26s | %-26s | %-8s | %-28s | %-9s | %-8s\n", human_size(s).c_str(),
                         cell(ours, s).c_str(), cell(enet, s).c_str(), w.c_str(), u.c_str(), ratio(ours, enet, s).c_str(),
                         ratio(ours, udp, s).c_str());
        }
        uint64_t errors = 0;
        for (auto& [s, t] : ours) errors += t.order_errors;
        for (auto& [s, t] : enet) errors += t.order_errors;
        std::fprintf(stderr, "order errors (reliable, ours + ENet): %llu\n", (unsigned long long)errors);
    }
    if (!rtts.empty()) {
        std::fprintf(stderr, "\n64 B ping-pong RTT (%d round trips after %d warm-up), µs\n", cfg.rtt_rounds, cfg.rtt_warmup);
        std::fprintf(stderr, "%-26s | %8s | %8s | %8s | %s\n", "", "p50", "p99", "min", "resent after 200 ms");
        double udp_p50 = -1, ours_ro_p50 = -1, udp_poll_p50 = -1, ours_poll_p50 = -1;
        const std::string poll = " poll" + std::to_string(cfg.busy_poll_us);
        for (auto& r : rtts) {
            std::fprintf(stderr, "%-26s | %8.1f | %8.1f | %8.1f | %d\n", (r.impl + " " + r.mode).c_str(), r.p50_us, r.p99_us,
                         r.min_us, r.lost);
            if (r.impl == "udp" && r.mode == "raw") udp_p50 = r.p50_us;
            if (r.impl == "ours" && r.mode == "reliable_ordered") ours_ro_p50 = r.p50_us;
            if (r.impl == "udp" && r.mode == "raw" + poll) udp_poll_p50 = r.p50_us;
            if (r.impl == "ours" && r.mode == "reliable_ordered" + poll) ours_poll_p50 = r.p50_us;
        }
        if (udp_p50 >= 0 && ours_ro_p50 >= 0)
            std::fprintf(stderr, "ours reliable-ordered p50 - raw UDP p50 = %.1f µs (goal <= 20)\n", ours_ro_p50 - udp_p50);
        if (udp_p50 >= 0 && ours_poll_p50 >= 0)
            std::fprintf(stderr, "ours reliable-ordered%s p50 - raw UDP p50 = %.1f µs (goal <= 20)\n", poll.c_str(),
                         ours_poll_p50 - udp_p50);
        if (udp_poll_p50 >= 0 && ours_poll_p50 >= 0)
            std::fprintf(stderr, "ours reliable-ordered%s p50 - raw UDP%s p50 = %.1f µs (both polling)\n", poll.c_str(),
                         poll.c_str(), ours_poll_p50 - udp_poll_p50);
    }
    if (cfg.throughput && cfg.ours && cfg.enet)
        for (size_t s : {size_t(1024), size_t(65536)})
            if (ours.count(s) && enet.count(s))
                std::fprintf(stderr, "goal ours/ENet >= 1.5 at %s: %s\n", human_size(s).c_str(), ratio(ours, enet, s).c_str());
    std::fprintf(stderr, "load before %s, after %s\n", load_before.c_str(), loadavg().c_str());
    return 0;
}
