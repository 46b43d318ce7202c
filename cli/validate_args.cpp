// Checks that need the whole command line: required options per command, address forms.
#include "parse_args.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <string>

namespace om_cli {
namespace {

bool is_port(std::string_view text) {
    int port = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
    return !text.empty() && ec == std::errc() && ptr == text.data() + text.size() && port >= 0 &&
           port <= 65535;
}

bool is_ipv4(const std::string& text) {
    in_addr addr{};
    return inet_pton(AF_INET, text.c_str(), &addr) == 1;
}

bool is_ipv6(const std::string& text) {
    in6_addr addr{};
    return inet_pton(AF_INET6, text.c_str(), &addr) == 1;
}

// "ip", "ip:port", "ipv6" or "[ipv6]:port".
bool is_bind_address(const std::string& text) {
    if (is_ipv4(text) || is_ipv6(text)) return true;
    if (!text.empty() && text.front() == '[') {
        size_t close = text.find("]:");
        return close != std::string::npos && is_ipv6(text.substr(1, close - 1)) &&
               is_port(std::string_view(text).substr(close + 2));
    }
    size_t colon = text.rfind(':');
    return colon != std::string::npos && is_ipv4(text.substr(0, colon)) &&
           is_port(std::string_view(text).substr(colon + 1));
}

// "ws://HOST:PORT" or "wss://HOST:PORT", optionally followed by a path.
bool is_server_url(const std::string& url) {
    std::string_view rest = url;
    if (rest.rfind("ws://", 0) == 0) {
        rest.remove_prefix(5);
    } else if (rest.rfind("wss://", 0) == 0) {
        rest.remove_prefix(6);
    } else {
        return false;
    }
    rest = rest.substr(0, rest.find('/'));
    size_t colon = rest.rfind(':');
    if (colon == std::string_view::npos || colon == 0) return false;
    return is_port(rest.substr(colon + 1));
}

std::string needs(const CliOptions& o, const char* what) {
    return o.command_name + " needs " + what;
}

} // namespace

std::string validate_args(const CliOptions& o) {
    const GlobalOptions& g = o.global;
    if (o.command == Command::None) return "missing COMMAND";
    if (!g.server.empty() && !is_server_url(g.server))
        return "--server: expected ws://HOST:PORT, got '" + g.server + "'";
    if (!g.bind.empty() && !is_bind_address(g.bind))
        return "--bind: expected an IP address, optionally with :PORT, got '" + g.bind + "'";
    switch (o.command) {
    case Command::Netcheck:
        if (g.server.empty() && g.stun_server.empty()) return needs(o, "--server or --stun-server");
        break;
    case Command::Listen:
    case Command::Connect:
    case Command::Bench:
        if (g.server.empty()) return needs(o, "--server ws://HOST:PORT");
        if (g.id.empty()) return needs(o, "--id NAME");
        if (o.command != Command::Listen && o.cmd.peer.empty()) return needs(o, "PEER");
        if (o.command != Command::Listen) {
            const bool reliable = o.cmd.mode == "reliable-ordered" || o.cmd.mode == "reliable-unordered";
            if (reliable && g.no_reliable)
                return o.command_name + ": --mode " + o.cmd.mode + " needs reliable delivery, which --no-reliable turns off";
            if (!reliable && g.no_unreliable)
                return o.command_name + ": --mode " + o.cmd.mode + " needs unreliable delivery, which --no-unreliable turns off";
        }
        if (g.no_reliable && g.no_unreliable)
            return o.command_name + ": --no-reliable and --no-unreliable leave no delivery mode";
        if (o.command == Command::Bench && o.cmd.size < 16)
            return "bench: --size must be at least 16 bytes (marker, sequence number and timestamp)";
        if (g.disconnect_timeout_ms <= g.keep_alive_ms)
            return "--disconnect-timeout-ms (" + std::to_string(g.disconnect_timeout_ms) +
                   ") must be greater than --keep-alive-ms (" + std::to_string(g.keep_alive_ms) + ")";
        break;
    case Command::DatagramDemo:
        if (o.cmd.size < 8 || o.cmd.size > 65507)
            return "datagram-demo: --size must be from 8 to 65507 bytes";
        break;
    default:
        break;
    }
    return "";
}

} // namespace om_cli
