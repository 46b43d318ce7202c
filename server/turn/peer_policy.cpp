#include "turn/peer_policy.hpp"

#include <algorithm>

namespace om::server {

const char* refused_peer_kind(const om_address& peer, bool allow_private)
{
    const uint8_t* b = peer.bytes;
    if (peer.family == 4) {
        if (b[0] == 0 || (b[0] == 255 && b[1] == 255 && b[2] == 255 && b[3] == 255)) return "unspecified or broadcast";
        if (b[0] >= 224) return "multicast or reserved";
        if (allow_private) return "";
        if (b[0] == 127) return "loopback";
        if (b[0] == 10 || (b[0] == 172 && (b[1] & 0xF0) == 16) || (b[0] == 192 && b[1] == 168)) return "private";
        if (b[0] == 169 && b[1] == 254) return "link-local";
        if (b[0] == 100 && (b[1] & 0xC0) == 64) return "shared (CGNAT)";  // RFC 6598
        return "";
    }
    if (peer.family == 6) {
        const bool zero_prefix = std::all_of(b, b + 15, [](uint8_t x) { return x == 0; });
        if (zero_prefix && b[15] == 0) return "unspecified or broadcast";
        if (b[0] == 0xFF) return "multicast or reserved";
        // IPv4-mapped: judged as the IPv4 address it carries would be.
        if (std::all_of(b, b + 10, [](uint8_t x) { return x == 0; }) && b[10] == 0xFF && b[11] == 0xFF) {
            om_address v4{};
            v4.family = 4;
            std::copy(b + 12, b + 16, v4.bytes);
            return refused_peer_kind(v4, allow_private);
        }
        if (allow_private) return "";
        if (zero_prefix && b[15] == 1) return "loopback";
        if ((b[0] & 0xFE) == 0xFC) return "private";                 // fc00::/7 unique local
        if (b[0] == 0xFE && (b[1] & 0xC0) == 0x80) return "link-local";  // fe80::/10
        return "";
    }
    return "unspecified or broadcast";
}

} // namespace om::server
