// The command line of orbitmesh-server: the `token` subcommand, or the server's options, merged
// over the config file and the environment (command line > ORBITMESH_* > config file > defaults).
#include "server_options.hpp"

#include <initializer_list>
#include <string_view>

namespace om::server {
namespace {

bool wants(int argc, const char* const* argv, std::initializer_list<std::string_view> names) {
    for (int i = 1; i < argc; ++i) {
        for (std::string_view name : names) {
            if (argv[i] == name) return true;
        }
    }
    return false;
}

// "--name value", "--name=value" and bare flags, in order.
std::string command_line_settings(int argc, const char* const* argv, std::vector<Setting>& out) {
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg.rfind("--", 0) != 0) return "unexpected argument '" + arg + "'";
        size_t eq = arg.find('=');
        std::string name = arg.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
        std::string origin = "--" + name;
        if (!is_server_option(name)) return "unknown option '" + origin + "'";
        if (eq != std::string::npos) {
            out.push_back({name, arg.substr(eq + 1), origin});
        } else if (is_server_flag(name)) {
            out.push_back({name, "true", origin});
        } else if (i + 1 < argc) {
            out.push_back({name, argv[++i], origin});
        } else {
            return origin + " needs a value";
        }
    }
    return "";
}

std::string config_path(const std::vector<Setting>& argv_settings, const EnvLookup& env) {
    std::string path;
    for (const Setting& s : argv_settings) {
        if (s.name == "config") path = s.value;
    }
    if (path.empty()) path = env("ORBITMESH_CONFIG").value_or("");
    return path;
}

std::string apply_all(ServerOptions& options, const std::vector<Setting>& settings) {
    for (const Setting& s : settings) {
        std::string error = apply_setting(options, s);
        if (!error.empty()) return error;
    }
    return "";
}

} // namespace

ParsedServerArgs parse_server_args(int argc, const char* const* argv, const EnvLookup& env) {
    ParsedServerArgs result;
    if (wants(argc, argv, {"--help", "-h"})) {
        result.action = Action::Help;
        return result;
    }
    if (argc > 1 && std::string_view(argv[1]) == "token") {
        result.action = Action::Token;
        result.error = parse_token_args(argc, argv, 2, result.token);
        return result;
    }
    if (wants(argc, argv, {"--version"})) {
        result.action = Action::Version;
        return result;
    }
    std::vector<Setting> from_argv;
    result.error = command_line_settings(argc, argv, from_argv);
    if (!result.ok()) return result;

    std::string path = config_path(from_argv, env);
    if (!path.empty()) {
        std::vector<Setting> from_file = read_config_file(path, result.error);
        if (!result.ok()) return result;
        result.server.config_file = path;
        result.error = apply_all(result.server, from_file);
        if (!result.ok()) return result;
    }
    result.error = apply_all(result.server, environment_settings(env));
    if (result.ok()) result.error = apply_all(result.server, from_argv);
    if (result.ok()) result.error = validate_server_options(result.server);
    return result;
}

} // namespace om::server
