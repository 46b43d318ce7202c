// `version` and `--version`: this tool's, the loaded library's and the ABI versions.
#include "commands.hpp"

#include <orbitmesh/orbitmesh.h>
#include <orbitmesh/plugin.h>

#include <iostream>

namespace om_cli {

int run_version(const CliOptions&) {
    std::cout << "orbitmesh-agent " << OM_VERSION << "\n"
              << "liborbitmesh " << om_version() << " (C ABI " << OM_C_ABI_MAJOR << ", plugin ABI "
              << OM_PLUGIN_ABI_VERSION_MAJOR << "." << OM_PLUGIN_ABI_VERSION_MINOR << ")\n";
    return kExitOk;
}

} // namespace om_cli
