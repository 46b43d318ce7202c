#include "matrix_plan.h"

#include <string>

namespace om::strategymatrix {
namespace {

bool either(om_nat_type a, om_nat_type b, om_nat_type type) noexcept { return a == type || b == type; }

// A Symmetric NAT gives the peer a new port for every destination, so the peer can only be
// reached through the port the Symmetric side's own check opens: that works when the other
// side's filter lets an unknown port of an address in (Open, FullCone, Restricted — and
// possibly Unknown), and the other side learns the port as a peer-reflexive candidate
// (RFC 8445 §7.2.5.3.1). A port-restricted filter (or another Symmetric NAT) drops it.
bool other_side_lets_symmetric_in(om_nat_type other) noexcept
{
    return other == OM_NAT_OPEN || other == OM_NAT_FULL_CONE || other == OM_NAT_RESTRICTED ||
           other == OM_NAT_UNKNOWN;
}

}  // namespace

bool is_nat_type(om_nat_type type) noexcept { return type >= OM_NAT_UNKNOWN && type <= OM_NAT_SYMMETRIC; }

om_strategy seed_strategy(om_nat_type local, om_nat_type remote) noexcept
{
    // The seed's switch, arm by arm and in its order.
    if (either(local, remote, OM_NAT_SYMMETRIC)) return OM_STRATEGY_TURN_RELAY;
    if (either(local, remote, OM_NAT_OPEN)) return OM_STRATEGY_DIRECT_CONNECT;
    if (either(local, remote, OM_NAT_FULL_CONE)) return OM_STRATEGY_DIRECT_CONNECT;
    return OM_STRATEGY_UDP_HOLE_PUNCH;
}

om_strategy direct_step(om_nat_type local, om_nat_type remote, const PlanOptions& options) noexcept
{
    if (!options.prefer_p2p) return OM_STRATEGY_NONE;
    const om_strategy seed = seed_strategy(local, remote);
    if (seed != OM_STRATEGY_TURN_RELAY) return seed;
    // A Symmetric side from here on.
    if (!options.fallback_to_relay) return OM_STRATEGY_UDP_HOLE_PUNCH;  // the only path left: nothing to lose
    if (!options.symmetric_direct) return OM_STRATEGY_NONE;             // the seed: straight to the relay
    const om_nat_type other = local == OM_NAT_SYMMETRIC ? remote : local;
    return other_side_lets_symmetric_in(other) ? OM_STRATEGY_UDP_HOLE_PUNCH : OM_STRATEGY_NONE;
}

Plan plan(om_nat_type local, om_nat_type remote, const PlanOptions& options)
{
    if (!is_nat_type(local) || !is_nat_type(remote))
        throw PlanError("NAT types must be 0 (Unknown) to 5 (Symmetric); got local " + std::to_string(local) +
                        ", remote " + std::to_string(remote));
    if (!options.prefer_p2p && !options.fallback_to_relay)
        throw PlanError("prefer_p2p and fallback_to_relay are both off: no path is allowed");

    Plan p;
    p.strategy = seed_strategy(local, remote);
    const auto add = [&p](om_strategy step) { p.steps[p.step_count++] = step; };
    if (const om_strategy direct = direct_step(local, remote, options); direct != OM_STRATEGY_NONE) add(direct);
    if (options.fallback_to_relay) {
        if (options.turn_available) add(OM_STRATEGY_TURN_RELAY);
        add(OM_STRATEGY_SERVER_RELAY);
    }
    return p;
}

}  // namespace om::strategymatrix
