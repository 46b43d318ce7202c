// Checks that involve more than one option, or an address.
#include "server_options.hpp"

#include <arpa/inet.h>

#include <utility>

namespace om::server {
namespace {

bool is_ip(const std::string& text) {
    in_addr v4{};
    in6_addr v6{};
    return inet_pton(AF_INET, text.c_str(), &v4) == 1 || inet_pton(AF_INET6, text.c_str(), &v6) == 1;
}

bool is_wildcard(const std::string& text) { return text == "0.0.0.0" || text == "::"; }

} // namespace

std::string validate_server_options(const ServerOptions& o) {
    if (!o.secret.empty() && o.open) return "--secret and --open exclude each other";
    if (o.secret.empty() && !o.open)
        return "agents need --secret SECRET (their tokens are signed with it), or --open for loopback demos";
    if (!is_ip(o.bind)) return "--bind: expected an IP address, got '" + o.bind + "'";
    if (!o.stun_alt_address.empty()) {
        if (!is_ip(o.stun_alt_address))
            return "--stun-alt-address: expected an IP address, got '" + o.stun_alt_address + "'";
        if (is_wildcard(o.bind))
            return "--bind must be a concrete address when --stun-alt-address is given";
        if (o.stun_alt_address == o.bind)
            return "--stun-alt-address must differ from --bind";
    }
    if ((!o.stun_alt_address.empty() || o.stun_alt_port != 0) && o.stun_port == 0)
        return "--stun-alt-address and --stun-alt-port need the STUN server (--stun-port is 0)";
    if (o.stun_alt_port > 0 && o.stun_alt_port == o.stun_port)
        return "--stun-alt-port must differ from --stun-port";
    if (o.turn_min_port > o.turn_max_port)
        return "--turn-min-port " + std::to_string(o.turn_min_port) + " is above --turn-max-port " +
               std::to_string(o.turn_max_port);
    if (o.send_queue_bytes < o.max_frame_bytes)
        return "--send-queue-bytes must be at least --max-frame-bytes";
    // The TURN relay's own rules are checked where every caller meets them (om_server_create).
    if (!o.redis.empty()) return "--redis: Redis is not yet supported";
    return "";
}

} // namespace om::server
