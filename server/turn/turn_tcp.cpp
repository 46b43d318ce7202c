#include "turn/turn_tcp.hpp"

#include "core/error.h"
#include "core/log.h"
#include "core/monotonic_clock.h"
#include "proto/address.h"
#include "proto/socket_address.h"
#include "proto/turn.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace om::server {
namespace {

constexpr size_t kMaxFrame = 65535 + 20;       // a STUN message or ChannelData, padded
constexpr size_t kMaxQueued = 1 << 20;         // per connection, waiting to be written
constexpr uint64_t kIdleUs = 30'000'000;       // without a whole frame
constexpr uint64_t kStopKey = UINT64_MAX, kListenKey = UINT64_MAX - 1;

uint64_t now_us() { return monotonic_us(); }

} // namespace

TurnTcp::TurnTcp(TurnRelay& relay, const om_address& bind, ServerMetrics& metrics, size_t max_connections,
                 uint32_t rate_limit)
    : relay_(relay), bind_(bind), metrics_(metrics), max_connections_(max_connections), limiter_(rate_limit),
      answer_(kMaxFrame + 64)
{
}

TurnTcp::~TurnTcp() { stop(); }

void TurnTcp::start()
{
    listen_fd_ = ::socket(bind_.family == 6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    const int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    proto::SocketAddress sa;
    if (listen_fd_ < 0 || !proto::to_socket_address(bind_, bind_.family == 6 ? AF_INET6 : AF_INET, sa) ||
        ::bind(listen_fd_, sa.get(), sa.length) != 0 || ::listen(listen_fd_, 128) != 0) {
        const std::string why = std::strerror(errno);
        if (listen_fd_ >= 0) ::close(listen_fd_);
        listen_fd_ = -1;
        om::fail(OM_ERR_IO, "TURN: TCP " + proto::format_address(bind_) + " is not available: " + why);
    }
    epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
    stop_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kStopKey;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, stop_fd_, &ev);
    ev.data.u64 = kListenKey;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listen_fd_, &ev);
    relay_.set_stream_sink(this);
    thread_ = std::thread([this] { run(); });
}

void TurnTcp::stop()
{
    if (stop_fd_ >= 0) {
        uint64_t one = 1;
        ssize_t written = ::write(stop_fd_, &one, sizeof one);
        (void)written;
    }
    if (thread_.joinable()) thread_.join();
    std::vector<int> fds;
    {
        std::lock_guard<std::mutex> lock(out_mutex_);
        for (const auto& [fd, c] : connections_) fds.push_back(fd);
    }
    for (int fd : fds) close(fd);
    relay_.set_stream_sink(nullptr);
    for (int* fd : {&listen_fd_, &epoll_fd_, &stop_fd_}) {
        if (*fd >= 0) ::close(*fd);
        *fd = -1;
    }
}

void TurnTcp::run()
{
    epoll_event events[64];
    uint64_t next_sweep = now_us() + 1'000'000;
    for (;;) {
        const int n = ::epoll_wait(epoll_fd_, events, 64, accept_paused_until_ ? 100 : 500);
        if (n < 0 && errno != EINTR) return;
        if (accept_paused_until_ && now_us() >= accept_paused_until_) {
            accept_paused_until_ = 0;
            epoll_event ev{};
            ev.events = EPOLLIN;
            ev.data.u64 = kListenKey;
            ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listen_fd_, &ev);
        }
        for (int i = 0; i < n; ++i) {
            const uint64_t key = events[i].data.u64;
            if (key == kStopKey) return;
            if (key == kListenKey) {
                accept_all();
                continue;
            }
            const int fd = static_cast<int>(key);
            if (events[i].events & EPOLLOUT) {
                std::lock_guard<std::mutex> lock(out_mutex_);
                auto it = connections_.find(fd);
                if (it != connections_.end()) write_pending(*it->second);
            }
            if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
                Connection* c = nullptr;
                {
                    std::lock_guard<std::mutex> lock(out_mutex_);
                    auto it = connections_.find(fd);
                    if (it != connections_.end()) c = it->second.get();
                }
                if (c) read_from(*c);  // only this thread erases connections
            }
        }
        const uint64_t now = now_us();
        if (now >= next_sweep) {
            next_sweep = now + 1'000'000;
            // Quiet for kIdleUs with half a frame, or without an allocation: closed. A client
            // with an allocation may stay quiet (its refreshes keep it; expiry ends it).
            // A connection that never got an allocation goes kIdleUs after accept, whatever it sends.
            std::vector<std::pair<int, om_address>> quiet;
            {
                std::lock_guard<std::mutex> lock(out_mutex_);
                for (const auto& [fd, c] : connections_)
                    if (now - c->last_frame_us > kIdleUs || now - c->accepted_us > kIdleUs) quiet.emplace_back(fd, c->peer);
            }
            std::vector<int> idle;
            for (const auto& [fd, peer] : quiet) {
                bool partial = false;
                {
                    std::lock_guard<std::mutex> lock(out_mutex_);
                    auto it = connections_.find(fd);
                    partial = it != connections_.end() && !it->second->in.empty();
                }
                if (partial || !relay_.has_stream_client(peer)) idle.push_back(fd);
            }
            for (int fd : idle) {
                metrics_.add("turn.tcp.idle_closed");
                close(fd);
            }
        }
    }
}

void TurnTcp::accept_all()
{
    for (;;) {
        sockaddr_storage ss{};
        socklen_t len = sizeof ss;
        const int fd = ::accept4(listen_fd_, reinterpret_cast<sockaddr*>(&ss), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                // Out of descriptors: the pending connection stays in the backlog and the listener
                // would be readable forever. It rests 100 ms (no busy loop), counted.
                metrics_.add("turn.tcp.accept_failures");
                ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, listen_fd_, nullptr);
                accept_paused_until_ = now_us() + 100'000;
            }
            return;
        }
        std::lock_guard<std::mutex> lock(out_mutex_);
        if (connections_.size() >= max_connections_) {
            metrics_.add("turn.refused.tcp_connections");
            ::close(fd);
            continue;
        }
        const int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        auto c = std::make_unique<Connection>();
        c->fd = fd;
        c->peer = proto::from_socket_address(ss);
        c->last_frame_us = c->accepted_us = now_us();
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u64 = static_cast<uint64_t>(fd);
        ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
        connections_[fd] = std::move(c);
        metrics_.add("turn.tcp.connections");
    }
}

void TurnTcp::read_from(Connection& c)
{
    uint8_t buf[65536];
    // At most 256 KiB per readiness: one fast client does not keep the others waiting (epoll is
    // level-triggered, so the rest is read on the next turn).
    for (size_t budget = 256 * 1024; budget > 0;) {
        const ssize_t n = ::recv(c.fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
            close(c.fd);
            return;
        }
        if (n < 0) return;
        budget = static_cast<size_t>(n) >= budget ? 0 : budget - static_cast<size_t>(n);
        c.in.insert(c.in.end(), buf, buf + n);
        // Every whole frame in what arrived (RFC 6062 §4: STUN and padded ChannelData).
        size_t at = 0;
        for (;;) {
            const auto size = proto::turn::stream_frame_size(std::span<const uint8_t>(c.in).subspan(at));
            if (!size) {  // not a frame: the stream cannot be resynchronised
                metrics_.add("turn.tcp.bad_frames");
                close(c.fd);
                return;
            }
            if (*size == 0 || *size > c.in.size() - at) break;
            if (*size > kMaxFrame) {
                metrics_.add("turn.tcp.bad_frames");
                close(c.fd);
                return;
            }
            const std::span<const uint8_t> frame(c.in.data() + at, *size);
            // Requests pass the per-source rate limit as over UDP; ChannelData (64-127) does not.
            const bool request = frame[0] <= 3;
            if (request && !limiter_.allow(c.peer, now_us())) {
                metrics_.add("rate_limited");
            } else {
                const size_t reply = relay_.on_stream_client(c.fd, c.peer, frame, answer_);
                if (reply) send_frame(c.fd, std::span<const uint8_t>(answer_.data(), reply));
            }
            at += *size;
            c.last_frame_us = now_us();
        }
        c.in.erase(c.in.begin(), c.in.begin() + static_cast<std::ptrdiff_t>(at));
        if (c.in.size() > kMaxFrame) {
            close(c.fd);
            return;
        }
    }
}

void TurnTcp::send_frame(int fd, std::span<const uint8_t> frame)
{
    std::lock_guard<std::mutex> lock(out_mutex_);
    auto it = connections_.find(fd);
    if (it == connections_.end()) return;  // closed meanwhile
    Connection& c = *it->second;
    if (c.out.size() + frame.size() > kMaxQueued) {
        metrics_.add("turn.dropped.tcp_queue_full");
        return;
    }
    c.out.insert(c.out.end(), frame.begin(), frame.end());
    write_pending(c);
}

void TurnTcp::write_pending(Connection& c)
{
    while (!c.out.empty()) {
        const ssize_t n = ::send(c.fd, c.out.data(), c.out.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n <= 0) break;
        c.out.erase(c.out.begin(), c.out.begin() + n);
    }
    // Write interest only while something waits.
    epoll_event ev{};
    ev.events = EPOLLIN | (c.out.empty() ? 0u : static_cast<uint32_t>(EPOLLOUT));
    ev.data.u64 = static_cast<uint64_t>(c.fd);
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c.fd, &ev);
}

void TurnTcp::close(int fd)
{
    om_address peer{};
    {
        std::lock_guard<std::mutex> lock(out_mutex_);
        auto it = connections_.find(fd);
        if (it == connections_.end()) return;
        peer = it->second->peer;
        ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
        connections_.erase(it);
    }
    relay_.client_gone(peer);  // RFC 6062 §4: the allocation goes with its connection
    ::close(fd);
}

} // namespace om::server
