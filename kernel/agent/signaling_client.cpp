#include "agent/signaling_client.h"

#include "core/error.h"
#include "core/log.h"

#include <algorithm>
#include <cstdlib>

namespace om {
namespace {

namespace sig = proto::signaling;

constexpr uint64_t kBackoffBaseMs = 250;
constexpr uint64_t kBackoffMaxMs = 30000;
constexpr size_t kMaxQueuedBytes = 4u << 20;
constexpr size_t kMaxMessageBytes = 1u << 20;
// The server names its embedded STUN port in its handshake answer (docs/protocol.md).
constexpr const char* kStunPortHeader = "X-OrbitMesh-Stun-Port";

// Registration errors that another attempt cannot fix.
bool is_final_refusal(uint16_t code)
{
    return code == static_cast<uint16_t>(sig::ErrorCode::Unauthorized) ||
           code == static_cast<uint16_t>(sig::ErrorCode::Forbidden) ||
           code == static_cast<uint16_t>(sig::ErrorCode::BadRequest) ||
           code == static_cast<uint16_t>(sig::ErrorCode::UnsupportedVersion);
}

} // namespace

SignalingClient::SignalingClient(EventLoop& loop, Counters& counters, Handler& handler, Config config)
    : loop_(loop), counters_(counters), handler_(handler), config_(std::move(config)), rng_(std::random_device{}())
{
}

SignalingClient::~SignalingClient()
{
    *alive_ = false;
    cancel_timers();
}

void SignalingClient::start()
{
    if (running_) return;
    running_ = true;
    failures_ = 0;
    attempt();
}

void SignalingClient::stop(const std::string& reason)
{
    if (!running_) return;
    running_ = false;
    cancel_timers();
    bool was_registered = registered_;
    registered_ = false;
    if (socket_) socket_->close(1000, reason);
    socket_.reset();
    if (was_registered) handler_.on_connection_lost(OM_OK, reason, 0);
}

void SignalingClient::cancel_timers()
{
    for (uint64_t* timer : {&attempt_timer_, &retry_timer_, &keepalive_timer_}) {
        if (*timer) loop_.cancel_timer(*timer);
        *timer = 0;
    }
}

void SignalingClient::attempt()
{
    ++attempt_serial_;
    counters_.add("signaling.attempts", 1);
    SignalingSocket::Callbacks callbacks;
    callbacks.on_open = [this] { on_open(); };
    callbacks.on_message = [this](std::vector<uint8_t>& bytes) { on_message(bytes); };
    callbacks.on_closed = [this](const std::string& reason) { on_closed(OM_ERR_IO, reason); };
    socket_ = std::make_unique<SignalingSocket>(loop_, std::move(callbacks), kMaxMessageBytes, kMaxQueuedBytes);
    attempt_timer_ = loop_.add_timer(uint64_t(config_.attempt_timeout_ms) * 1000, 0, [this](uint64_t) {
        attempt_timer_ = 0;
        on_closed(OM_ERR_TIMEOUT, "no registration within " + std::to_string(config_.attempt_timeout_ms) + " ms");
    });
    try {
        socket_->open(config_.url);
    } catch (const Error& e) {
        // Reported from the loop, not from inside start(): every failure takes one path.
        auto alive = alive_;
        om_status status = e.status();
        std::string reason = e.what();
        loop_.post([this, alive, status, reason] {
            if (*alive) on_closed(status, reason);
        });
    }
}

void SignalingClient::on_open()
{
    ServerHello hello;
    if (auto header = socket_->response_header(kStunPortHeader)) {
        char* end = nullptr;
        long port = std::strtol(header->c_str(), &end, 10);
        if (end && *end == '\0' && port > 0 && port <= 65535) {
            hello.stun = socket_->server_address();
            hello.stun->port = static_cast<uint16_t>(port);
        } else {
            counters_.add("signaling.bad_stun_header", 1);
            log_message(OM_LOG_WARNING, std::string("signaling: ignoring ") + kStunPortHeader + ": " + *header);
        }
    }
    auto alive = alive_;
    uint64_t serial = attempt_serial_;
    handler_.before_register(hello, [this, alive, serial](std::optional<sig::NatInfo> nat) {
        if (!*alive || serial != attempt_serial_ || !socket_ || !socket_->is_open()) return;
        sig::Register reg;
        reg.id = config_.agent_id;
        if (!config_.token.empty()) reg.token = config_.token;
        reg.nat = std::move(nat);
        reg.caps = std::vector<std::string>{"relay"};
        send_raw(reg);
    });
}

om_status SignalingClient::send_raw(const sig::Message& message)
{
    if (!socket_) return OM_ERR_CLOSED;
    om_status status = socket_->send(sig::encode(message));
    if (status == OM_OK) counters_.add(std::string("signaling.sent.") + sig::type_name(sig::type_of(message)), 1);
    return status;
}

om_status SignalingClient::send(const sig::Message& message)
{
    if (!registered_) return OM_ERR_CLOSED;
    return send_raw(message);
}

void SignalingClient::on_message(std::vector<uint8_t>& bytes)
{
    last_received_us_ = EventLoop::now_us();
    auto decoded = sig::decode(bytes);
    if (!decoded) {
        counters_.add("signaling.malformed", 1);
        log_message(OM_LOG_WARNING, "signaling: ignoring a message from the server: " + decoded.error.message);
        return;
    }
    sig::Message& message = *decoded.message;
    counters_.add(std::string("signaling.received.") + sig::type_name(sig::type_of(message)), 1);
    if (auto* registered = std::get_if<sig::Registered>(&message)) {
        if (registered_) return;
        registered_ = true;
        bool reconnected = ever_registered_;
        ever_registered_ = true;
        failures_ = 0;
        if (attempt_timer_) loop_.cancel_timer(attempt_timer_);
        attempt_timer_ = 0;
        uint32_t keepalive = registered->keepalive_ms ? std::min(registered->keepalive_ms, config_.keep_alive_ms)
                                                      : config_.keep_alive_ms;
        keepalive_timer_ = loop_.add_timer(uint64_t(keepalive) * 1000, uint64_t(keepalive) * 1000,
                                           [this](uint64_t) { on_keepalive_tick(); });
        handler_.on_registered(*registered, reconnected);
        return;
    }
    if (auto* ping = std::get_if<sig::Ping>(&message)) {
        send_raw(sig::Pong{ping->nonce});
        return;
    }
    if (auto* pong = std::get_if<sig::Pong>(&message)) {
        if (pong->nonce == ping_nonce_ && ping_sent_us_) rtt_ms_ = double(EventLoop::now_us() - ping_sent_us_) / 1000.0;
        return;
    }
    if (auto* error = std::get_if<sig::Error>(&message); error && !registered_) {
        // An error before "registered" answers our register: the server refused us.
        std::string reason = "the server refused registration: " + std::to_string(error->code) + " " +
                             sig::error_code_name(error->code) + (error->reason.empty() ? "" : ": " + error->reason);
        bool auth = error->code == static_cast<uint16_t>(sig::ErrorCode::Unauthorized) ||
                    error->code == static_cast<uint16_t>(sig::ErrorCode::Forbidden) ||
                    error->code == static_cast<uint16_t>(sig::ErrorCode::IdInUse);
        // No retry can fix a bad token; and a first connect that is refused reports it at once
        // (after a crash, an id still held by the old connection is worth retrying).
        if (is_final_refusal(error->code) || !ever_registered_) running_ = false;
        on_closed(auth ? OM_ERR_AUTH : OM_ERR_REFUSED, reason);
        return;
    }
    handler_.on_signal(message);
}

void SignalingClient::on_keepalive_tick()
{
    uint64_t now = EventLoop::now_us();
    if (now - last_received_us_ > uint64_t(config_.disconnect_timeout_ms) * 1000) {
        on_closed(OM_ERR_TIMEOUT, "the server was silent for more than " + std::to_string(config_.disconnect_timeout_ms) + " ms");
        return;
    }
    ping_nonce_ = rng_();
    ping_sent_us_ = now;
    send_raw(sig::Ping{ping_nonce_});
}

void SignalingClient::on_closed(om_status status, const std::string& reason)
{
    if (!socket_) return;  // already handled
    // The socket may be inside its own callback: destroy it once the stack has unwound.
    std::shared_ptr<SignalingSocket> dying(socket_.release());
    dying->close(1000, "");
    loop_.post([dying] {});
    cancel_timers();
    bool was_registered = registered_;
    registered_ = false;
    if (was_registered) counters_.add("signaling.lost", 1);
    else counters_.add("signaling.failed_attempts", 1);
    schedule_retry(status, reason);
}

void SignalingClient::schedule_retry(om_status status, const std::string& reason)
{
    if (!running_) {
        handler_.on_connection_lost(status, reason, 0);
        return;
    }
    // Exponential backoff with "equal jitter": half fixed, half random, so a fleet that lost its
    // server does not come back in lockstep.
    ++failures_;
    uint64_t ceiling = std::min(kBackoffMaxMs, kBackoffBaseMs << std::min(failures_ - 1, 10));
    uint64_t delay = ceiling / 2 + rng_() % (ceiling / 2 + 1);
    handler_.on_connection_lost(status, reason, delay);
    retry_timer_ = loop_.add_timer(delay * 1000, 0, [this](uint64_t) {
        retry_timer_ = 0;
        if (running_) attempt();
    });
}

} // namespace om
