// Host name or numeric address -> om_address, shared by the signaling socket and the STUN
// server lookup. Blocks in getaddrinfo for names: call it off the loop thread where possible.
#pragma once

#include <orbitmesh/plugin.h>

#include <cstdint>
#include <string>

namespace om {

// A numeric address is parsed without the resolver; a name takes the first IPv4 answer (else
// IPv6), or the first of `prefer_family` (4 or 6) when given. Throws om::Error(OM_ERR_UNREACHABLE).
om_address resolve_host(const std::string& host, uint16_t port, int prefer_family = 0);

} // namespace om
