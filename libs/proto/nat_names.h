// The seed's names of NAT types ("FullCone"), the RFC 4787 behaviours ("EndpointIndependent") and
// the strategies ("UdpHolePunch"): one table for the kernel, the nat-stun and strategy-matrix
// plugins and om_nat_type_name / om_nat_behavior_name. Header-only.
#pragma once

#include <orbitmesh/plugin.h>

#include <string_view>

namespace om::proto {

constexpr const char* nat_type_name(om_nat_type type) noexcept
{
    switch (type) {
    case OM_NAT_OPEN: return "Open";
    case OM_NAT_FULL_CONE: return "FullCone";
    case OM_NAT_RESTRICTED: return "Restricted";
    case OM_NAT_PORT_RESTRICTED: return "PortRestricted";
    case OM_NAT_SYMMETRIC: return "Symmetric";
    default: return "Unknown";
    }
}

constexpr const char* nat_behavior_name(om_nat_behavior behavior) noexcept
{
    switch (behavior) {
    case OM_NAT_BEHAVIOR_ENDPOINT_INDEPENDENT: return "EndpointIndependent";
    case OM_NAT_BEHAVIOR_ADDRESS_DEPENDENT: return "AddressDependent";
    case OM_NAT_BEHAVIOR_ADDRESS_AND_PORT_DEPENDENT: return "AddressAndPortDependent";
    default: return "Unknown";
    }
}

constexpr const char* strategy_name(om_strategy strategy) noexcept
{
    switch (strategy) {
    case OM_STRATEGY_DIRECT_CONNECT: return "DirectConnect";
    case OM_STRATEGY_UDP_HOLE_PUNCH: return "UdpHolePunch";
    case OM_STRATEGY_TURN_RELAY: return "TurnRelay";
    case OM_STRATEGY_SERVER_RELAY: return "ServerRelay";
    default: return "None";
    }
}

// The inverse of nat_type_name; OM_NAT_UNKNOWN for any other text.
constexpr om_nat_type nat_type_from_name(std::string_view name) noexcept
{
    for (om_nat_type type = OM_NAT_OPEN; type <= OM_NAT_SYMMETRIC; ++type)
        if (name == nat_type_name(type)) return type;
    return OM_NAT_UNKNOWN;
}

} // namespace om::proto
