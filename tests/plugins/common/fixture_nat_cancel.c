/* A nat-discovery plugin that never finishes by itself and answers from inside cancel(): the
 * kernel must treat that answer as late (the run it belonged to has ended), never crash on it. */
#include <orbitmesh/plugin.h>

#include <stdlib.h>

typedef struct {
    om_nat_done_fn done;
    void* done_user_data;
} nat_cancel_instance;

static int32_t nc_create(const om_plugin_create_args* args, void** out)
{
    (void)args;
    *out = calloc(1, sizeof(nat_cancel_instance));
    return *out ? OM_OK : OM_ERR_NO_MEMORY;
}

static void nc_destroy(void* instance) { free(instance); }

static int32_t nc_start(void* instance, const om_nat_request* request)
{
    nat_cancel_instance* self = instance;
    self->done = request->done;
    self->done_user_data = request->done_user_data;
    return OM_OK;
}

static int32_t nc_on_datagram(void* instance, const om_datagram* datagram)
{
    (void)instance;
    (void)datagram;
    return 0;
}

static void nc_cancel(void* instance)
{
    nat_cancel_instance* self = instance;
    om_nat_done_fn done = self->done;
    self->done = NULL;
    if (done) done(self->done_user_data, OM_ERR_CLOSED, NULL);
}

static const om_nat_discovery_vtbl nc_vtbl = {sizeof(om_nat_discovery_vtbl), nc_create, nc_destroy, nc_start,
                                              nc_on_datagram, nc_cancel};

static const om_plugin_descriptor nc_descriptor = {
    .struct_size = sizeof(om_plugin_descriptor),
    .abi_version = OM_PLUGIN_ABI_VERSION,
    .name = FIXTURE_NAME,
    .kind = OM_PLUGIN_KIND_NAT_DISCOVERY,
    .version = "0.2.0",
    .description = FIXTURE_DESCRIPTION,
    .vtbl = &nc_vtbl,
};

OM_PLUGIN_DEFINE(nc_descriptor)
