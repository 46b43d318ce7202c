/* c_compile: every public header compiles as strict C11 (-std=c11 -Wall -Wextra -Werror -pedantic,
 * ABI-RULES R1), every public struct keeps its x86_64 layout (abi_layout.h), and the header
 * macros a C user writes (OM_AGENT_OPTIONS_INIT, OM_STATUS_MAP, OM_PLUGIN_DEFINE) expand
 * cleanly. Needs no library: it uses types and macros only. */
#include <orbitmesh/orbitmesh.h>
#include <orbitmesh/plugin.h>

#include <stdio.h>
#include <string.h>

#include "abi_layout.h"
#include "check.h"

/* The status X-macro is usable by applications for their own tables. */
#define STATUS_ROW(name, value, text) {value, "OM_" #name, text},
static const struct {
    om_status value;
    const char* name;
    const char* text;
} statuses[] = {OM_STATUS_MAP(STATUS_ROW)};

/* OM_PLUGIN_DEFINE must compile in a C11 plugin. */
static const om_transport_vtbl empty_vtbl = {sizeof(om_transport_vtbl), NULL, NULL, NULL, NULL,
                                             NULL, NULL, NULL, NULL, NULL, NULL};
static const om_plugin_descriptor descriptor = {sizeof(om_plugin_descriptor),
                                                OM_PLUGIN_ABI_VERSION,
                                                "c-compile",
                                                OM_PLUGIN_KIND_TRANSPORT,
                                                "0.0.0",
                                                "header check",
                                                0,
                                                &empty_vtbl,
                                                NULL,
                                                NULL,
                                                NULL,
                                                0};
OM_PLUGIN_DEFINE(descriptor)

int main(void)
{
    om_agent_options options = OM_AGENT_OPTIONS_INIT;
    om_plugin_negotiation io;
    char version[16];

    CHECK(options.struct_size == sizeof options);
    CHECK(options.max_mtu == 1400 && options.event_mode == OM_EVENTS_ON_LOOP_THREAD);
    CHECK(statuses[0].value == OM_OK && strcmp(statuses[0].name, "OM_OK") == 0);
    CHECK(sizeof statuses / sizeof statuses[0] == 22);
    snprintf(version, sizeof version, "%d.%d.%d", OM_VERSION_MAJOR, OM_VERSION_MINOR,
             OM_VERSION_PATCH);
    CHECK(strcmp(version, OM_VERSION) == 0);
    CHECK(OM_PLUGIN_ABI_VERSION == 0x00010004u); /* the ABI abi_layout.h snapshots */

    /* The generated entry point, called directly. */
    memset(&io, 0, sizeof io);
    io.struct_size = sizeof io;
    io.host_abi_min = OM_PLUGIN_ABI_MAKE(1, 0);
    io.host_abi_max = OM_PLUGIN_ABI_MAKE(1, 2);
    CHECK(om_plugin_negotiate(&io) == OM_OK && io.out_descriptor == &descriptor);
    return check_exit_code("c_compile");
}
