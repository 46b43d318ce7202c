/* The one source of every C fixture plugin. tests/plugins/CMakeLists.txt builds it many times;
 * compile definitions pick the variant:
 *
 *   FIXTURE_NAME, FIXTURE_DESCRIPTION  descriptor name and description (always given)
 *   FIXTURE_FROZEN_ABI_1_0   built against the frozen ABI 1.0 header (fixture-abi10)
 *   FIXTURE_FFI              descriptor lists the extension methods of ffi_methods.c
 *   FIXTURE_KIND_STRATEGY    descriptor kind is strategy, with a valid strategy vtable
 *   FIXTURE_MISSING_SEND     transport vtable leaves the required send slot NULL
 *   FIXTURE_NO_ENTRY         the entry point is exported under the wrong name
 *   FIXTURE_FUTURE_ABI       negotiate claims ABI 2.0 whatever the host offers
 *   FIXTURE_REFUSES          negotiate refuses with OM_ERR_REFUSED and a message
 *
 * Without any of them it is a valid loopback transport (fixture-dup). */
#include <string.h>

#include "fixture_abi.h"
#include "loopback.h"
#if defined(FIXTURE_FFI)
#  include "ffi_methods.h"
#endif

#if !defined(FIXTURE_NAME) || !defined(FIXTURE_DESCRIPTION)
#  error "FIXTURE_NAME and FIXTURE_DESCRIPTION must be defined"
#endif

/* ---- the vtable ---------------------------------------------------------------------------- */
#if defined(FIXTURE_KIND_STRATEGY)

/* A complete strategy that always answers UDP hole punching, then TURN. */
static int32_t strategy_create(const om_plugin_create_args* args, void** out_instance)
{
    static int instance_tag;
    (void)args;
    *out_instance = &instance_tag;
    return OM_OK;
}

static void strategy_destroy(void* instance)
{
    (void)instance;
}

static int32_t strategy_choose(void* instance, const om_strategy_input* input,
                               om_strategy_output* output)
{
    (void)instance;
    (void)input;
    output->strategy = OM_STRATEGY_UDP_HOLE_PUNCH;
    output->step_count = 2;
    output->steps[0] = OM_STRATEGY_UDP_HOLE_PUNCH;
    output->steps[1] = OM_STRATEGY_TURN_RELAY;
    return OM_OK;
}

static const om_strategy_vtbl fixture_vtbl = {
    .struct_size = sizeof(om_strategy_vtbl),
    .create = strategy_create,
    .destroy = strategy_destroy,
    .choose = strategy_choose,
    .order_pairs = NULL, /* optional */
};
#  define FIXTURE_KIND OM_PLUGIN_KIND_STRATEGY

#else

static const om_transport_vtbl fixture_vtbl = {
    .struct_size = sizeof(om_transport_vtbl),
    .create = loopback_create,
    .destroy = loopback_destroy,
    .open = loopback_open,
    .close = loopback_close,
#  if defined(FIXTURE_MISSING_SEND)
    .send = NULL, /* the defect under test: a required slot left empty */
#  else
    .send = loopback_send,
#  endif
    .poll_fd = loopback_poll_fd,
    .drain = loopback_drain,
    .local_address = loopback_local_address,
    .inner_received = NULL, /* not a decorator */
#  if FIXTURE_HAS_ABI_1_1
    .mtu = loopback_mtu,
#  endif
};
#  define FIXTURE_KIND OM_PLUGIN_KIND_TRANSPORT

#endif

/* ---- the descriptor ------------------------------------------------------------------------ */
#if defined(FIXTURE_FUTURE_ABI)
#  define FIXTURE_DESCRIPTOR_ABI OM_PLUGIN_ABI_MAKE(2, 0)
#else
#  define FIXTURE_DESCRIPTOR_ABI OM_PLUGIN_ABI_VERSION
#endif

static const om_plugin_descriptor fixture_descriptor = {
    .struct_size = sizeof(om_plugin_descriptor),
    .abi_version = FIXTURE_DESCRIPTOR_ABI,
    .name = FIXTURE_NAME,
    .kind = FIXTURE_KIND,
    .version = "0.1.0",
    .description = FIXTURE_DESCRIPTION,
    .flags = 0,
    .vtbl = &fixture_vtbl,
    .type_data = NULL,
    .free_type_data = NULL,
#if defined(FIXTURE_FFI)
    .functions = fixture_ffi_functions,
    .function_count = FIXTURE_FFI_FUNCTION_COUNT,
#endif
};

/* ---- the entry point ----------------------------------------------------------------------- */
#if defined(FIXTURE_FUTURE_ABI)

/* A plugin from the future that ignores the host's range: the host must refuse it itself. */
OM_PLUGIN_EXPORT int32_t om_plugin_negotiate(om_plugin_negotiation* io)
{
    if (io == NULL) return OM_ERR_INVALID_ARGUMENT;
    io->out_abi_version = OM_PLUGIN_ABI_MAKE(2, 0);
    io->out_descriptor = &fixture_descriptor;
    return OM_OK;
}

#elif defined(FIXTURE_REFUSES)

OM_PLUGIN_EXPORT int32_t om_plugin_negotiate(om_plugin_negotiation* io)
{
    static const char why[] = FIXTURE_NAME ": this plugin needs a feature the host lacks";
    const size_t error_fields_end = offsetof(om_plugin_negotiation, out_error_cap) + sizeof(size_t);
    (void)fixture_descriptor; /* a complete plugin otherwise: only the negotiation refuses */
    if (io == NULL) return OM_ERR_INVALID_ARGUMENT;
    if (io->struct_size >= error_fields_end && io->out_error != NULL && io->out_error_cap > 0) {
        size_t n = strlen(why) < io->out_error_cap - 1 ? strlen(why) : io->out_error_cap - 1;
        memcpy(io->out_error, why, n);
        io->out_error[n] = '\0';
    }
    return OM_ERR_REFUSED;
}

#else

#  if defined(FIXTURE_NO_ENTRY)
/* The right function under the wrong name: the library loads, the entry symbol is missing. */
#    define om_plugin_negotiate om_plugin_negotiate_typo
#  endif
OM_PLUGIN_DEFINE(fixture_descriptor)

#endif
