// One upgraded WebSocket connection, server side (RFC 6455). The reactor thread reads it
// and feeds its frame decoder; any thread may send, through a queue bounded by
// send_queue_bytes that the reactor flushes on EPOLLOUT. The descriptor closes with the object.
#pragma once

#include "proto/signal_message.h"

#include "hub/token_bucket.hpp"

#include <atomic>
#include <optional>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace om::server {

class ConnectionEvents;
class ServerMetrics;
struct ServerConfig;
class FrameReader;

class Connection : public std::enable_shared_from_this<Connection> {
public:
    using Clock = std::chrono::steady_clock;
    enum class SendResult { Queued, Overloaded, Closed };

    Connection(int fd, int epoll_fd, const ServerConfig& config, ServerMetrics& metrics);
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    // --- reactor thread ---
    bool watch();                                                      // adds it to epoll
    void read_available(std::vector<uint8_t>& scratch, ConnectionEvents& events);
    void flush();                                                      // on EPOLLOUT
    bool finished(Clock::time_point now = Clock::now()) const;         // ready to be dropped
    void shut();                                                       // refuses further sends

    // --- any thread ---
    // One binary data message (RFC 6455 §5.6, opcode 0x2); refused when it would push the
    // queued bytes past send_queue_bytes.
    SendResult send_binary(std::span<const uint8_t> message);
    // Close frame (RFC 6455 §5.5.1) after what is queued; the TCP connection closes once it
    // is written, or after a grace period.
    void close(uint16_t code, std::string_view reason);
    bool closing() const { return closing_.load(std::memory_order_acquire); }
    int fd() const { return fd_; }
    Clock::time_point opened_at() const { return opened_at_; }

    // --- the hub's state, guarded by the hub ---
    std::string agent_id;                // empty until registered
    std::atomic<bool> registered{false};
    std::optional<om::proto::signaling::NatInfo> nat;  // what the agent reported at register
    TokenBucket relay_budget;
    std::atomic<int64_t> last_seen_ms{0}; // steady clock, for keep-alive

private:
    friend class FrameReader;
    bool queue_frame(uint8_t opcode, std::span<const uint8_t> payload, bool bounded); // under out_mutex_
    void write_queued();                                                               // under out_mutex_
    void want_write(bool on);                                                          // under out_mutex_
    void on_frame_error(uint16_t close_code, std::string_view reason);

    const int fd_;
    const int epoll_fd_;
    const ServerConfig& config_;
    ServerMetrics& metrics_;
    const Clock::time_point opened_at_;
    std::unique_ptr<FrameReader> reader_; // decoder state; reactor thread only
    bool peer_gone_ = false;              // reactor thread only

    mutable std::mutex out_mutex_;
    std::string out_;        // encoded frames not yet written
    size_t out_offset_ = 0;  // bytes of out_ already written
    bool writing_armed_ = false;
    bool shut_ = false;
    std::atomic<bool> closing_{false};
    Clock::time_point close_deadline_{};
};

} // namespace om::server
