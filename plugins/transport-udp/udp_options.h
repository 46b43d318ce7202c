// transport-udp's settings from the agent's plugin_options ("transport-udp.<key>=value").
#pragma once

#include "udp_socket.h"

#include <orbitmesh_plugin_support/host_services.h>

namespace om::udp {

// 4 MiB each way absorbs bursts at high packet rates; the kernel grants what its limits allow.
inline constexpr uint32_t kDefaultSocketBuffer = 4u << 20;

struct UdpOptions {
    SocketBuffers buffers{kDefaultSocketBuffer, kDefaultSocketBuffer};
    bool gso = true;  // UDP_SEGMENT: a run of equal-size datagrams to one peer in one message
    bool gro = true;  // UDP_GRO: coalesced reads, split again before the sink
};

// Reads rcvbuf and sndbuf (bytes, 1..2147483647), gso and gro (0 or 1). Throws PluginError
// naming the key of a bad value.
UdpOptions read_options(const plugin::HostServices& host);

}  // namespace om::udp
