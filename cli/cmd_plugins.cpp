// `plugins`: the JSON list of plugins the library finds, from their manifests.
#include "commands.hpp"

#include <orbitmesh/orbitmesh.hpp>

#include <iostream>

namespace om_cli {

int run_plugins(const CliOptions&) {
    try {
        std::cout << orbitmesh::plugins_list_json() << std::endl;
        return kExitOk;
    } catch (const orbitmesh::Error& e) {
        std::cerr << "orbitmesh-agent: plugins: " << e.what() << "\n";
        return kExitFailed;
    }
}

} // namespace om_cli
