// Command-line parsing: one table of options, each with the commands it belongs to and the
// setter that checks and stores its value. Accepts "--name value" and "--name=value".
#include "parse_args.hpp"

#include <orbitmesh/orbitmesh.h>

#include <charconv>
#include <functional>
#include <initializer_list>
#include <string_view>
#include <vector>

namespace om_cli {
namespace {

struct ParseState {
    CliOptions options;
    bool size_given = false;
};

// Returns "" on success, otherwise the error message.
using Setter = std::function<std::string(ParseState&, const std::string&)>;

struct OptionSpec {
    std::string_view name;
    bool takes_value;
    std::vector<Command> commands; // empty: a global option, valid with every command
    Setter set;
};

std::string parse_int(const std::string& name, const std::string& text, long min, long max, int& out) {
    long value = 0;
    const char* end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (text.empty() || ec != std::errc() || ptr != end || value < min || value > max) {
        return name + ": expected a whole number from " + std::to_string(min) + " to " +
               std::to_string(max) + ", got '" + text + "'";
    }
    out = static_cast<int>(value);
    return "";
}

Setter text(std::string GlobalOptions::*field) {
    return [field](ParseState& s, const std::string& v) -> std::string {
        s.options.global.*field = v;
        return "";
    };
}

Setter number(std::string_view name, int GlobalOptions::*field, long min, long max) {
    return [=](ParseState& s, const std::string& v) {
        return parse_int(std::string(name), v, min, max, s.options.global.*field);
    };
}

Setter flag(bool GlobalOptions::*field) {
    return [field](ParseState& s, const std::string&) -> std::string {
        s.options.global.*field = true;
        return "";
    };
}

Setter command_number(std::string_view name, int CommandOptions::*field, long min, long max) {
    return [=](ParseState& s, const std::string& v) {
        return parse_int(std::string(name), v, min, max, s.options.cmd.*field);
    };
}

std::string set_plugin(ParseState& s, const std::string& v) {
    size_t eq = v.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == v.size())
        return "--plugin: expected KIND=NAME, got '" + v + "'";
    PluginChoice choice{v.substr(0, eq), v.substr(eq + 1)};
    if (!is_plugin_kind(choice.kind))
        return "--plugin: unknown kind '" + choice.kind + "' (kinds: " + plugin_kinds_list() + ")";
    for (const PluginChoice& earlier : s.options.global.plugins) {
        if (earlier.kind == choice.kind) return "--plugin: kind '" + choice.kind + "' given twice";
    }
    s.options.global.plugins.push_back(std::move(choice));
    return "";
}

std::string set_plugin_option(ParseState& s, const std::string& v) {
    size_t eq = v.find('=');
    size_t dot = v.find('.');
    if (eq == std::string::npos || dot == std::string::npos || dot == 0 || dot + 1 >= eq)
        return "--plugin-option: expected PLUGIN.KEY=VALUE, got '" + v + "'";
    if (v.find_first_of(";\n") != std::string::npos)
        return "--plugin-option: ';' and newlines separate settings and cannot be in one: '" + v + "'";
    s.options.global.plugin_options.push_back(
        {v.substr(0, dot), v.substr(dot + 1, eq - dot - 1), v.substr(eq + 1)});
    return "";
}

// "eth1,docker*": interface names separated by ',' (a trailing '*' matches a prefix).
std::string set_exclude_interfaces(ParseState& s, const std::string& v) {
    std::vector<std::string> names;
    size_t start = 0;
    for (;;) {
        size_t comma = v.find(',', start);
        std::string name = v.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        if (name.empty() || name.find_first_of(" \t") != std::string::npos ||
            name.find('*') < name.size() - 1)
            return "--exclude-interfaces: expected interface names separated by ',' (a trailing '*' "
                   "matches a prefix), got '" + v + "'";
        names.push_back(std::move(name));
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    for (std::string& name : names) s.options.global.exclude_interfaces.push_back(std::move(name));
    return "";
}

std::string set_log_level(ParseState& s, const std::string& v) {
    if (!is_log_level(v)) return "--log-level: unknown level '" + v + "' (levels: " + log_levels_list() + ")";
    s.options.global.log_level = v;
    return "";
}

std::string set_mode(ParseState& s, const std::string& v) {
    if (!is_delivery_mode(v)) return "--mode: unknown mode '" + v + "' (modes: " + delivery_modes_list() + ")";
    s.options.cmd.mode = v;
    return "";
}

std::string set_transport(ParseState& s, const std::string& v) {
    if (!is_transport_choice(v))
        return "--transport: unknown transport '" + v + "' (transports: " + transport_choices_list() + ")";
    s.options.cmd.transport = v;
    return "";
}

std::string set_size(ParseState& s, const std::string& v) {
    s.size_given = true;
    return parse_int("--size", v, 1, 16 * 1024 * 1024, s.options.cmd.size);
}

std::string set_identity_file(ParseState& s, const std::string& v) {
    if (v.empty()) return "--identity-file: expected a file name";
    s.options.global.identity_file = v;
    return "";
}

std::string set_version(ParseState& s, const std::string&) {
    s.options.command = Command::Version;
    s.options.command_name = "version";
    return "";
}

const std::vector<OptionSpec>& option_table() {
    using C = Command;
    using G = GlobalOptions;
    static const std::vector<OptionSpec> table = {
        {"--server", true, {}, text(&G::server)},
        {"--id", true, {}, text(&G::id)},
        {"--token", true, {}, text(&G::token)},
        {"--bind", true, {}, text(&G::bind)},
        {"--turn-server", true, {}, text(&G::turn_server)},
        {"--turn-port", true, {}, number("--turn-port", &G::turn_port, 1, 65535)},
        {"--turn-user", true, {}, text(&G::turn_user)},
        {"--turn-pass", true, {}, text(&G::turn_pass)},
        {"--stun-server", true, {}, text(&G::stun_server)},
        {"--stun-port", true, {}, number("--stun-port", &G::stun_port, 1, 65535)},
        {"--no-p2p", false, {}, flag(&G::no_p2p)},
        {"--no-fallback", false, {}, flag(&G::no_fallback)},
        {"--timeout-ms", true, {}, number("--timeout-ms", &G::timeout_ms, 1, 3600000)},
        {"--keep-alive-ms", true, {}, number("--keep-alive-ms", &G::keep_alive_ms, 1, 3600000)},
        {"--disconnect-timeout-ms", true, {},
         number("--disconnect-timeout-ms", &G::disconnect_timeout_ms, 1, 3600000)},
        {"--punch-retries", true, {}, number("--punch-retries", &G::punch_retries, 0, 1000)},
        {"--punch-interval-ms", true, {}, number("--punch-interval-ms", &G::punch_interval_ms, 1, 60000)},
        {"--mtu", true, {}, number("--mtu", &G::mtu, 1200, 65507)},
        {"--no-reliable", false, {}, flag(&G::no_reliable)},
        {"--no-unreliable", false, {}, flag(&G::no_unreliable)},
        {"--identity-file", true, {}, set_identity_file},
        {"--busy-poll-us", true, {}, number("--busy-poll-us", &G::busy_poll_us, 0, 10000)},
        {"--plugin", true, {}, set_plugin},
        {"--plugin-option", true, {}, set_plugin_option},
        {"--log-level", true, {}, set_log_level},
        {"--exclude-interfaces", true, {}, set_exclude_interfaces},
        {"--version", false, {}, set_version},
        {"--count", true, {C::Connect, C::DatagramDemo},
         command_number("--count", &CommandOptions::count, 1, 1000000)},
        {"--size", true, {C::Connect, C::Bench, C::DatagramDemo}, set_size},
        {"--mode", true, {C::Connect, C::Bench}, set_mode},
        {"--transport", true, {C::Connect, C::Bench}, set_transport},
        {"--channel", true, {C::Connect, C::Bench},
         command_number("--channel", &CommandOptions::channel, 0, OM_MAX_CHANNELS - 1)},
        {"--seconds", true, {C::Bench},
         command_number("--seconds", &CommandOptions::seconds, 1, 3600)},
    };
    return table;
}

const OptionSpec* find_option(std::string_view name) {
    for (const OptionSpec& spec : option_table()) {
        if (spec.name == name) return &spec;
    }
    return nullptr;
}

bool belongs_to(const OptionSpec& spec, Command command) {
    if (spec.commands.empty()) return true;
    for (Command c : spec.commands) {
        if (c == command) return true;
    }
    return false;
}

bool wants_help(int argc, const char* const* argv) {
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        if (arg == "--help" || arg == "-h") return true;
    }
    return false;
}

// A positional argument: the command first, then the command's operand (PEER).
std::string take_positional(ParseState& s, const std::string& arg) {
    CliOptions& o = s.options;
    if (o.command == Command::None) {
        auto command = command_from_name(arg);
        if (!command) return "unknown command '" + arg + "'";
        o.command = *command;
        o.command_name = arg;
        return "";
    }
    if ((o.command == Command::Connect || o.command == Command::Bench) && o.cmd.peer.empty()) {
        o.cmd.peer = arg;
        return "";
    }
    return "unexpected argument '" + arg + "'";
}

// Options given before the command are checked against it once it is known.
std::string check_scopes(const CliOptions& o, const std::vector<const OptionSpec*>& used) {
    for (const OptionSpec* spec : used) {
        if (!belongs_to(*spec, o.command))
            return std::string(spec->name) + " is not an option of " +
                   (o.command_name.empty() ? std::string("this command") : o.command_name);
    }
    return "";
}

} // namespace

ParseResult parse_args(int argc, const char* const* argv) {
    ParseResult result;
    if (wants_help(argc, argv)) {
        result.options.command = Command::Help;
        return result;
    }
    ParseState state;
    std::vector<const OptionSpec*> command_options;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg.rfind("--", 0) != 0 || arg == "--") {
            result.error = take_positional(state, arg);
            if (!result.ok()) return result;
            continue;
        }
        size_t eq = arg.find('=');
        std::string name = arg.substr(0, eq);
        const OptionSpec* spec = find_option(name);
        if (!spec) {
            result.error = "unknown option '" + name + "'";
            return result;
        }
        std::string value;
        if (spec->takes_value) {
            if (eq != std::string::npos) {
                value = arg.substr(eq + 1);
            } else if (i + 1 < argc) {
                value = argv[++i];
            } else {
                result.error = name + " needs a value";
                return result;
            }
        } else if (eq != std::string::npos) {
            result.error = name + " takes no value";
            return result;
        }
        if (!spec->commands.empty()) command_options.push_back(spec);
        result.error = spec->set(state, value);
        if (!result.ok()) return result;
    }
    CliOptions& o = state.options;
    if (o.command == Command::Bench && !state.size_given) o.cmd.size = 1024;
    result.error = check_scopes(o, command_options);
    if (result.ok()) result.error = validate_args(o);
    result.options = std::move(o);
    return result;
}

} // namespace om_cli
