// orbitmesh-agent: parses the command line and runs one command.
#include "agent_setup.hpp"
#include "commands.hpp"
#include "parse_args.hpp"
#include "usage.hpp"

#include <exception>
#include <iostream>

using namespace om_cli;

namespace {

int run(const CliOptions& options) {
    switch (options.command) {
    case Command::Help: print_usage(std::cout); return kExitOk;
    case Command::Version: return run_version(options);
    case Command::Plugins: return run_plugins(options);
    case Command::DatagramDemo: return run_datagram_demo(options);
    case Command::Netcheck: return run_netcheck(options);
    case Command::Listen: return run_listen(options);
    case Command::Connect: return run_connect(options);
    case Command::Bench: return run_bench(options);
    case Command::None: break;
    }
    return usage_error("missing COMMAND");
}

} // namespace

int main(int argc, char** argv) {
    ParseResult parsed = parse_args(argc, argv);
    if (!parsed.ok()) {
        usage_error(parsed.error);
        std::cerr << "Try 'orbitmesh-agent --help' for the list of options and commands.\n";
        return kExitUsage;
    }
    try {
        apply_log_level(parsed.options.global);
        return run(parsed.options);
    } catch (const std::exception& e) {
        std::cerr << "orbitmesh-agent: " << e.what() << "\n";
        return kExitFailed;
    }
}
