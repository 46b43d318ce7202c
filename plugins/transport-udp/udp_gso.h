// UDP segmentation offload constants (Linux 4.18+ / 5.0+), for C libraries whose headers predate
// them: UDP_SEGMENT (GSO on send) and UDP_GRO (coalesced receive), both at SOL_UDP.
#pragma once

#include <netinet/in.h>
#include <netinet/udp.h>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif
#ifndef SOL_UDP
#define SOL_UDP IPPROTO_UDP
#endif
