// Which peer addresses the relay may send to (RFC 8656 §21.3.1 "the TURN server may be used to
// reach the server's own network"): loopback, private, link-local, CGNAT, unique-local,
// multicast, broadcast and unspecified addresses are refused unless allow_private (tests).
#pragma once

#include <orbitmesh/plugin.h>

namespace om::server {

// "" when the relay may send to it, else why not ("loopback", "private", …).
const char* refused_peer_kind(const om_address& peer, bool allow_private);

} // namespace om::server
