#include "proto/socket_address.h"

#include <netinet/in.h>

#include <cstring>

namespace om::proto {
namespace {

constexpr uint16_t kFamilyV4 = 4;
constexpr uint16_t kFamilyV6 = 6;
constexpr uint8_t kV4MappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

void fill_v4(const om_address& in, SocketAddress& out) noexcept
{
    auto* sin = reinterpret_cast<sockaddr_in*>(&out.storage);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(in.port);
    std::memcpy(&sin->sin_addr, in.bytes, 4);
    out.length = sizeof(sockaddr_in);
}

void fill_v6(const om_address& in, SocketAddress& out) noexcept
{
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&out.storage);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(in.port);
    if (in.family == kFamilyV4) {
        std::memcpy(sin6->sin6_addr.s6_addr, kV4MappedPrefix, sizeof kV4MappedPrefix);
        std::memcpy(sin6->sin6_addr.s6_addr + 12, in.bytes, 4);
    } else {
        std::memcpy(sin6->sin6_addr.s6_addr, in.bytes, 16);
        sin6->sin6_scope_id = in.scope_id;
    }
    out.length = sizeof(sockaddr_in6);
}

}  // namespace

bool to_socket_address(const om_address& in, int socket_family, SocketAddress& out) noexcept
{
    out = SocketAddress{};
    if (socket_family == AF_INET && in.family == kFamilyV4) {
        fill_v4(in, out);
        return true;
    }
    if (socket_family == AF_INET6 && (in.family == kFamilyV4 || in.family == kFamilyV6)) {
        fill_v6(in, out);
        return true;
    }
    return false;
}

om_address from_socket_address(const sockaddr_storage& in) noexcept
{
    om_address out{};
    if (in.ss_family == AF_INET) {
        const auto* sin = reinterpret_cast<const sockaddr_in*>(&in);
        out.family = kFamilyV4;
        out.port = ntohs(sin->sin_port);
        std::memcpy(out.bytes, &sin->sin_addr, 4);
    } else if (in.ss_family == AF_INET6) {
        const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(&in);
        const uint8_t* raw = sin6->sin6_addr.s6_addr;
        out.port = ntohs(sin6->sin6_port);
        if (std::memcmp(raw, kV4MappedPrefix, sizeof kV4MappedPrefix) == 0) {
            out.family = kFamilyV4;
            std::memcpy(out.bytes, raw + 12, 4);
        } else {
            out.family = kFamilyV6;
            out.scope_id = sin6->sin6_scope_id;
            std::memcpy(out.bytes, raw, 16);
        }
    }
    return out;
}

}  // namespace om::proto
