// The agent's side of signaling: registration, keep-alive (ping, and silence beyond the
// disconnect timeout ends the connection), reconnection with exponential backoff and jitter.
// Loop thread only. Messages other than its own go to the Handler.
#pragma once

#include "agent/signaling_socket.h"
#include "core/counters.h"
#include "core/event_loop.h"
#include "proto/signal_message.h"

#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>

namespace om {

class SignalingClient {
public:
    struct Config {
        ServerUrl url;
        std::string agent_id;
        std::string token;
        uint32_t keep_alive_ms = 15000;
        uint32_t disconnect_timeout_ms = 30000;
        uint32_t attempt_timeout_ms = 10000;  // one connect + handshake + register
    };

    // What the server's handshake answer told about it.
    struct ServerHello {
        std::optional<om_address> stun;  // its embedded STUN server (X-OrbitMesh-Stun-Port)
    };
    using SendRegister = std::function<void(std::optional<proto::signaling::NatInfo>)>;

    class Handler {
    public:
        // The WebSocket is open: the handler may learn the NAT first, then calls send_register
        // (once, on the loop thread) with what it found. A call for an attempt that has since
        // ended is ignored.
        virtual void before_register(const ServerHello& hello, SendRegister send_register) = 0;
        virtual void on_registered(const proto::signaling::Registered& registered, bool reconnected) = 0;
        // Connect requests and responses, candidates, relays and errors not about registration.
        virtual void on_signal(proto::signaling::Message& message) = 0;
        // The connection ended. retry_in_ms == 0: no further attempt (stopped, or refused for
        // good: `status` says why, e.g. OM_ERR_AUTH).
        virtual void on_connection_lost(om_status status, const std::string& reason, uint64_t retry_in_ms) = 0;

    protected:
        ~Handler() = default;
    };

    SignalingClient(EventLoop& loop, Counters& counters, Handler& handler, Config config);
    ~SignalingClient();

    void start();
    void stop(const std::string& reason);
    bool registered() const { return registered_; }
    // OM_ERR_CLOSED while not registered, OM_ERR_WOULD_BLOCK when the outgoing queue is full.
    om_status send(const proto::signaling::Message& message);
    double last_rtt_ms() const { return rtt_ms_; }

private:
    void attempt();
    void on_open();
    void on_message(std::vector<uint8_t>& bytes);
    void on_closed(om_status status, const std::string& reason);
    void schedule_retry(om_status status, const std::string& reason);
    void on_keepalive_tick();
    void cancel_timers();
    om_status send_raw(const proto::signaling::Message& message);

    EventLoop& loop_;
    Counters& counters_;
    Handler& handler_;
    Config config_;
    std::unique_ptr<SignalingSocket> socket_;
    bool running_ = false;
    bool registered_ = false;
    bool ever_registered_ = false;
    int failures_ = 0;  // consecutive failed attempts, for the backoff
    uint64_t attempt_serial_ = 0;  // tells a stale before_register continuation from the live one
    uint64_t attempt_timer_ = 0;
    uint64_t retry_timer_ = 0;
    uint64_t keepalive_timer_ = 0;
    uint64_t last_received_us_ = 0;
    uint64_t ping_nonce_ = 0;
    uint64_t ping_sent_us_ = 0;
    double rtt_ms_ = 0;
    std::mt19937_64 rng_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // for deferred callbacks
};

} // namespace om
