// A TCP connection to the TURN server (RFC 8656 §3.1, framed as RFC 6062 §4 / RFC 8656 §12.5:
// STUN messages and 4-byte-padded ChannelData back to back). A worker thread connects and reads,
// cutting the stream into whole frames; it hands them over through a queue and a wake-up the
// owner posts to the agent's loop thread (the host's one thread-safe call). Writes happen on the
// loop thread, a whole frame at a time. The worker ends with the link: shutdown, then join.
#pragma once

#include <orbitmesh/plugin.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

namespace om::turnclient {

class TcpLink {
public:
    enum class State : uint8_t { Connecting, Connected, Failed, Closed };
    using Wake = std::function<void()>;  // called from the worker: must only post

    TcpLink(const om_address& server, uint32_t connect_timeout_ms, Wake wake);
    ~TcpLink();
    TcpLink(const TcpLink&) = delete;
    TcpLink& operator=(const TcpLink&) = delete;

    void start();
    // Loop thread: a whole frame; OM_ERR_CLOSED when the connection is not up or broke.
    int32_t send(std::span<const uint8_t> frame);
    // Loop thread, after a wake: the frames read so far (moved out) and the state now.
    State take(std::vector<std::vector<uint8_t>>& frames, std::string& why);

private:
    void run();
    void finish(State state, const std::string& why);

    om_address server_;
    uint32_t connect_timeout_ms_;
    Wake wake_;
    int fd_ = -1;
    std::atomic<bool> stopping_{false};
    std::thread worker_;
    std::mutex mutex_;  // what follows
    State state_ = State::Connecting;
    std::string why_;
    std::vector<std::vector<uint8_t>> frames_;
};

}  // namespace om::turnclient
