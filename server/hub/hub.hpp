// The signaling hub: which agent id is on which connection, and what each message does
// (docs/server.md). Messages are decoded with libs/proto/signal_message.h; `from` is always
// set by the hub, never taken from the client. Thread-safe: every reactor thread calls it.
#pragma once

#include "hub/server_config.hpp"
#include "net/connection.hpp"
#include "net/connection_events.hpp"
#include "proto/signal_message.h"

#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

namespace om::server {

class ServerMetrics;

class Hub : public ConnectionEvents {
public:
    Hub(const ServerConfig& config, ServerMetrics& metrics);

    void on_message(const std::shared_ptr<Connection>& connection, std::span<const uint8_t> bytes) override;
    void on_closed(const std::shared_ptr<Connection>& connection) override;
    void on_tick(const std::shared_ptr<Connection>& connection, std::chrono::steady_clock::time_point now) override;

    std::vector<std::string> agent_ids() const; // sorted

    struct AgentSummary {
        std::string id;
        std::optional<om::proto::signaling::NatInfo> nat;
    };
    std::vector<AgentSummary> agents() const; // sorted by id

private:
    using Message = om::proto::signaling::Message;

    // hub_register.cpp
    void handle_register(const std::shared_ptr<Connection>& connection, const om::proto::signaling::Register& message);
    bool authorized(const std::shared_ptr<Connection>& connection, const om::proto::signaling::Register& message);
    bool claim_id(const std::shared_ptr<Connection>& connection, const std::string& id);
    std::string new_session_id();

    // hub.cpp
    void dispatch(const std::shared_ptr<Connection>& connection, Message& message);
    template <class Forwarded>
    void forward(const std::shared_ptr<Connection>& sender, Forwarded& message);
    void relay(const std::shared_ptr<Connection>& sender, om::proto::signaling::Relay& message);
    std::shared_ptr<Connection> find(const std::string& id) const;
    bool send(const std::shared_ptr<Connection>& to, const Message& message);
    void send_error(const std::shared_ptr<Connection>& to, om::proto::signaling::ErrorCode code,
                    const std::string& reason, const char* ref = nullptr);
    // Error frame, then close (RFC 6455 §7.4.1 1008 policy violation).
    void refuse(const std::shared_ptr<Connection>& to, om::proto::signaling::ErrorCode code,
                const std::string& reason, const char* ref = "register");
    void update_connected_gauge(); // under mutex_

    const ServerConfig& config_;
    ServerMetrics& metrics_;
    om::proto::signaling::Limits limits_;
    mutable std::mutex mutex_;
    std::unordered_map<std::string, std::shared_ptr<Connection>> agents_;
    std::mt19937_64 session_random_;
};

} // namespace om::server
