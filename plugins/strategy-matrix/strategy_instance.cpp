#include "strategy_instance.h"

#include "matrix_plan.h"
#include "matrix_pairs.h"
#include "proto/nat_names.h"

#include <orbitmesh_plugin_support/plugin_error.h>
#include <orbitmesh_plugin_support/struct_size.h>

#include <span>
#include <string>

namespace om::strategymatrix {

using plugin::PluginError;

namespace {

using plugin::covers;

Settings read_settings(const plugin::HostServices& host)
{
    try {
        return parse_settings([&](const char* key) { return host.config(key); });
    } catch (const SettingsError& error) {
        throw PluginError(OM_ERR_INVALID_ARGUMENT, error.what());
    }
}


Plan plan_or_throw(om_nat_type local, om_nat_type remote, const PlanOptions& options)
{
    try {
        return plan(local, remote, options);
    } catch (const PlanError& error) {
        throw PluginError(OM_ERR_INVALID_ARGUMENT, error.what());
    }
}

}  // namespace

StrategyInstance::StrategyInstance(const om_plugin_create_args& args)
    : host_(args.host, args.ctx), settings_(read_settings(host_))
{
}

int32_t StrategyInstance::choose(const om_strategy_input* input, om_strategy_output* output)
{
    if (input == nullptr || output == nullptr)
        throw PluginError(OM_ERR_INVALID_ARGUMENT, "choose needs an input and an output");
    // Every field read here has been in om_strategy_input since ABI 1.0; `initiator` is not
    // needed (both peers must reach the same plan), so a host may stop before it.
    if (!covers(*input, &om_strategy_input::turn_available))
        throw PluginError(OM_ERR_INVALID_ARGUMENT, "om_strategy_input.struct_size " + std::to_string(input->struct_size) +
                                                       " is too small");
    if (!covers(*output, &om_strategy_output::steps))
        throw PluginError(OM_ERR_INVALID_ARGUMENT, "om_strategy_output.struct_size " +
                                                       std::to_string(output->struct_size) + " is too small");

    PlanOptions options;
    options.prefer_p2p = input->prefer_p2p != 0;
    options.fallback_to_relay = input->fallback_to_relay != 0;
    options.turn_available = input->turn_available != 0;
    options.symmetric_direct = settings_.symmetric_direct;
    const Plan p = plan_or_throw(input->local_nat, input->remote_nat, options);

    output->strategy = p.strategy;
    output->step_count = p.step_count;
    for (int32_t i = 0; i < OM_STRATEGY_MAX_STEPS; ++i) output->steps[i] = i < p.step_count ? p.steps[i] : OM_STRATEGY_NONE;
    host_.counter_add((std::string("choices.") + proto::strategy_name(p.strategy)).c_str(), 1);
    return OM_OK;
}

int32_t StrategyInstance::order_pairs(om_candidate_pair_info* pairs, size_t count)
{
    if (count == 0) return OM_OK;
    if (pairs == nullptr) throw PluginError(OM_ERR_INVALID_ARGUMENT, "order_pairs: pairs is NULL with a count above 0");
    strategymatrix::order_pairs(std::span<om_candidate_pair_info>(pairs, count));
    return OM_OK;
}

int32_t StrategyInstance::explain(int32_t local, int32_t remote, int32_t* out_strategy, int32_t* out_direct) const
{
    if (out_strategy == nullptr || out_direct == nullptr)
        throw PluginError(OM_ERR_INVALID_ARGUMENT, "explain needs both out parameters");
    PlanOptions options;
    options.symmetric_direct = settings_.symmetric_direct;
    const Plan p = plan_or_throw(local, remote, options);
    *out_strategy = p.strategy;
    *out_direct = direct_step(local, remote, options);
    return OM_OK;
}

}  // namespace om::strategymatrix
