// What the command line asked for, after parsing and validation.
#pragma once

#include <orbitmesh/orbitmesh.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace om_cli {

enum class Command { None, Help, Version, Plugins, DatagramDemo, Netcheck, Listen, Connect, Bench };

// --plugin KIND=NAME
struct PluginChoice {
    std::string kind;
    std::string name;
};

// --plugin-option PLUGIN.KEY=VALUE
struct PluginSetting {
    std::string plugin;
    std::string key;
    std::string value;
};

// Options that configure the agent, valid before or after the command.
struct GlobalOptions {
    std::string server;
    std::string id;
    std::string token;
    std::string bind;
    std::string turn_server;
    int turn_port = 3478;
    std::string turn_user;
    std::string turn_pass;
    std::string stun_server;
    int stun_port = 3478;
    bool no_p2p = false;
    bool no_fallback = false;
    int timeout_ms = 10000;
    // The rest of the seed's P2POptions (om_agent_options), with its defaults.
    int keep_alive_ms = 15000;          // --keep-alive-ms: keep_alive_interval_ms
    int disconnect_timeout_ms = 30000;  // --disconnect-timeout-ms
    int punch_retries = 10;             // --punch-retries: nat_punch_retries
    int punch_interval_ms = 100;        // --punch-interval-ms: nat_punch_interval_ms
    int mtu = 1400;                     // --mtu: max_mtu (QUIC needs at least 1200)
    bool no_reliable = false;           // --no-reliable: enable_reliable_delivery = 0
    bool no_unreliable = false;         // --no-unreliable: enable_unreliable_delivery = 0
    std::string identity_file;          // --identity-file FILE: the agent's key and certificate
    int busy_poll_us = 0;               // --busy-poll-us US: polling without sleep after a wake-up
    std::vector<PluginChoice> plugins;
    std::vector<PluginSetting> plugin_options;
    std::string log_level; // empty: the library's default (warning, or ORBITMESH_LOG_LEVEL)
    // --exclude-interfaces eth1,docker*: left out of host candidates when bound to the wildcard
    std::vector<std::string> exclude_interfaces;
};

// Options that belong to one command; defaults depend on the command (see parse_args.cpp).
struct CommandOptions {
    std::string peer;
    int count = 10;
    int size = 64;
    int seconds = 5;
    std::string mode = "reliable-ordered";
    std::string transport = "auto";
    int channel = 0; // --channel N: 0..OM_MAX_CHANNELS-1
};

struct CliOptions {
    Command command = Command::None;
    std::string command_name;
    GlobalOptions global;
    CommandOptions cmd;
};

// Name tables of the contract; each returns whether `value` is one of them.
bool is_plugin_kind(std::string_view value);
bool is_delivery_mode(std::string_view value);
bool is_transport_choice(std::string_view value);
// --transport's choice as the C API's om_transport_type: auto = OM_TRANSPORT_NONE (the best
// path), p2p, server (the server relay), turn (the agent's TURN allocation alone).
om_transport_type transport_for_choice(std::string_view choice);
bool is_log_level(std::string_view value);

// "transport, nat-discovery, ..." for error messages and usage.
std::string plugin_kinds_list();
std::string delivery_modes_list();
std::string transport_choices_list();
std::string log_levels_list();

std::optional<Command> command_from_name(std::string_view name);

} // namespace om_cli
