// strategy-matrix's face to the kernel: the strategy vtable, the "explain" extension method and
// the descriptor. Every entry point catches everything (ABI-RULES R17).
#include "strategy_instance.h"

#include <orbitmesh/plugin.h>
#include <orbitmesh_plugin_support/entry_guard.h>

namespace {

using om::strategymatrix::StrategyInstance;
using Entry = om::plugin::EntryPoints<StrategyInstance>;

int32_t matrix_create(const om_plugin_create_args* args, void** out_instance) noexcept
{
    return Entry::create(args, sizeof(om_plugin_create_args), out_instance);
}

void matrix_destroy(void* instance) noexcept { Entry::destroy(instance); }

int32_t matrix_choose(void* instance, const om_strategy_input* input, om_strategy_output* output) noexcept
{
    return Entry::guarded(instance, [&](StrategyInstance& s) { return s.choose(input, output); });
}

int32_t matrix_order_pairs(void* instance, const om_strategy_input* /*input*/, om_candidate_pair_info* pairs,
                           size_t count) noexcept
{
    return Entry::guarded(instance, [&](StrategyInstance& s) { return s.order_pairs(pairs, count); });
}

// "status(i32,i32,out_i32,out_i32)"
int32_t matrix_explain(void* instance, int32_t local, int32_t remote, int32_t* out_strategy,
                       int32_t* out_direct) noexcept
{
    return Entry::guarded(instance,
                          [&](StrategyInstance& s) { return s.explain(local, remote, out_strategy, out_direct); });
}

const om_strategy_vtbl kVtbl = {
    .struct_size = sizeof(om_strategy_vtbl),
    .create = matrix_create,
    .destroy = matrix_destroy,
    .choose = matrix_choose,
    .order_pairs = matrix_order_pairs,
};

// Keep in agreement with strategy-matrix.om.json.
const om_plugin_function kFunctions[] = {
    {"explain", "status(i32,i32,out_i32,out_i32)", om::plugin::as_plugin_function(matrix_explain),
     "Plan for (local NAT, remote NAT) with prefer_p2p and fallback on: reported strategy, direct step (0 none)"},
};

const om_plugin_descriptor kDescriptor = {
    .struct_size = sizeof(om_plugin_descriptor),
    .abi_version = OM_PLUGIN_ABI_VERSION,
    .name = "strategy-matrix",
    .kind = OM_PLUGIN_KIND_STRATEGY,
    .version = "0.1.0",
    .description = "The seed's NAT matrix, with hole punching for Symmetric NATs that can be reached",
    .flags = 0,
    .vtbl = &kVtbl,
    .type_data = nullptr,
    .free_type_data = nullptr,
    .functions = kFunctions,
    .function_count = sizeof kFunctions / sizeof kFunctions[0],
};

}  // namespace

// OM_PLUGIN_DEFINE declares no linkage of its own; inside extern "C" the export keeps its C name.
extern "C" {
OM_PLUGIN_DEFINE(kDescriptor)
}
