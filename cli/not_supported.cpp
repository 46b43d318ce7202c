// The answers for usage errors and for commands whose part is not built yet (CONTRACT.md).
#include "commands.hpp"

#include <iostream>

namespace om_cli {

int not_yet_supported(const CliOptions& options) {
    std::cerr << "orbitmesh-agent: " << options.command_name << ": not yet supported\n";
    return kExitUsage;
}

int usage_error(const std::string& message) {
    std::cerr << "orbitmesh-agent: " << message << "\n";
    return kExitUsage;
}

} // namespace om_cli
