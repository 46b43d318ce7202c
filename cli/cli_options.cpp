// The contract's name tables for the agent command line.
#include "cli_options.hpp"

#include <algorithm>
#include <array>

namespace om_cli {
namespace {

constexpr std::array<std::string_view, 5> kPluginKinds = {"transport", "nat-discovery", "strategy",
                                                           "turn", "delivery"};
constexpr std::array<std::string_view, 4> kModes = {"reliable-ordered", "reliable-unordered",
                                                    "unreliable", "sequenced"};
constexpr std::array<std::string_view, 4> kTransports = {"auto", "p2p", "server", "turn"};
constexpr std::array<std::string_view, 6> kLogLevels = {"trace", "debug", "info",
                                                        "warning", "error", "off"};

template <size_t N>
bool contains(const std::array<std::string_view, N>& table, std::string_view value) {
    return std::find(table.begin(), table.end(), value) != table.end();
}

template <size_t N>
std::string join(const std::array<std::string_view, N>& table) {
    std::string out;
    for (std::string_view name : table) {
        if (!out.empty()) out += ", ";
        out += name;
    }
    return out;
}

struct CommandName {
    std::string_view name;
    Command command;
};
constexpr std::array<CommandName, 8> kCommands = {{
    {"help", Command::Help},
    {"version", Command::Version},
    {"plugins", Command::Plugins},
    {"datagram-demo", Command::DatagramDemo},
    {"netcheck", Command::Netcheck},
    {"listen", Command::Listen},
    {"connect", Command::Connect},
    {"bench", Command::Bench},
}};

} // namespace

bool is_plugin_kind(std::string_view value) { return contains(kPluginKinds, value); }
bool is_delivery_mode(std::string_view value) { return contains(kModes, value); }
bool is_transport_choice(std::string_view value) { return contains(kTransports, value); }
om_transport_type transport_for_choice(std::string_view choice) {
    if (choice == "server") return OM_TRANSPORT_SERVER_RELAY;
    if (choice == "p2p") return OM_TRANSPORT_P2P;
    if (choice == "turn") return OM_TRANSPORT_TURN;
    return OM_TRANSPORT_NONE;
}
bool is_log_level(std::string_view value) { return contains(kLogLevels, value); }

std::string plugin_kinds_list() { return join(kPluginKinds); }
std::string delivery_modes_list() { return join(kModes); }
std::string transport_choices_list() { return join(kTransports); }
std::string log_levels_list() { return join(kLogLevels); }

std::optional<Command> command_from_name(std::string_view name) {
    for (const CommandName& entry : kCommands) {
        if (entry.name == name) return entry.command;
    }
    return std::nullopt;
}

} // namespace om_cli
