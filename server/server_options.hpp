// orbitmesh-server's options (CONTRACT.md) and how they are read: defaults, then the config
// file, then ORBITMESH_* variables, then the command line; the later source wins.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace om::server {

struct TurnUser {
    std::string name;
    std::string password;
};

// Seed P2PServerOptions defaults: stun_port 3478, enable_turn_relay false, turn_realm none.
struct ServerOptions {
    std::string config_file;
    std::string bind = "0.0.0.0";
    int http_port = 8080; // 0 picks a free port
    int stun_port = 3478; // 0 turns the embedded STUN server off, -1 picks a free port
    std::string stun_alt_address;
    int stun_alt_port = 0;       // 0: none, -1 picks a free port
    int stun_rate_limit = 100;   // Binding requests/s per source IP (burst 2x); 0 = no limit
    int stun_threads = 0;        // STUN receive threads; 0: one per core
    bool enable_turn_relay = false;
    std::string turn_realm;
    std::vector<TurnUser> turn_users;
    std::string turn_secret;
    int turn_min_port = 49152;
    int turn_max_port = 65535;
    bool turn_allow_loopback_peers = false;
    int turn_max_allocations = 10000;  // all users
    int turn_user_quota = 100;         // per username
    int turn_bytes_per_s = 0;          // per allocation and direction; 0 = no limit
    int turn_credential_ttl = 86400;   // seconds, the credentials handed out with --turn-secret
    std::string turn_address;          // HOST:PORT handed out with --turn-secret (default: our relay)
    std::string secret;
    bool open = false;
    std::string redis;
    // Signaling limits (om_server_options, docs/server.md).
    bool replace_existing_id = false; // a second registration of a live id replaces it
    int max_frame_bytes = 65536;
    int relay_bytes_per_s = 16777216; // per agent; 0 = unlimited
    int send_queue_bytes = 1048576;   // per connection
    int reactor_threads = 0;          // 0: one per core
};

// `orbitmesh-server token --secret S --id A [--ttl 3600]`
struct TokenOptions {
    std::string secret;
    std::string id;
    int ttl_seconds = 3600;
};

// One "name = value" from any source; origin names it in error messages.
struct Setting {
    std::string name; // option name without "--"
    std::string value;
    std::string origin; // "--http-port", "server.conf:3", "ORBITMESH_HTTP_PORT"
};

enum class Action { Run, Token, Help, Version };

struct ParsedServerArgs {
    Action action = Action::Run;
    ServerOptions server;
    TokenOptions token;
    std::string error; // empty when valid
    bool ok() const { return error.empty(); }
};

// Looks up an environment variable; std::getenv in main, a map in tests.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
EnvLookup process_environment();

ParsedServerArgs parse_server_args(int argc, const char* const* argv, const EnvLookup& env);

// --- building blocks (option_table.cpp, config_sources.cpp, validate_server_options.cpp) ---

// Whether the option exists, and whether it is a flag (takes no value on the command line).
bool is_server_option(const std::string& name);
bool is_server_flag(const std::string& name);
bool is_repeatable_option(const std::string& name);
std::vector<std::string> server_option_names();

// Checks and stores one setting; returns "" or the error.
std::string apply_setting(ServerOptions& options, const Setting& setting);

// "name = value" lines; '#' starts a comment. Sets error on an unreadable file or bad line.
std::vector<Setting> read_config_file(const std::string& path, std::string& error);

// ORBITMESH_<NAME> for every option (dashes become underscores); a repeatable option takes a
// comma-separated list.
std::vector<Setting> environment_settings(const EnvLookup& env);

// Checks between options (--secret with --open, port ranges, addresses); "" when valid.
std::string validate_server_options(const ServerOptions& options);

// Parses the arguments after "token".
std::string parse_token_args(int argc, const char* const* argv, int first, TokenOptions& out);

void print_server_usage(std::ostream& out);

} // namespace om::server
