// Text <-> om_address conversion shared by the kernel, the host API and the server.
#pragma once

#include <orbitmesh/plugin.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace om::proto {

// Parses "1.2.3.4:5", "[::1]:5", and a bare "1.2.3.4" or "::1" (port = default_port).
// On failure returns false and, when why is given, says what is wrong.
bool parse_address(std::string_view text, uint16_t default_port, om_address& out, std::string* why = nullptr);

// "1.2.3.4:5", "[::1]:5", "[fe80::1%2]:5"; "" for family 0.
std::string format_address(const om_address& address);

bool same_address(const om_address& a, const om_address& b);
// For unordered containers keyed by address, consistent with same_address.
struct AddressHash {
    size_t operator()(const om_address& address) const noexcept;
};
struct SameAddress {
    bool operator()(const om_address& a, const om_address& b) const noexcept { return same_address(a, b); }
};
bool is_loopback(const om_address& address);
bool is_unspecified(const om_address& address);
// Same family and IP, ignoring port and IPv6 scope (STUN and candidates carry no scope).
bool same_ip(const om_address& a, const om_address& b);
// 169.254.0.0/16 (RFC 3927) and fe80::/10.
bool is_link_local(const om_address& address);
// ::ffff:0:0/96, an IPv4 address in IPv6 clothing.
bool is_ipv4_mapped(const om_address& address);

} // namespace om::proto
