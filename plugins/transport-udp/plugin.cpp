// transport-udp's face to the kernel: the transport vtable, the extension methods and the
// descriptor. Every entry point catches everything (ABI-RULES R17): a failure becomes an
// om_status plus host->set_error, never an exception across the C boundary.
#include "udp_transport.h"

#include <orbitmesh/plugin.h>
#include <orbitmesh_plugin_support/entry_guard.h>

#include <cstddef>

namespace {

using om::plugin::as_plugin_function;
using om::udp::SocketBuffers;
using om::udp::UdpTransport;

using Entry = om::plugin::EntryPoints<UdpTransport>;

// ----------------------------------------------------------------------------------------------
// Transport vtable

int32_t udp_create(const om_transport_create_args* args, void** out_instance) noexcept
{
    // A bottom transport reads nothing from `inner` onwards.
    return Entry::create(args, offsetof(om_transport_create_args, inner), out_instance);
}

void udp_destroy(void* instance) noexcept { Entry::destroy(instance); }

int32_t udp_open(void* instance, const char* bind_address) noexcept
{
    return Entry::guarded(instance, [&](UdpTransport& t) { t.open(bind_address); });
}

void udp_close(void* instance) noexcept
{
    if (instance != nullptr) Entry::of(instance).close();
}

int32_t udp_send(void* instance, const om_datagram* batch, size_t count, size_t* out_sent) noexcept
{
    size_t sent = 0;
    const int32_t status = batch == nullptr && count > 0
                               ? OM_ERR_INVALID_ARGUMENT
                               : Entry::guarded(instance, [&](UdpTransport& t) { t.send(batch, count, sent); });
    if (out_sent != nullptr) *out_sent = sent;
    return status;
}

int32_t udp_poll_fd(void* instance) noexcept { return instance ? Entry::of(instance).poll_fd() : -1; }

int32_t udp_drain(void* instance, size_t max, size_t* out_count) noexcept
{
    size_t count = 0;
    const int32_t status = Entry::guarded(instance, [&](UdpTransport& t) { count = t.drain(max); });
    if (out_count != nullptr) *out_count = count;
    return status;
}

int32_t udp_local_address(void* instance, om_address* out) noexcept
{
    if (out == nullptr) return OM_ERR_INVALID_ARGUMENT;
    return Entry::guarded(instance, [&](UdpTransport& t) { *out = t.local_address(); });
}

uint32_t udp_mtu(void* instance) noexcept { return instance ? Entry::of(instance).mtu() : 0; }

// ----------------------------------------------------------------------------------------------
// Extension methods (signatures in the manifest and in kFunctions below)

// "status(out_u32,out_u32)"
int32_t udp_get_socket_buffers(void* instance, uint32_t* out_rcvbuf, uint32_t* out_sndbuf) noexcept
{
    if (out_rcvbuf == nullptr || out_sndbuf == nullptr) return OM_ERR_INVALID_ARGUMENT;
    return Entry::guarded(instance, [&](UdpTransport& t) {
        const SocketBuffers buffers = t.socket_buffers();
        *out_rcvbuf = buffers.receive;
        *out_sndbuf = buffers.send;
    });
}

// "status(u32,u32)"
int32_t udp_set_socket_buffers(void* instance, uint32_t rcvbuf, uint32_t sndbuf) noexcept
{
    return Entry::guarded(instance, [&](UdpTransport& t) { t.set_socket_buffers({rcvbuf, sndbuf}); });
}

// "void(out_u64,out_u64)"
void udp_batch_stats(void* instance, uint64_t* out_batches, uint64_t* out_datagrams) noexcept
{
    if (instance == nullptr) return;
    const auto& counters = Entry::of(instance).counters();
    if (out_batches != nullptr) *out_batches = counters.batches;
    if (out_datagrams != nullptr) *out_datagrams = counters.datagrams_received;
}

// ----------------------------------------------------------------------------------------------
// Descriptor

const om_transport_vtbl kVtbl = {
    .struct_size = sizeof(om_transport_vtbl),
    .create = udp_create,
    .destroy = udp_destroy,
    .open = udp_open,
    .close = udp_close,
    .send = udp_send,
    .poll_fd = udp_poll_fd,
    .drain = udp_drain,
    .local_address = udp_local_address,
    .inner_received = nullptr,  // a bottom transport
    .mtu = udp_mtu,
};

const om_plugin_function kFunctions[] = {
    {"get_socket_buffers", "status(out_u32,out_u32)", as_plugin_function(udp_get_socket_buffers),
     "Receive and send buffer sizes as the kernel reports them (Linux doubles what it grants)"},
    {"set_socket_buffers", "status(u32,u32)", as_plugin_function(udp_set_socket_buffers),
     "Asks for receive and send buffer sizes in bytes (0 keeps one); the kernel caps them"},
    {"batch_stats", "void(out_u64,out_u64)", as_plugin_function(udp_batch_stats),
     "Receive batches (recvmmsg calls that returned data) and datagrams received"},
};

const om_plugin_descriptor kDescriptor = {
    .struct_size = sizeof(om_plugin_descriptor),
    .abi_version = OM_PLUGIN_ABI_VERSION,
    .name = "transport-udp",
    .kind = OM_PLUGIN_KIND_TRANSPORT,
    .version = "0.1.0",
    .description = "UDP transport: non-blocking IPv4/IPv6 socket with sendmmsg/recvmmsg batches, UDP GSO and GRO",
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
