// The order in which candidate pairs get their connectivity checks.
#pragma once

#include <orbitmesh/plugin.h>

#include <span>

namespace om::strategymatrix {

// Highest RFC 8445 §6.1.2.3 pair priority first; among equal priorities IPv6 pairs before IPv4
// (RFC 8421 §4: prefer IPv6 when both work); otherwise the order given is kept (stable).
void order_pairs(std::span<om_candidate_pair_info> pairs);

}  // namespace om::strategymatrix
