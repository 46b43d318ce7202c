// The connection plan for one pair of NAT types: the seed's matrix ("Connection Strategy
// Selection") for the strategy the state reports, and the ordered steps the kernel tries.
// Pure functions, no host: the plugin and the unit tests share them.
#pragma once

#include <orbitmesh/plugin.h>

#include <stdexcept>

namespace om::strategymatrix {

// The options of om_strategy_input plus the plugin's own setting.
struct PlanOptions {
    bool prefer_p2p = true;
    bool fallback_to_relay = true;
    bool turn_available = false;
    // Beyond the seed: a Symmetric side still tries a hole punch when the other side's filter
    // can be opened (setting symmetric_direct, default on).
    bool symmetric_direct = true;
};

struct Plan {
    om_strategy strategy = OM_STRATEGY_NONE;  // the seed's matrix: what the state reports
    int32_t step_count = 0;
    om_strategy steps[OM_STRATEGY_MAX_STEPS] = {};
};

// A request no plan can answer (a NAT type out of range, every path switched off).
class PlanError : public std::invalid_argument {
public:
    using std::invalid_argument::invalid_argument;
};

// OM_NAT_UNKNOWN..OM_NAT_SYMMETRIC.
bool is_nat_type(om_nat_type type) noexcept;

// The seed's matrix, symmetric in its arguments; Unknown counts as "otherwise".
om_strategy seed_strategy(om_nat_type local, om_nat_type remote) noexcept;

// The label of the direct attempt (connectivity checks), or OM_STRATEGY_NONE when none is made.
om_strategy direct_step(om_nat_type local, om_nat_type remote, const PlanOptions& options) noexcept;

// The whole plan. Both peers compute it from their own view (local, remote) and must agree, so
// it is symmetric in local and remote. Throws PlanError for an invalid NAT type or when
// prefer_p2p and fallback_to_relay are both off.
Plan plan(om_nat_type local, om_nat_type remote, const PlanOptions& options);

}  // namespace om::strategymatrix
