// Host candidates (RFC 8445 §5.1.1.1) for the agent's one UDP socket: the socket's own address
// when it is bound to one, else every usable interface address of the socket's family (both
// families on a dual-stack "[::]" socket), minus loopback, link-local and excluded interfaces.
#pragma once

#include "proto/candidate.h"

#include <string>
#include <vector>

namespace om::ice {

struct InterfaceAddress {
    std::string name;  // "eth0"
    om_address address{};
    bool up = false;
    bool loopback = false;
};

// The machine's interface addresses (getifaddrs). Throws om::Error(OM_ERR_IO) on failure.
std::vector<InterfaceAddress> list_interface_addresses();

// "docker0,veth*" -> true for "docker0" and "veth1a2b"; empty spec excludes nothing.
bool interface_excluded(const std::string& name, const std::string& exclude_spec);

// bound: the socket's local address (port set). Bound to one address -> that address alone
// (loopback included). Bound to 0.0.0.0 -> each up, non-loopback IPv4 of `interfaces` (not
// 169.254/16); bound to :: -> the IPv6 ones (not fe80::/10) and, dual-stack, the IPv4 ones.
// Every candidate gets bound's port. Local preferences give IPv6 precedence (RFC 8421) and keep
// the interfaces' order; no address appears twice.
std::vector<proto::ice::Candidate> host_candidates(const om_address& bound, const std::vector<InterfaceAddress>& interfaces,
                                                   const std::string& exclude_spec);

} // namespace om::ice
