#include "capi/server_config_from_options.hpp"

#include "core/error.h"
#include "proto/address.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>

namespace om::server {
namespace {

void require(bool ok, const std::string& what) {
    if (!ok) om::fail(OM_ERR_INVALID_ARGUMENT, what);
}

// Reads only what the caller's struct_size covers; the defaults fill the rest.
om_server_options complete(const om_server_options& options) {
    require(options.struct_size >= offsetof(om_server_options, bind), "om_server_options.struct_size is too small");
    if (options.struct_size > sizeof(om_server_options)) {
        const auto* bytes = reinterpret_cast<const unsigned char*>(&options);
        for (size_t i = sizeof(om_server_options); i < options.struct_size; ++i)
            require(bytes[i] == 0, "om_server_options is newer than this library and sets fields it does not know");
    }
    om_server_options full = OM_SERVER_OPTIONS_INIT;
    std::memcpy(&full, &options, std::min<size_t>(options.struct_size, sizeof full));
    return full;
}

bool is_ip(const std::string& text) {
    in6_addr any{};
    return inet_pton(AF_INET, text.c_str(), &any) == 1 || inet_pton(AF_INET6, text.c_str(), &any) == 1;
}

bool is_wildcard(const std::string& text) { return text == "0.0.0.0" || text == "::"; }

} // namespace

ServerConfig config_from_options(const om_server_options& raw) {
    om_server_options o = complete(raw);
    ServerConfig c;
    c.bind = o.bind ? o.bind : "0.0.0.0";
    require(o.http_port >= 0 && o.http_port <= 65535, "http_port must be 0..65535");
    c.http_port = o.http_port;
    c.secret = o.secret ? o.secret : "";
    c.open = o.open != 0;
    require(!(c.open && !c.secret.empty()), "secret and open exclude each other");
    require(c.open || !c.secret.empty(), "a secret is needed unless open is set");
    c.replace_existing_id = o.replace_existing_id != 0;
    require(o.max_frame_bytes >= 1024, "max_frame_bytes must be at least 1024");
    c.max_frame_bytes = static_cast<size_t>(o.max_frame_bytes);
    require(o.relay_bytes_per_s >= 0, "relay_bytes_per_s must not be negative");
    c.relay_bytes_per_s = static_cast<uint64_t>(o.relay_bytes_per_s);
    require(o.send_queue_bytes >= o.max_frame_bytes, "send_queue_bytes must hold at least one max_frame_bytes message");
    c.send_queue_bytes = static_cast<size_t>(o.send_queue_bytes);
    require(o.reactor_threads >= 0 && o.reactor_threads <= 64, "reactor_threads must be 0..64");
    c.reactor_threads = o.reactor_threads;
    auto set = [](const char* text) { return text && *text; };
    // Time-limited TURN credentials for registered agents (coturn's use-auth-secret scheme).
    c.turn_secret = set(o.turn_secret) ? o.turn_secret : "";
    require(o.turn_credential_ttl_s >= 60 && o.turn_credential_ttl_s <= 30 * 86400,
            "turn_credential_ttl_s must be 60..2592000");
    c.turn_credential_ttl_s = static_cast<uint32_t>(o.turn_credential_ttl_s);
    c.turn_address = set(o.turn_address) ? o.turn_address : "";
    if (!c.turn_address.empty()) {
        om_address parsed{};
        require(proto::parse_address(c.turn_address, 0, parsed) && parsed.port != 0,
                "turn_address must be IP:PORT, got '" + c.turn_address + "'");
        require(!c.turn_secret.empty(), "turn_address is handed out with time-limited credentials: it needs turn_secret");
    }
    c.turn_relay_enabled = o.enable_turn_relay != 0;
    require(c.turn_secret.empty() || c.turn_relay_enabled || !c.turn_address.empty(),
            "turn_secret needs the embedded relay (enable_turn_relay) or a turn_address to hand out");
    if (set(o.redis_url)) om::fail(OM_ERR_NOT_SUPPORTED, "redis_url: Redis is not yet supported");
    return c;
}

StunConfig stun_config_from_options(const om_server_options& raw) {
    om_server_options o = complete(raw);
    StunConfig c;
    c.bind = o.bind ? o.bind : "0.0.0.0";
    require(is_ip(c.bind), "bind must be an IP address, got '" + c.bind + "'");
    require(o.stun_port >= -1 && o.stun_port <= 65535, "stun_port must be -1 (a free port), 0 (off) or 1..65535");
    c.port = o.stun_port;
    require(o.stun_alt_port >= -1 && o.stun_alt_port <= 65535,
            "stun_alt_port must be -1 (a free port), 0 (none) or 1..65535");
    c.alt_port = o.stun_alt_port;
    c.alt_address = o.stun_alt_address ? o.stun_alt_address : "";
    if (!c.alt_address.empty()) {
        require(is_ip(c.alt_address), "stun_alt_address must be an IP address, got '" + c.alt_address + "'");
        require(!is_wildcard(c.bind), "bind must be a concrete address when stun_alt_address is set");
        require(c.alt_address != c.bind, "stun_alt_address must differ from bind");
    }
    require(c.port != 0 || (c.alt_address.empty() && c.alt_port == 0),
            "stun_alt_address and stun_alt_port need the STUN server (stun_port is 0)");
    require(c.alt_port <= 0 || c.alt_port != c.port, "stun_alt_port must differ from stun_port");
    require(o.stun_rate_limit >= 0 && o.stun_rate_limit <= 1000000, "stun_rate_limit must be 0..1000000");
    c.rate_limit = o.stun_rate_limit;
    require(o.stun_threads >= 0 && o.stun_threads <= 64, "stun_threads must be 0..64");
    c.threads = o.stun_threads;
    c.turn = turn_config_from_options(o);
    require(!c.turn.enabled || c.port != 0, "enable_turn_relay needs the STUN server (stun_port is 0): TURN runs on its port");
    require(!c.turn.enabled || !is_wildcard(c.bind),
            "enable_turn_relay needs a concrete bind address (relayed addresses are on it)");
    return c;
}

TurnConfig turn_config_from_options(const om_server_options& o) {
    auto set = [](const char* text) { return text && *text; };
    TurnConfig t;
    t.enabled = o.enable_turn_relay != 0;
    if (set(o.turn_realm)) t.realm = o.turn_realm;
    require(t.realm.size() < 128, "turn_realm must be shorter than 128 characters");
    if (set(o.turn_users)) {
        // "name:pass" entries separated by ';' (a password may contain ':').
        std::string all = o.turn_users;
        size_t at = 0;
        while (at <= all.size()) {
            const size_t end = std::min(all.find(';', at), all.size());
            const std::string entry = all.substr(at, end - at);
            const size_t colon = entry.find(':');
            require(colon != std::string::npos && colon > 0 && colon + 1 < entry.size(),
                    "turn_users: expected name:pass entries separated by ';', got '" + entry + "'");
            t.users.emplace_back(entry.substr(0, colon), entry.substr(colon + 1));
            at = end + 1;
        }
    }
    t.secret = set(o.turn_secret) ? o.turn_secret : "";
    require(o.turn_min_port >= 1024 && o.turn_max_port <= 65535 && o.turn_min_port <= o.turn_max_port,
            "turn_min_port and turn_max_port must make a range within 1024..65535");
    t.min_port = o.turn_min_port;
    t.max_port = o.turn_max_port;
    t.allow_loopback_peers = o.turn_allow_loopback_peers != 0;
    require(o.turn_max_allocations >= 1, "turn_max_allocations must be at least 1");
    require(o.turn_user_quota >= 1, "turn_user_quota must be at least 1");
    require(o.turn_bytes_per_s >= 0, "turn_bytes_per_s must not be negative");
    t.max_allocations = static_cast<uint32_t>(o.turn_max_allocations);
    t.user_quota = static_cast<uint32_t>(o.turn_user_quota);
    t.bytes_per_s = static_cast<uint64_t>(o.turn_bytes_per_s);
    require(!t.enabled || !t.users.empty() || !t.secret.empty(),
            "enable_turn_relay needs turn_users or turn_secret: the relay never runs without credentials");
    require(t.enabled || (t.users.empty() && !o.turn_allow_loopback_peers),
            "turn_users and turn_allow_loopback_peers configure the embedded relay: set enable_turn_relay");
    return t;
}

} // namespace om::server
