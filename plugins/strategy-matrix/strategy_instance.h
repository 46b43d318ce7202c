// One strategy-matrix instance: the settings read at creation, and the vtable calls checked
// against the C structs (struct_size, ranges) before the pure plan (matrix_plan.h) answers them.
#pragma once

#include "matrix_settings.h"

#include <orbitmesh/plugin.h>
#include <orbitmesh_plugin_support/host_services.h>

#include <cstddef>
#include <cstdint>

namespace om::strategymatrix {

class StrategyInstance {
public:
    // Reads and validates the settings (the kernel refuses keys not read by now). Throws PluginError.
    explicit StrategyInstance(const om_plugin_create_args& args);

    // Fills output (all but its struct_size) and counts "choices.<strategy>". Throws PluginError
    // (OM_ERR_INVALID_ARGUMENT) for a bad input, a short output or no allowed path.
    int32_t choose(const om_strategy_input* input, om_strategy_output* output);
    // Reorders pairs in place (matrix_pairs.h).
    int32_t order_pairs(om_candidate_pair_info* pairs, size_t count);
    // Extension method "explain": the plan for (local, remote) with the default options
    // (prefer_p2p, fallback_to_relay, no TURN): the strategy reported and the direct step tried
    // first (OM_STRATEGY_NONE when straight to the relay).
    int32_t explain(int32_t local, int32_t remote, int32_t* out_strategy, int32_t* out_direct) const;

    const Settings& settings() const noexcept { return settings_; }
    void report_error(const char* message) const noexcept { host_.set_error(message); }

private:
    plugin::HostServices host_;
    Settings settings_;
};

}  // namespace om::strategymatrix
