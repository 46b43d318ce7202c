// The agent's WebSocket to the server, driven by the agent's loop without ever blocking it:
// non-blocking TCP connect, the RFC 6455 §4 opening handshake, then framed binary messages with
// a bounded outgoing queue flushed on writability.
#pragma once

#include "core/event_loop.h"
#include "proto/ws_frame.h"

#include <orbitmesh/plugin.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>
#include <random>
#include <string>
#include <vector>

namespace om {

struct ServerUrl {
    std::string host;  // as written in the URL
    uint16_t port = 80;
    std::string path = "/v1/signal";

    // ws://host[:port][/path]. Throws om::Error(OM_ERR_INVALID_ARGUMENT) for anything else
    // (wss:// needs TLS, which arrives later: OM_ERR_NOT_SUPPORTED).
    static ServerUrl parse(const std::string& url);
    std::string host_port() const;
};

class SignalingSocket {
public:
    struct Callbacks {
        std::function<void()> on_open;                                  // handshake done
        std::function<void(std::vector<uint8_t>&)> on_message;          // one binary message
        std::function<void(const std::string& reason)> on_closed;       // once; the socket is dead
    };

    SignalingSocket(EventLoop& loop, Callbacks callbacks, size_t max_message, size_t max_queued);
    ~SignalingSocket();  // closes without calling on_closed
    SignalingSocket(const SignalingSocket&) = delete;
    SignalingSocket& operator=(const SignalingSocket&) = delete;

    // Starts connecting; progress and failure arrive through the callbacks. Throws om::Error when
    // the host cannot be resolved.
    void open(const ServerUrl& url);
    // Queues one binary message. OM_ERR_WOULD_BLOCK when the queue is full, OM_ERR_CLOSED when
    // not open.
    om_status send(const std::vector<uint8_t>& message);
    // Sends a Close frame (best effort) and closes; on_closed is not called.
    void close(uint16_t code, const std::string& reason);
    bool is_open() const { return phase_ == Phase::Open; }
    // The address the socket connects to (after open()), and a header of the server's handshake
    // answer (once open).
    const om_address& server_address() const { return server_address_; }
    std::optional<std::string> response_header(std::string_view name) const;
    size_t queued_bytes() const { return out_.size() - out_sent_; }

private:
    enum class Phase { Idle, Connecting, Handshake, Open, Closed };

    void on_writable();
    void on_readable();
    void flush();
    void fail(const std::string& reason);
    void teardown();
    void handle_handshake_bytes();
    void queue_frame(proto::ws::Opcode opcode, std::span<const uint8_t> payload);

    EventLoop& loop_;
    Callbacks callbacks_;
    size_t max_queued_;
    int fd_ = -1;
    Phase phase_ = Phase::Idle;
    std::string key_;
    std::string handshake_in_;
    std::string response_headers_;
    om_address server_address_{};
    std::vector<uint8_t> out_;
    size_t out_sent_ = 0;
    proto::ws::Decoder decoder_;
    std::mt19937 mask_rng_;
};

} // namespace om
