#include "hub/hub.hpp"

#include "hub/server_metrics.hpp"

#include <algorithm>

namespace om::server {

namespace sig = om::proto::signaling;
using sig::ErrorCode;

Hub::Hub(const ServerConfig& config, ServerMetrics& metrics)
    : config_(config), metrics_(metrics), session_random_(std::random_device{}()) {
    limits_.max_relay_bytes = config.max_frame_bytes;
}

void Hub::on_message(const std::shared_ptr<Connection>& connection, std::span<const uint8_t> bytes) {
    if (bytes.size() > config_.max_frame_bytes) { // the frame decoder allows up to twice as much
        metrics_.add(metric::errors("too_large"));
        send_error(connection, ErrorCode::TooLarge,
                   "message of " + std::to_string(bytes.size()) + " bytes is over max_frame_bytes " +
                       std::to_string(config_.max_frame_bytes));
        return;
    }
    sig::DecodeResult decoded = sig::decode(bytes, limits_);
    if (!decoded) { // bad msgpack, wrong version, unknown type: answered, connection kept
        metrics_.add(metric::errors(sig::decode_error_kind_name(decoded.error.kind)));
        if (!send(connection, sig::error_reply(decoded.error))) metrics_.add(metric::queue_drops);
        return;
    }
    metrics_.add(metric::frames_in(sig::type_name(sig::type_of(*decoded.message))));
    dispatch(connection, *decoded.message);
}

void Hub::dispatch(const std::shared_ptr<Connection>& connection, Message& message) {
    if (auto* reg = std::get_if<sig::Register>(&message)) {
        if (connection->registered) {
            send_error(connection, ErrorCode::BadRequest, "already registered as " + connection->agent_id, "register");
            return;
        }
        handle_register(connection, *reg);
        return;
    }
    if (!connection->registered) {
        metrics_.add(metric::errors("not_registered"));
        send_error(connection, ErrorCode::BadRequest, "the first message must be register",
                   sig::type_name(sig::type_of(message)));
        return;
    }
    if (auto* ping = std::get_if<sig::Ping>(&message)) {
        send(connection, sig::Pong{ping->nonce});
    } else if (auto* request = std::get_if<sig::ConnectRequest>(&message)) {
        forward(connection, *request);
    } else if (auto* response = std::get_if<sig::ConnectResponse>(&message)) {
        forward(connection, *response);
    } else if (auto* candidate = std::get_if<sig::Candidate>(&message)) {
        forward(connection, *candidate);
    } else if (auto* data = std::get_if<sig::Relay>(&message)) {
        relay(connection, *data);
    } else if (std::holds_alternative<sig::Pong>(message) || std::holds_alternative<sig::Error>(message)) {
        // An agent's pong or error needs no answer (answering an error could loop).
    } else {
        metrics_.add(metric::errors("unexpected_type"));
        send_error(connection, ErrorCode::BadRequest, "agents do not send this message",
                   sig::type_name(sig::type_of(message)));
    }
}

template <class Forwarded>
void Hub::forward(const std::shared_ptr<Connection>& sender, Forwarded& message) {
    const char* type = sig::type_name(sig::type_of(Message(message)));
    std::shared_ptr<Connection> target = find(message.to);
    if (!target) {
        metrics_.add(metric::errors("unknown_peer"));
        send_error(sender, ErrorCode::UnknownPeer, "no agent '" + message.to + "' is registered", type);
        return;
    }
    message.from = sender->agent_id; // never trusted from the client
    if (!send(target, message)) {
        metrics_.add(metric::queue_drops);
        send_error(sender, ErrorCode::Overloaded, "receiver overloaded", type);
    }
}

void Hub::relay(const std::shared_ptr<Connection>& sender, sig::Relay& message) {
    if (!sender->relay_budget.take(message.data.size())) {
        metrics_.add(metric::rate_limited);
        send_error(sender, ErrorCode::RateLimited, "rate_limited: over relay_bytes_per_s", "relay");
        return;
    }
    size_t size = message.data.size();
    std::shared_ptr<Connection> target = find(message.to);
    if (target) {
        message.from = sender->agent_id;
        if (send(target, message)) {
            metrics_.add(metric::relay_bytes, size);
            return;
        }
        // Backpressure policy (docs/server.md): the receiver's queue is full, so the message
        // is dropped, never buffered further, and the sender is told.
        metrics_.add(metric::queue_drops);
        send_error(sender, ErrorCode::Overloaded, "receiver overloaded", "relay");
        return;
    }
    metrics_.add(metric::errors("unknown_peer"));
    send_error(sender, ErrorCode::UnknownPeer, "no agent '" + message.to + "' is registered", "relay");
}

std::shared_ptr<Connection> Hub::find(const std::string& id) const {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = agents_.find(id);
    return it == agents_.end() ? nullptr : it->second;
}

bool Hub::send(const std::shared_ptr<Connection>& to, const Message& message) {
    std::vector<uint8_t> bytes = sig::encode(message);
    if (to->send_binary(bytes) != Connection::SendResult::Queued) return false;
    metrics_.add(metric::frames_out(sig::type_name(sig::type_of(message))));
    return true;
}

void Hub::send_error(const std::shared_ptr<Connection>& to, ErrorCode code, const std::string& reason,
                     const char* ref) {
    sig::Error error;
    error.code = static_cast<uint16_t>(code);
    error.reason = reason;
    if (ref) error.ref = ref;
    send(to, error); // an error that does not fit the queue is dropped like any message
}

void Hub::refuse(const std::shared_ptr<Connection>& to, ErrorCode code, const std::string& reason, const char* ref) {
    send_error(to, code, reason, ref);
    to->close(1008, reason);
}

void Hub::on_closed(const std::shared_ptr<Connection>& connection) {
    if (!connection->registered) return;
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = agents_.find(connection->agent_id);
    if (it != agents_.end() && it->second == connection) agents_.erase(it);
    update_connected_gauge();
}

void Hub::on_tick(const std::shared_ptr<Connection>& connection, std::chrono::steady_clock::time_point now) {
    if (connection->closing()) return;
    if (!connection->registered) {
        if (now - connection->opened_at() < config_.register_timeout) return;
        metrics_.add(metric::register_timeouts);
        refuse(connection, ErrorCode::Timeout,
               "no register within " + std::to_string(config_.register_timeout.count()) + " ms", nullptr);
        return;
    }
    auto silent = std::chrono::milliseconds(
        std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() - connection->last_seen_ms);
    if (silent > 3 * config_.keepalive) { // three keep-alive periods without a byte
        metrics_.add("keepalive.timeouts");
        connection->close(1001, "keep-alive timeout");
    }
}

std::vector<std::string> Hub::agent_ids() const {
    std::vector<std::string> ids;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        ids.reserve(agents_.size());
        for (const auto& [id, connection] : agents_) ids.push_back(id);
    }
    std::sort(ids.begin(), ids.end());
    return ids;
}

std::vector<Hub::AgentSummary> Hub::agents() const {
    std::vector<AgentSummary> out;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        out.reserve(agents_.size());
        for (const auto& [id, connection] : agents_) out.push_back({id, connection->nat});
    }
    std::sort(out.begin(), out.end(), [](const AgentSummary& a, const AgentSummary& b) { return a.id < b.id; });
    return out;
}

void Hub::update_connected_gauge() {
    metrics_.counter(metric::agents_connected).store(agents_.size(), std::memory_order_relaxed);
}

} // namespace om::server
