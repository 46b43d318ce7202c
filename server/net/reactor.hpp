// One reactor thread: level-triggered epoll over many non-blocking WebSocket connections.
// Reads feed each connection's own frame decoder, so a half-sent frame holds no thread; writes
// wait in each connection's bounded queue and are flushed on EPOLLOUT.
#pragma once

#include "net/connection.hpp"

#include <atomic>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

namespace om::server {

class ConnectionEvents;
class ServerMetrics;
struct ServerConfig;

class Reactor {
public:
    Reactor(const ServerConfig& config, ServerMetrics& metrics, ConnectionEvents& events);
    ~Reactor();
    Reactor(const Reactor&) = delete;
    Reactor& operator=(const Reactor&) = delete;

    void start();
    // Closes every connection (1001 going away, RFC 6455 §7.4.1) and joins the thread.
    void stop();
    // Any thread: takes ownership of a connected, upgraded socket descriptor.
    void adopt(int fd);
    size_t connection_count() const { return count_.load(std::memory_order_relaxed); }

private:
    void run();
    void take_pending();
    void handle(int fd, uint32_t events);
    void tick();
    void drop(int fd);
    void wake();

    const ServerConfig& config_;
    ServerMetrics& metrics_;
    ConnectionEvents& events_;
    int epoll_fd_ = -1;
    int wake_fd_ = -1;
    std::atomic<bool> stopping_{false};
    std::atomic<size_t> count_{0};
    std::thread thread_;
    std::mutex pending_mutex_;
    std::vector<int> pending_;
    std::unordered_map<int, std::shared_ptr<Connection>> connections_; // reactor thread only
    std::vector<uint8_t> read_buffer_;                                  // shared by its connections
};

} // namespace om::server
