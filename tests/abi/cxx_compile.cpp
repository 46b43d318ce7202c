// cxx_compile: the public headers, and the header-only C++ wrapper, compile as strict C++17
// (-std=c++17 -Wall -Wextra -Werror -pedantic, ABI-RULES R1), with the same layout snapshot as
// the C translation unit, and OM_PLUGIN_DEFINE works in a C++ plugin. Needs no library.
#include <orbitmesh/orbitmesh.h>
#include <orbitmesh/plugin.h>
#include <orbitmesh/orbitmesh.hpp>

#include <cstdio>
#include <cstring>

#include "abi_layout.h"

namespace {
const om_transport_vtbl empty_vtbl = {sizeof(om_transport_vtbl), nullptr, nullptr, nullptr,
                                      nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,
                                      nullptr};
const om_plugin_descriptor descriptor = {sizeof(om_plugin_descriptor),
                                         OM_PLUGIN_ABI_VERSION,
                                         "cxx-compile",
                                         OM_PLUGIN_KIND_TRANSPORT,
                                         "0.0.0",
                                         "header check",
                                         0,
                                         &empty_vtbl,
                                         nullptr,
                                         nullptr,
                                         nullptr,
                                         0};
} // namespace

// No extern "C" here: the macro gives the export C linkage itself (plugin.h).
OM_PLUGIN_DEFINE(descriptor)

int main()
{
    int failures = 0;
    om_agent_options options = OM_AGENT_OPTIONS_INIT;
    if (options.struct_size != sizeof options) ++failures;
    om_plugin_negotiation io{};
    io.struct_size = sizeof io;
    io.host_abi_min = OM_PLUGIN_ABI_MAKE(1, 0);
    io.host_abi_max = OM_PLUGIN_ABI_MAKE(1, 1);
    if (om_plugin_negotiate(&io) != OM_OK || io.out_descriptor != &descriptor) ++failures;
    if (failures) std::fprintf(stderr, "cxx_compile: %d checks failed\n", failures);
    return failures == 0 ? 0 : 1;
}
