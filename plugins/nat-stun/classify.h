// The seed's NAT types from RFC 4787 behaviours, in one pure function (table-tested in
// tests/unit/test_nat_stun_classify.cpp).
#pragma once

#include <orbitmesh/plugin.h>  // om_nat_type, OM_NAT_BEHAVIOR_*

namespace om::natstun {

// answered: Test I got a response; mapped_is_local: the mapped address equals the socket's own
// address (no NAT). Then:
//   no answer                         -> Unknown
//   mapped == local                   -> Open
//   EIM + EIF                         -> FullCone
//   EIM + address-dependent filtering -> Restricted
//   EIM + address-and-port-dependent  -> PortRestricted
//   mapping not endpoint-independent  -> Symmetric (whatever the filtering)
//   otherwise (a behaviour unknown)   -> Unknown
om_nat_type classify(bool answered, bool mapped_is_local, om_nat_behavior mapping, om_nat_behavior filtering) noexcept;

// Names for logs and messages: om::proto::nat_type_name / nat_behavior_name (proto/nat_names.h).

}  // namespace om::natstun
