// The STUN server's address helpers; sockaddr conversions are proto/socket_address.h.
#pragma once

#include "proto/address.h"

#include <orbitmesh/plugin.h>

#include <netinet/in.h>
#include <sys/socket.h>

#include <string>

namespace om::server::stun_net {

// "1.2.3.4" or "::1" plus a port; throws om::Error (OM_ERR_INVALID_ARGUMENT) when not an IP.
om_address parse_ip(const std::string& ip, uint16_t port);
using proto::same_ip;
bool is_wildcard(const om_address& a);

} // namespace om::server::stun_net
