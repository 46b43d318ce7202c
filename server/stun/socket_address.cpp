#include "stun/socket_address.hpp"

#include "core/error.h"

#include <arpa/inet.h>

#include <cstring>

namespace om::server::stun_net {

om_address to_om_address(const sockaddr_storage& sa) {
    om_address out{};
    if (sa.ss_family == AF_INET) {
        const auto& v4 = reinterpret_cast<const sockaddr_in&>(sa);
        out.family = 4;
        out.port = ntohs(v4.sin_port);
        std::memcpy(out.bytes, &v4.sin_addr, 4);
    } else if (sa.ss_family == AF_INET6) {
        const auto& v6 = reinterpret_cast<const sockaddr_in6&>(sa);
        out.family = 6;
        out.port = ntohs(v6.sin6_port);
        out.scope_id = v6.sin6_scope_id;
        std::memcpy(out.bytes, &v6.sin6_addr, 16);
    }
    return out;
}

socklen_t to_sockaddr(const om_address& address, sockaddr_storage& out) {
    std::memset(&out, 0, sizeof out);
    if (address.family == 4) {
        auto& v4 = reinterpret_cast<sockaddr_in&>(out);
        v4.sin_family = AF_INET;
        v4.sin_port = htons(address.port);
        std::memcpy(&v4.sin_addr, address.bytes, 4);
        return sizeof(sockaddr_in);
    }
    auto& v6 = reinterpret_cast<sockaddr_in6&>(out);
    v6.sin6_family = AF_INET6;
    v6.sin6_port = htons(address.port);
    v6.sin6_scope_id = address.scope_id;
    std::memcpy(&v6.sin6_addr, address.bytes, 16);
    return sizeof(sockaddr_in6);
}

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

bool same_ip(const om_address& a, const om_address& b) {
    return a.family == b.family && std::memcmp(a.bytes, b.bytes, a.family == 4 ? 4 : 16) == 0;
}

bool is_wildcard(const om_address& a) {
    static const uint8_t zeros[16] = {};
    return std::memcmp(a.bytes, zeros, a.family == 4 ? 4 : 16) == 0;
}

} // namespace om::server::stun_net
