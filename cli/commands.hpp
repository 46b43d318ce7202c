// One function per command; each returns the process exit code.
#pragma once

#include "cli_options.hpp"

namespace om_cli {

enum ExitCode { kExitOk = 0, kExitFailed = 1, kExitUsage = 2 };

int run_version(const CliOptions& options);
int run_plugins(const CliOptions& options);
int run_datagram_demo(const CliOptions& options);
int run_netcheck(const CliOptions& options);
int run_listen(const CliOptions& options);
int run_connect(const CliOptions& options);
int run_bench(const CliOptions& options);

// "orbitmesh-agent: <command>: not yet supported" on stderr; returns kExitUsage.
int not_yet_supported(const CliOptions& options);

// "orbitmesh-agent: <message>" on stderr (usage or configuration error); returns kExitUsage.
int usage_error(const std::string& message);

} // namespace om_cli
