#include "stun/socket_address.hpp"

#include "core/error.h"

#include <arpa/inet.h>

#include <cstring>

namespace om::server::stun_net {

om_address parse_ip(const std::string& ip, uint16_t port) {
    om_address out{};
    out.port = port;
    if (inet_pton(AF_INET, ip.c_str(), out.bytes) == 1) {
        out.family = 4;
    } else if (inet_pton(AF_INET6, ip.c_str(), out.bytes) == 1) {
        out.family = 6;
    } else {
        om::fail(OM_ERR_INVALID_ARGUMENT, "expected an IP address, got '" + ip + "'");
    }
    return out;
}

bool is_wildcard(const om_address& a) {
    static const uint8_t zeros[16] = {};
    return std::memcmp(a.bytes, zeros, a.family == 4 ? 4 : 16) == 0;
}

} // namespace om::server::stun_net
