// fixture-throws: a C++ transport that lets exceptions escape through the plugin ABI. A real
// plugin must never do this (ABI-RULES R17); the kernel must survive it by guarding every call
// into a plugin. create/open/close/poll_fd/local_address are the working loopback; send, drain
// and the extension method "boom" throw std::runtime_error. Built with -fexceptions and without
// noexcept so the exceptions really cross the extern "C" boundary.
#include <stdexcept>

#include "fixture_abi.h"
#include "loopback.h"

#include <unistd.h>

extern "C" {

static int32_t throwing_open(void* instance, const char* bind_address)
{
    int32_t status = loopback_open(instance, bind_address);
    // Make the poll fd readable at once, so the kernel calls drain (and meets its exception)
    // even though send never queues anything.
    if (status == OM_OK) {
        uint64_t one = 1;
        ssize_t n = write(loopback_poll_fd(instance), &one, sizeof one);
        (void)n;
    }
    return status;
}

static int32_t throwing_send(void*, const om_datagram*, size_t, size_t*)
{
    throw std::runtime_error("fixture-throws: send exploded");
}

static int32_t throwing_drain(void* instance, size_t, size_t*)
{
    // Clear the wake-up first: one exception per wake-up, not a busy loop.
    uint64_t value;
    ssize_t n = read(loopback_poll_fd(instance), &value, sizeof value);
    (void)n;
    throw std::runtime_error("fixture-throws: drain exploded");
}

static int32_t boom(void*)
{
    throw std::runtime_error("fixture-throws: boom exploded");
}

} // extern "C"

namespace {

const om_transport_vtbl throws_vtbl = {
    .struct_size = sizeof(om_transport_vtbl),
    .create = loopback_create,
    .destroy = loopback_destroy,
    .open = throwing_open,
    .close = loopback_close,
    .send = throwing_send,
    .poll_fd = loopback_poll_fd,
    .drain = throwing_drain,
    .local_address = loopback_local_address,
    .inner_received = nullptr,
    .mtu = loopback_mtu,
};

const om_plugin_function throws_functions[] = {
    {"boom", "status()", reinterpret_cast<void (*)(void)>(boom), "throws std::runtime_error"},
};

const om_plugin_descriptor throws_descriptor = {
    .struct_size = sizeof(om_plugin_descriptor),
    .abi_version = OM_PLUGIN_ABI_VERSION,
    .name = FIXTURE_NAME,
    .kind = OM_PLUGIN_KIND_TRANSPORT,
    .version = "0.1.0",
    .description = FIXTURE_DESCRIPTION,
    .flags = 0,
    .vtbl = &throws_vtbl,
    .type_data = nullptr,
    .free_type_data = nullptr,
    .functions = throws_functions,
    .function_count = sizeof throws_functions / sizeof throws_functions[0],
};

} // namespace

// The macro gives the export C linkage itself (plugin.h); plugin_negotiate dlsyms it.
OM_PLUGIN_DEFINE(throws_descriptor)
