#include "classify.h"

namespace om::natstun {

om_nat_type classify(bool answered, bool mapped_is_local, om_nat_behavior mapping, om_nat_behavior filtering) noexcept
{
    if (!answered) return OM_NAT_UNKNOWN;
    if (mapped_is_local) return OM_NAT_OPEN;
    if (mapping == OM_NAT_BEHAVIOR_ADDRESS_DEPENDENT || mapping == OM_NAT_BEHAVIOR_ADDRESS_AND_PORT_DEPENDENT)
        return OM_NAT_SYMMETRIC;  // RFC 4787 §4.1: the mapping depends on the destination
    if (mapping != OM_NAT_BEHAVIOR_ENDPOINT_INDEPENDENT) return OM_NAT_UNKNOWN;
    switch (filtering) {
    case OM_NAT_BEHAVIOR_ENDPOINT_INDEPENDENT: return OM_NAT_FULL_CONE;
    case OM_NAT_BEHAVIOR_ADDRESS_DEPENDENT: return OM_NAT_RESTRICTED;
    case OM_NAT_BEHAVIOR_ADDRESS_AND_PORT_DEPENDENT: return OM_NAT_PORT_RESTRICTED;
    default: return OM_NAT_UNKNOWN;
    }
}

}  // namespace om::natstun
