// orbitmesh-server: reads its options, then serves. The server itself and `token` arrive with
// the signaling issue; until then both answer "not yet supported" after validating everything.
#include "server_options.hpp"

#include <orbitmesh/orbitmesh.h>

#include <iostream>

int main(int argc, char** argv) {
    using namespace om_server;
    ParsedServerArgs parsed = parse_server_args(argc, argv, process_environment());
    if (!parsed.ok()) {
        std::cerr << "orbitmesh-server: " << parsed.error << "\n"
                  << "Try 'orbitmesh-server --help' for the list of options.\n";
        return 2;
    }
    switch (parsed.action) {
    case Action::Help:
        print_server_usage(std::cout);
        return 0;
    case Action::Version:
        std::cout << "orbitmesh-server " << om_version() << "\n";
        return 0;
    case Action::Token:
        std::cerr << "orbitmesh-server: token: not yet supported\n";
        return 2;
    case Action::Run:
        break;
    }
    std::cerr << "orbitmesh-server: not yet supported\n";
    return 2;
}
