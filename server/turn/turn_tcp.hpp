// TURN over TCP to the relay (RFC 8656 §3.1 and §12.5, the framing of RFC 6062 §4): a listener on
// the STUN port's TCP twin, one thread with epoll over every connection. A connection carries
// STUN messages and ChannelData padded to 4 bytes back to back; each whole frame goes to the
// relay as one datagram would (its own 5-tuple), and what the relay sends the client comes back
// through send_frame, whole and in order. The allocation dies with the connection.
//
// Bounded: at most max_connections at once (more are closed at accept), a frame at most 64 KiB
// plus its header, at most 1 MiB waiting to be written per connection (beyond, frames are
// dropped and counted, as a UDP socket would drop them), a connection quiet for 30 s closed when
// it holds half a frame or no allocation (an unfinished frame or an idle stranger holds nothing
// for long).
#pragma once

#include "stun/rate_limiter.hpp"
#include "turn/turn_relay.hpp"

#include <orbitmesh/plugin.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

namespace om::server {

class TurnTcp final : public TurnRelay::StreamSink {
public:
    // rate_limit: TURN requests per second per source IP (ChannelData is not counted), 0 = none.
    TurnTcp(TurnRelay& relay, const om_address& bind, ServerMetrics& metrics, size_t max_connections,
            uint32_t rate_limit);
    ~TurnTcp() override;
    TurnTcp(const TurnTcp&) = delete;
    TurnTcp& operator=(const TurnTcp&) = delete;

    void start();  // binds and listens (throws om::Error naming the address), starts the thread
    void stop();   // idempotent: closes every connection (their allocations go)

    void send_frame(int fd, std::span<const uint8_t> frame) override;

private:
    struct Connection {
        int fd = -1;
        om_address peer{};
        std::vector<uint8_t> in;
        std::vector<uint8_t> out;  // not yet written (guarded by out_mutex_)
        uint64_t last_frame_us = 0;
        uint64_t accepted_us = 0;
    };
    void run();
    void accept_all();
    void read_from(Connection& c);
    void write_pending(Connection& c);  // out_mutex_ held
    void close(int fd);

    TurnRelay& relay_;
    om_address bind_;
    ServerMetrics& metrics_;
    size_t max_connections_;
    RateLimiter limiter_;             // the TCP thread's only
    uint64_t accept_paused_until_ = 0;  // out of descriptors: the listener rests a moment
    std::vector<uint8_t> answer_;     // the relay's answers are written here
    int listen_fd_ = -1, epoll_fd_ = -1, stop_fd_ = -1;
    std::thread thread_;
    std::mutex out_mutex_;  // connections_ membership and each out buffer (the relay thread writes)
    std::unordered_map<int, std::unique_ptr<Connection>> connections_;
};

} // namespace om::server
