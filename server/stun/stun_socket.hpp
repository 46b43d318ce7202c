// Opening the STUN server's UDP sockets. SO_REUSEPORT lets several receive threads share
// (A1,P1), but it would also let a second server process of the same user share the port
// silently: port_is_free() first binds without it, so a port in use fails start with a clear
// error instead.
#pragma once

#include <orbitmesh/plugin.h>

#include <cstdint>
#include <string>

namespace om::server::stun_net {

// A bound non-blocking UDP socket (close-on-exec); a wildcard IPv6 address serves IPv6 only.
// Throws om::Error(OM_ERR_IO) naming the address when bind fails.
int open_udp(const om_address& address, bool reuse_port, bool pktinfo);
om_address local_address(int fd);
// Binds and closes a plain socket: whether nobody holds address now. why gets errno's text.
bool port_is_free(const om_address& address, std::string* why = nullptr);
// Steers each source IP to one socket of a SO_REUSEPORT group of `group_size` (a classic BPF
// program over the source address), so one thread's rate limiter sees all of a source's
// requests. False when the kernel refused it (the kernel's 4-tuple hash is used then).
bool steer_by_source_ip(int fd, int family, uint32_t group_size);
void close_fd(int fd);

} // namespace om::server::stun_net
