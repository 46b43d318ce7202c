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

// Registers with the server, then connects to `peer` (connect and bench). On a failure, `failure`
// says why and `state` is the peer's last state (Failed); NotSupported has been printed to stderr.
enum class PeerConnect { Connected, Failed, NotSupported };
PeerConnect connect_agent_to_peer(orbitmesh::Agent& agent, const char* command, const std::string& peer,
                                  om_transport_type via, om_peer_state& state, std::string& failure);
// A fresh snapshot of the peer into `state`, keeping its connect_ms when the snapshot has none.
void refresh_peer_state(orbitmesh::Agent& agent, const std::string& peer, om_peer_state& state);

// "udp" unless --plugin transport=NAME says otherwise.
std::string transport_plugin_name(const GlobalOptions& global);

} // namespace om_cli
