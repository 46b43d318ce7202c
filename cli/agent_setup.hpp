// From the command line's agent options to the library's: log level and om_agent_options.
#pragma once

#include "cli_options.hpp"

#include <orbitmesh/orbitmesh.hpp>

namespace om_cli {

// Sets the library's log level from --log-level, when given.
void apply_log_level(const GlobalOptions& global);

// Copies every agent option of the command line into `options` (which keeps the library
// defaults for anything not given).
void fill_agent_options(const GlobalOptions& global, orbitmesh::AgentOptions& options);

// "udp" unless --plugin transport=NAME says otherwise.
std::string transport_plugin_name(const GlobalOptions& global);

} // namespace om_cli
