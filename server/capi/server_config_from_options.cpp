#include "capi/server_config_from_options.hpp"

#include "core/error.h"

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
    // TURN and Redis are later issues: until they work, setting any of their fields answers
    // OM_ERR_NOT_SUPPORTED naming it rather than being silently ignored.
    const om_server_options defaults = OM_SERVER_OPTIONS_INIT;
    auto set = [](const char* text) { return text && *text; };
    const std::pair<const char*, bool> unbuilt[] = {
        {"enable_turn_relay", o.enable_turn_relay != 0},
        {"turn_realm", set(o.turn_realm)},
        {"turn_users", set(o.turn_users)},
        {"turn_secret", set(o.turn_secret)},
        {"turn_min_port", o.turn_min_port != defaults.turn_min_port},
        {"turn_max_port", o.turn_max_port != defaults.turn_max_port},
        {"turn_allow_loopback_peers", o.turn_allow_loopback_peers != 0},
    };
    for (const auto& [name, given] : unbuilt)
        if (given) om::fail(OM_ERR_NOT_SUPPORTED, std::string(name) + ": the TURN relay is not yet supported");
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
    return c;
}

} // namespace om::server
