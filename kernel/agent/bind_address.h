// Which local address the agent's socket binds to.
#pragma once

#include <string>

namespace om {

// bind_address given: it, with ":0" when it has no port. Otherwise 127.0.0.1:0 when there is no
// server or the server is on loopback (so local tests never touch another interface), [::1]:0
// for an IPv6 loopback server, else the wildcard 0.0.0.0:0.
// Throws om::Error(OM_ERR_INVALID_ARGUMENT) for an address or URL it cannot read.
std::string resolve_bind_address(const char* bind_address, const char* server_url);

} // namespace om
