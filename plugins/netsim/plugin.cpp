// netsim's face to the kernel: the decorator transport vtable, the extension methods and the
// descriptor. Every entry point catches everything (ABI-RULES R17).
#include "netsim_transport.h"

#include <orbitmesh/plugin.h>
#include <orbitmesh_plugin_support/entry_guard.h>

#include <cstddef>

namespace {

using om::netsim::NetsimTransport;
using om::plugin::as_plugin_function;

using Entry = om::plugin::EntryPoints<NetsimTransport>;

// ----------------------------------------------------------------------------------------------
// Transport vtable

int32_t netsim_create(const om_transport_create_args* args, void** out_instance) noexcept
{
    return Entry::create(args, sizeof(om_transport_create_args), out_instance);
}

void netsim_destroy(void* instance) noexcept { Entry::destroy(instance); }

int32_t netsim_open(void* instance, const char* bind_address) noexcept
{
    return Entry::guarded(instance, [&](NetsimTransport& n) { return n.open(bind_address); });
}

void netsim_close(void* instance) noexcept
{
    if (instance != nullptr) Entry::of(instance).close();
}

int32_t netsim_send(void* instance, const om_datagram* batch, size_t count, size_t* out_sent) noexcept
{
    size_t sent = 0;
    const int32_t status =
        batch == nullptr && count > 0
            ? OM_ERR_INVALID_ARGUMENT
            : Entry::guarded(instance, [&](NetsimTransport& n) { return n.send(batch, count, &sent); });
    if (out_sent != nullptr) *out_sent = sent;
    return status;
}

int32_t netsim_poll_fd(void* instance) noexcept { return instance ? Entry::of(instance).poll_fd() : -1; }

int32_t netsim_drain(void* instance, size_t max, size_t* out_count) noexcept
{
    size_t count = 0;
    const int32_t status = Entry::guarded(instance, [&](NetsimTransport& n) { return n.drain(max, &count); });
    if (out_count != nullptr) *out_count = count;
    return status;
}

int32_t netsim_local_address(void* instance, om_address* out) noexcept
{
    return Entry::guarded(instance, [&](NetsimTransport& n) { return n.local_address(out); });
}

void netsim_inner_received(void* instance, const om_datagram* datagram) noexcept
{
    if (datagram == nullptr) return;
    Entry::guarded(instance, [&](NetsimTransport& n) {
        n.inner_received(*datagram);
        return OM_OK;
    });
}

uint32_t netsim_mtu(void* instance) noexcept { return instance ? Entry::of(instance).mtu() : 0; }

// ----------------------------------------------------------------------------------------------
// Extension methods (signatures in the manifest and in kFunctions below)

// "void(out_u64,out_u64,out_u64,out_u64)": passed, dropped (loss + queue), duplicated, reordered
void netsim_stats(void* instance, uint64_t* out_passed, uint64_t* out_dropped, uint64_t* out_duplicated,
                  uint64_t* out_reordered) noexcept
{
    if (instance == nullptr) return;
    const auto& c = Entry::of(instance).counters();
    if (out_passed) *out_passed = c.passed;
    if (out_dropped) *out_dropped = c.dropped_loss + c.dropped_queue;
    if (out_duplicated) *out_duplicated = c.duplicated;
    if (out_reordered) *out_reordered = c.reordered;
}

// "status(f64)"
int32_t netsim_set_loss(void* instance, double loss) noexcept
{
    return Entry::guarded(instance, [&](NetsimTransport& n) {
        n.set_loss(loss);
        return OM_OK;
    });
}

// ----------------------------------------------------------------------------------------------
// Descriptor

const om_transport_vtbl kVtbl = {
    .struct_size = sizeof(om_transport_vtbl),
    .create = netsim_create,
    .destroy = netsim_destroy,
    .open = netsim_open,
    .close = netsim_close,
    .send = netsim_send,
    .poll_fd = netsim_poll_fd,
    .drain = netsim_drain,
    .local_address = netsim_local_address,
    .inner_received = netsim_inner_received,
    .mtu = netsim_mtu,
};

const om_plugin_function kFunctions[] = {
    {"stats", "void(out_u64,out_u64,out_u64,out_u64)", as_plugin_function(netsim_stats),
     "Datagrams passed, dropped (loss + queue limit), duplicated and reordered"},
    {"set_loss", "status(f64)", as_plugin_function(netsim_set_loss),
     "Changes the loss probability of both directions (0..1)"},
};

const om_plugin_descriptor kDescriptor = {
    .struct_size = sizeof(om_plugin_descriptor),
    .abi_version = OM_PLUGIN_ABI_VERSION,
    .name = "netsim",
    .kind = OM_PLUGIN_KIND_TRANSPORT,
    .version = "0.1.0",
    .description = "Network simulator decorator: loss, delay, jitter, duplication, reordering, rate cap",
    .flags = OM_PLUGIN_FLAG_DECORATOR,
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
