#include "net/reactor.hpp"

#include "hub/server_config.hpp"
#include "hub/server_metrics.hpp"
#include "net/connection_events.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace om::server {
namespace {

constexpr int tick_interval_ms = 500;
constexpr size_t read_chunk = 64 * 1024;

[[noreturn]] void fail_errno(const char* what) {
    throw std::runtime_error(std::string(what) + ": " + std::strerror(errno));
}

} // namespace

Reactor::Reactor(const ServerConfig& config, ServerMetrics& metrics, ConnectionEvents& events)
    : config_(config), metrics_(metrics), events_(events), read_buffer_(read_chunk) {
    epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
    if (epoll_fd_ < 0) fail_errno("epoll_create1");
    wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wake_fd_ < 0) fail_errno("eventfd");
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = wake_fd_;
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev) != 0) fail_errno("epoll_ctl");
}

Reactor::~Reactor() {
    stop();
    ::close(wake_fd_);
    ::close(epoll_fd_);
}

void Reactor::start() {
    stopping_ = false;
    thread_ = std::thread([this] { run(); });
}

void Reactor::stop() {
    stopping_ = true;
    wake();
    if (thread_.joinable()) thread_.join();
}

void Reactor::adopt(int fd) {
    {
        std::lock_guard<std::mutex> lock(pending_mutex_);
        pending_.push_back(fd);
    }
    wake();
}

void Reactor::wake() {
    uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof one);
}

void Reactor::take_pending() {
    uint64_t value = 0;
    [[maybe_unused]] ssize_t n = ::read(wake_fd_, &value, sizeof value);
    std::vector<int> fds;
    {
        std::lock_guard<std::mutex> lock(pending_mutex_);
        fds.swap(pending_);
    }
    for (int fd : fds) {
        auto connection = std::make_shared<Connection>(fd, epoll_fd_, config_, metrics_);
        if (!connection->watch()) {
            metrics_.add(metric::errors("epoll_add_failed"));
            continue; // the destructor closes fd
        }
        connections_.emplace(fd, std::move(connection));
        count_.fetch_add(1, std::memory_order_relaxed);
        metrics_.add(metric::connections_open);
    }
}

void Reactor::handle(int fd, uint32_t events) {
    auto it = connections_.find(fd);
    if (it == connections_.end()) return; // dropped earlier in this batch
    std::shared_ptr<Connection> connection = it->second;
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP)) connection->read_available(read_buffer_, events_);
    if (events & EPOLLOUT) connection->flush();
    if (connection->finished()) drop(fd);
}

void Reactor::drop(int fd) {
    auto it = connections_.find(fd);
    if (it == connections_.end()) return;
    std::shared_ptr<Connection> connection = std::move(it->second);
    connections_.erase(it);
    connection->shut(); // no more sends; the descriptor closes with the last reference
    count_.fetch_sub(1, std::memory_order_relaxed);
    metrics_.sub(metric::connections_open);
    events_.on_closed(connection);
}

void Reactor::tick() {
    auto now = std::chrono::steady_clock::now();
    std::vector<int> done;
    for (auto& [fd, connection] : connections_) {
        events_.on_tick(connection, now);
        if (connection->finished(now)) done.push_back(fd);
    }
    for (int fd : done) drop(fd);
}

void Reactor::run() {
    std::vector<epoll_event> events(256);
    auto next_tick = std::chrono::steady_clock::now() + std::chrono::milliseconds(tick_interval_ms);
    while (!stopping_) {
        int n = ::epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), tick_interval_ms);
        if (n < 0 && errno != EINTR) break;
        for (int i = 0; i < n; ++i) {
            if (events[i].data.fd == wake_fd_) take_pending();
            else handle(events[i].data.fd, events[i].events);
        }
        auto now = std::chrono::steady_clock::now();
        if (now >= next_tick) {
            tick();
            next_tick = now + std::chrono::milliseconds(tick_interval_ms);
        }
    }
    // Going away (RFC 6455 §7.4.1, 1001): best effort, then every connection is dropped.
    take_pending();
    for (auto& [fd, connection] : connections_) connection->close(1001, "server shutting down");
    while (!connections_.empty()) drop(connections_.begin()->first);
}

} // namespace om::server
