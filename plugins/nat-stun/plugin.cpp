// nat-stun's face to the kernel: the nat-discovery vtable and the descriptor. Every entry point
// catches everything (ABI-RULES R17).
#include "nat_stun_instance.h"

#include <orbitmesh/plugin.h>
#include <orbitmesh_plugin_support/entry_guard.h>

namespace {

using om::natstun::NatStunInstance;
using Entry = om::plugin::EntryPoints<NatStunInstance>;

int32_t nat_stun_create(const om_plugin_create_args* args, void** out_instance) noexcept
{
    return Entry::create(args, sizeof(om_plugin_create_args), out_instance);
}

void nat_stun_destroy(void* instance) noexcept { Entry::destroy(instance); }

int32_t nat_stun_start(void* instance, const om_nat_request* request) noexcept
{
    return Entry::guarded(instance, [&](NatStunInstance& n) {
        return request == nullptr ? OM_ERR_INVALID_ARGUMENT : n.start(*request);
    });
}

int32_t nat_stun_on_datagram(void* instance, const om_datagram* datagram) noexcept
{
    if (datagram == nullptr) return 0;
    return Entry::guarded(instance, [&](NatStunInstance& n) { return n.on_datagram(*datagram); });
}

void nat_stun_cancel(void* instance) noexcept
{
    if (instance != nullptr) Entry::of(instance).cancel();
}

const om_nat_discovery_vtbl kVtbl = {
    .struct_size = sizeof(om_nat_discovery_vtbl),
    .create = nat_stun_create,
    .destroy = nat_stun_destroy,
    .start = nat_stun_start,
    .on_datagram = nat_stun_on_datagram,
    .cancel = nat_stun_cancel,
};

const om_plugin_descriptor kDescriptor = {
    .struct_size = sizeof(om_plugin_descriptor),
    .abi_version = OM_PLUGIN_ABI_VERSION,
    .name = "nat-stun",
    .kind = OM_PLUGIN_KIND_NAT_DISCOVERY,
    .version = "0.1.0",
    .description = "RFC 5780 NAT behaviour discovery (mapping, filtering, hairpinning) over STUN",
    .flags = 0,
    .vtbl = &kVtbl,
    .type_data = nullptr,
    .free_type_data = nullptr,
    .functions = nullptr,
    .function_count = 0,
};

}  // namespace

// OM_PLUGIN_DEFINE declares no linkage of its own; inside extern "C" the export keeps its C name.
extern "C" {
OM_PLUGIN_DEFINE(kDescriptor)
}
