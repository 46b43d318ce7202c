// The payload MTU of a bound UDP socket: the interface MTU minus the IP and UDP headers.
#pragma once

#include "proto/socket_address.h"

#include <cstdint>

namespace om::udp {

// Largest UDP payload that leaves without fragmentation from `bound` (a getsockname result):
//  - a specific address: the MTU of the interface that holds it;
//  - a wildcard: the smallest MTU of the interfaces that are up and not loopback;
//  - nothing found: a 1500-byte Ethernet link (1472 over IPv4, 1452 over IPv6).
// Never more than the largest UDP payload of the family (65507 / 65527), which is what
// loopback's 65536-byte MTU comes down to. fd (may be -1) serves the SIOCGIFMTU ioctl.
uint32_t probe_payload_mtu(const proto::SocketAddress& bound, int fd);

}  // namespace om::udp
