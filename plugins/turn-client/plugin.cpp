// turn-client's face to the kernel: the TURN vtable and the descriptor. Every entry point
// catches everything (ABI-RULES R17).
#include "turn_client_instance.h"

#include <orbitmesh/plugin.h>
#include <orbitmesh_plugin_support/entry_guard.h>

namespace {

using om::turnclient::TurnClientInstance;
using Entry = om::plugin::EntryPoints<TurnClientInstance>;

int32_t turn_create(const om_plugin_create_args* args, void** out_instance) noexcept
{
    return Entry::create(args, sizeof(om_plugin_create_args), out_instance);
}

void turn_destroy(void* instance) noexcept { Entry::destroy(instance); }

int32_t turn_allocate(void* instance, const om_turn_request* request) noexcept
{
    return Entry::guarded(instance, [&](TurnClientInstance& t) {
        return request == nullptr ? OM_ERR_INVALID_ARGUMENT : t.allocate(*request);
    });
}

int32_t turn_create_permission(void* instance, const om_address* peer) noexcept
{
    return Entry::guarded(instance, [&](TurnClientInstance& t) {
        return peer == nullptr ? OM_ERR_INVALID_ARGUMENT : t.create_permission(*peer);
    });
}

int32_t turn_send(void* instance, const om_datagram* datagram) noexcept
{
    return Entry::guarded(instance, [&](TurnClientInstance& t) {
        return datagram == nullptr ? OM_ERR_INVALID_ARGUMENT : t.send(*datagram);
    });
}

int32_t turn_on_datagram(void* instance, const om_datagram* datagram) noexcept
{
    if (datagram == nullptr) return 0;
    return Entry::guarded(instance, [&](TurnClientInstance& t) { return t.on_datagram(*datagram); });
}

void turn_release(void* instance) noexcept
{
    if (instance != nullptr) Entry::of(instance).release();
}

int32_t turn_reflexive_address(void* instance, om_address* out) noexcept
{
    return Entry::guarded(instance, [&](TurnClientInstance& t) {
        return out == nullptr ? OM_ERR_INVALID_ARGUMENT : t.reflexive_address(*out);
    });
}

const om_turn_vtbl kVtbl = {
    .struct_size = sizeof(om_turn_vtbl),
    .create = turn_create,
    .destroy = turn_destroy,
    .allocate = turn_allocate,
    .create_permission = turn_create_permission,
    .send = turn_send,
    .on_datagram = turn_on_datagram,
    .release = turn_release,
    .reflexive_address = turn_reflexive_address,
};

const om_plugin_descriptor kDescriptor = {
    .struct_size = sizeof(om_plugin_descriptor),
    .abi_version = OM_PLUGIN_ABI_VERSION,
    .name = "turn-client",
    .kind = OM_PLUGIN_KIND_TURN,
    .version = "0.1.0",
    .description = "TURN client (RFC 8656): allocations, permissions, channels over the agent's socket",
    .flags = 0,
    .vtbl = &kVtbl,
    .type_data = nullptr,
    .free_type_data = nullptr,
    .functions = nullptr,
    .function_count = 0,
};

}  // namespace

extern "C" {
OM_PLUGIN_DEFINE(kDescriptor)
}
