// delivery-quic's face to the kernel: the delivery vtable (ABI 1.3) and the descriptor. Every
// entry point catches everything (ABI-RULES R17).
#include "delivery_instance.h"

#include <orbitmesh/plugin.h>
#include <orbitmesh_plugin_support/entry_guard.h>

namespace {

using om::quic::DeliveryInstance;
using Entry = om::plugin::EntryPoints<DeliveryInstance>;

int32_t quic_create(const om_plugin_create_args* args, void** out_instance) noexcept
{
    return Entry::create(args, sizeof(om_plugin_create_args), out_instance);
}

void quic_destroy(void* instance) noexcept { Entry::destroy(instance); }

int32_t quic_session_open(void* instance, const om_delivery_session_args* args, void** out_session) noexcept
{
    return Entry::guarded(instance, [&](DeliveryInstance& d) { return d.session_open(args, out_session); });
}

void quic_session_close(void* instance, void* session) noexcept
{
    (void)Entry::guarded(instance, [&](DeliveryInstance& d) { d.session_close(session); });
}

int32_t quic_send(void* instance, void* session, om_delivery_mode mode, const uint8_t* data, size_t len) noexcept
{
    return Entry::guarded(instance, [&](DeliveryInstance& d) { return d.send(session, mode, data, len); });
}

int32_t quic_on_frame(void* instance, void* session, const uint8_t* frame, size_t len) noexcept
{
    return Entry::guarded(instance, [&](DeliveryInstance& d) { return d.on_frame(session, frame, len); });
}

int32_t quic_metrics(void* instance, void* session, om_delivery_metrics* out) noexcept
{
    return Entry::guarded(instance, [&](DeliveryInstance& d) { return d.metrics(session, out); });
}

int32_t quic_send_message(void* instance, void* session, om_delivery_mode mode, uint32_t channel,
                          const uint8_t* data, size_t len) noexcept
{
    return Entry::guarded(instance,
                          [&](DeliveryInstance& d) { return d.send_message(session, mode, channel, data, len); });
}

int32_t quic_send_messages(void* instance, void* session, const om_delivery_message* messages, size_t count,
                           size_t* accepted) noexcept
{
    return Entry::guarded(instance,
                          [&](DeliveryInstance& d) { return d.send_messages(session, messages, count, accepted); });
}

int32_t quic_on_packet(void* instance, void* session, uint32_t path_id, const uint8_t* data, size_t len) noexcept
{
    return Entry::guarded(instance, [&](DeliveryInstance& d) { return d.on_packet(session, path_id, data, len); });
}

int32_t quic_path_changed(void* instance, void* session, const om_delivery_path* path) noexcept
{
    return Entry::guarded(instance, [&](DeliveryInstance& d) { return d.path_changed(session, path); });
}

int32_t quic_local_fingerprint(void* instance, char* buf, size_t cap) noexcept
{
    return Entry::guarded(instance, [&](DeliveryInstance& d) { return d.local_fingerprint(buf, cap); });
}

const om_delivery_vtbl kVtbl = {
    .struct_size = sizeof(om_delivery_vtbl),
    .create = quic_create,
    .destroy = quic_destroy,
    .session_open = quic_session_open,
    .session_close = quic_session_close,
    .send = quic_send,
    .on_frame = quic_on_frame,
    .metrics = quic_metrics,
    .send_message = quic_send_message,
    .on_packet = quic_on_packet,
    .path_changed = quic_path_changed,
    .local_fingerprint = quic_local_fingerprint,
    .send_messages = quic_send_messages,
};

const om_plugin_descriptor kDescriptor = {
    .struct_size = sizeof(om_plugin_descriptor),
    .abi_version = OM_PLUGIN_ABI_VERSION,
    .name = "delivery-quic",
    .kind = OM_PLUGIN_KIND_DELIVERY,
    .version = "0.1.0",
    .description = "Messages over QUIC (ngtcp2 + GnuTLS): four modes on 256 channels, pinned mutual TLS, migration",
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
