// Conversions between the ABI's om_address and the kernel's sockaddr forms: one implementation
// for the UDP transport, the STUN server, the agent and the tests.
#pragma once

#include <orbitmesh/plugin.h>

#include <sys/socket.h>

namespace om::proto {

struct SocketAddress {
    sockaddr_storage storage{};
    socklen_t length = 0;

    int family() const noexcept { return storage.ss_family; }
    const sockaddr* get() const noexcept { return reinterpret_cast<const sockaddr*>(&storage); }
};

// Fills out for a socket of socket_family (AF_INET or AF_INET6). An IPv4 address on an IPv6
// socket becomes v4-mapped (::ffff:a.b.c.d), so a dual-stack socket reaches IPv4 peers.
// Returns false when the address cannot be reached from that socket family.
bool to_socket_address(const om_address& in, int socket_family, SocketAddress& out) noexcept;

// The om_address of a kernel address; v4-mapped IPv6 comes back as plain IPv4 so peers are
// named the same whichever socket family received them. family 0 for anything else.
om_address from_socket_address(const sockaddr_storage& in) noexcept;

}  // namespace om::proto
