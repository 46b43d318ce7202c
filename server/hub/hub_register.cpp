// register -> registered: the agent id, its token (agent_token.hpp) and the id's uniqueness.
#include "hub/agent_token.hpp"
#include "hub/hub.hpp"

#include "proto/turn.h"
#include "hub/server_metrics.hpp"

#include <chrono>
#include <cstdio>

namespace om::server {

namespace sig = om::proto::signaling;
using sig::ErrorCode;

namespace {

// A fixed set of names: what an agent writes must not mint new metrics.
const char* nat_metric_name(const std::optional<sig::NatInfo>& nat) {
    if (!nat) return "unreported";
    for (const char* known : {"Open", "FullCone", "Restricted", "PortRestricted", "Symmetric", "Unknown"})
        if (nat->type == known) return known;
    return "other";
}

} // namespace

void Hub::handle_register(const std::shared_ptr<Connection>& connection, const sig::Register& message) {
    std::string why;
    if (!sig::validate_agent_id(message.id, &why)) {
        metrics_.add(metric::errors("bad_agent_id"));
        send_error(connection, ErrorCode::BadRequest, "agent id: " + why, "register");
        return;
    }
    if (!authorized(connection, message)) return;
    if (!claim_id(connection, message.id)) return;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        connection->nat = message.nat;  // seed "Register + Get NAT Info": kept for peers and /v1/agents
    }
    metrics_.add(std::string("agents.nat.") + nat_metric_name(message.nat));

    sig::Registered answer;
    answer.id = message.id;
    answer.session = new_session_id();
    answer.server_time_ms = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                      std::chrono::system_clock::now().time_since_epoch())
                                                      .count());
    answer.keepalive_ms = static_cast<uint32_t>(config_.keepalive.count());
    if (!config_.turn_secret.empty() && !config_.turn_address.empty()) {
        // Time-limited TURN credentials for this agent: no one ships a static TURN password.
        const uint64_t now_s = answer.server_time_ms / 1000;
        auto credentials = proto::turn::rest_credentials(config_.turn_secret, message.id, now_s + config_.turn_credential_ttl_s);
        answer.turn = sig::TurnCredentials{config_.turn_address, std::move(credentials.username),
                                           std::move(credentials.password), config_.turn_credential_ttl_s};
        metrics_.add("turn.credentials_issued");
    }
    send(connection, answer);
}

// With a secret: a valid, unexpired HS256 JWT whose subject is the id. Failures are answered
// (401, or 403 for another id's token), counted by reason, and closed.
bool Hub::authorized(const std::shared_ptr<Connection>& connection, const sig::Register& message) {
    if (config_.open) return true;
    TokenCheck check = check_token(config_.secret, message.token.value_or(""), message.id);
    if (check == TokenCheck::Valid) return true;
    metrics_.add(metric::auth_failures);
    metrics_.add(std::string(metric::auth_failures) + "." + token_check_name(check));
    ErrorCode code = check == TokenCheck::WrongSubject ? ErrorCode::Forbidden : ErrorCode::Unauthorized;
    refuse(connection, code, std::string("token ") + token_check_name(check));
    return false;
}

// One live connection per id: a second one is refused (409) or, with replace_existing_id,
// takes the id and the old connection is told and closed.
bool Hub::claim_id(const std::shared_ptr<Connection>& connection, const std::string& id) {
    std::shared_ptr<Connection> replaced;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        auto it = agents_.find(id);
        if (it != agents_.end() && !it->second->closing()) {
            if (!config_.replace_existing_id) {
                metrics_.add(metric::errors("id_in_use"));
                refuse(connection, ErrorCode::IdInUse, "id_in_use: '" + id + "' is registered by a live connection");
                return false;
            }
            replaced = it->second;
        }
        connection->agent_id = id;
        connection->registered = true;
        agents_[id] = connection;
        update_connected_gauge();
    }
    if (replaced) {
        metrics_.add("agents.replaced");
        refuse(replaced, ErrorCode::IdInUse, "replaced by a newer registration of '" + id + "'", nullptr);
    }
    return true;
}

std::string Hub::new_session_id() {
    uint64_t value;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        value = session_random_();
    }
    char text[17];
    std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(value));
    return text;
}

} // namespace om::server
