// The server's options: one table of names, each with the setter that checks and stores a
// value. The command line, the config file and the environment all go through apply_setting.
#include "server_options.hpp"

#include <charconv>

namespace om::server {
namespace {

using Setter = std::function<std::string(ServerOptions&, const Setting&)>;

struct OptionSpec {
    const char* name;
    bool flag;
    bool repeatable;
    Setter set;
};

std::string bad_value(const Setting& s, const std::string& expected) {
    return s.origin + ": expected " + expected + ", got '" + s.value + "'";
}

Setter text(std::string ServerOptions::*field) {
    return [field](ServerOptions& o, const Setting& s) -> std::string {
        if (s.value.empty()) return s.origin + " needs a value";
        o.*field = s.value;
        return "";
    };
}

Setter number(int ServerOptions::*field, int min, int max) {
    return [=](ServerOptions& o, const Setting& s) -> std::string {
        int value = 0;
        const char* end = s.value.data() + s.value.size();
        auto [ptr, ec] = std::from_chars(s.value.data(), end, value);
        if (s.value.empty() || ec != std::errc() || ptr != end || value < min || value > max)
            return bad_value(s, "a number from " + std::to_string(min) + " to " + std::to_string(max));
        o.*field = value;
        return "";
    };
}

// On the command line a flag's value is "true"; files and variables spell it out.
Setter flag(bool ServerOptions::*field) {
    return [field](ServerOptions& o, const Setting& s) -> std::string {
        if (s.value == "true" || s.value == "1" || s.value == "yes" || s.value == "on") {
            o.*field = true;
        } else if (s.value == "false" || s.value == "0" || s.value == "no" || s.value == "off") {
            o.*field = false;
        } else {
            return bad_value(s, "true or false");
        }
        return "";
    };
}

// -1 (a free port) or 1..65535; 0 ("none") is the default and cannot be written out.
std::string set_stun_alt_port(ServerOptions& o, const Setting& s) {
    if (s.value == "-1") {
        o.stun_alt_port = -1;
        return "";
    }
    if (!number(&ServerOptions::stun_alt_port, 1, 65535)(o, s).empty())
        return bad_value(s, "-1 (a free port) or a port from 1 to 65535");
    return "";
}

std::string add_turn_user(ServerOptions& o, const Setting& s) {
    size_t colon = s.value.find(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == s.value.size())
        return bad_value(s, "NAME:PASS");
    o.turn_users.push_back({s.value.substr(0, colon), s.value.substr(colon + 1)});
    return "";
}

std::string set_redis(ServerOptions& o, const Setting& s) {
    if (s.value.rfind("redis://", 0) != 0 || s.value.size() == 8)
        return bad_value(s, "a URL redis://HOST[:PORT]");
    o.redis = s.value;
    return "";
}

const std::vector<OptionSpec>& table() {
    using O = ServerOptions;
    static const std::vector<OptionSpec> specs = {
        {"config", false, false, text(&O::config_file)},
        {"bind", false, false, text(&O::bind)},
        {"http-port", false, false, number(&O::http_port, 0, 65535)},
        {"stun-port", false, false, number(&O::stun_port, -1, 65535)},
        {"stun-alt-address", false, false, text(&O::stun_alt_address)},
        {"stun-alt-port", false, false, set_stun_alt_port},
        {"stun-rate-limit", false, false, number(&O::stun_rate_limit, 0, 1000000)},
        {"stun-threads", false, false, number(&O::stun_threads, 0, 64)},
        {"enable-turn-relay", true, false, flag(&O::enable_turn_relay)},
        {"turn-realm", false, false, text(&O::turn_realm)},
        {"turn-user", false, true, add_turn_user},
        {"turn-secret", false, false, text(&O::turn_secret)},
        {"turn-min-port", false, false, number(&O::turn_min_port, 1, 65535)},
        {"turn-max-port", false, false, number(&O::turn_max_port, 1, 65535)},
        {"turn-allow-loopback-peers", true, false, flag(&O::turn_allow_loopback_peers)},
        {"turn-max-allocations", false, false, number(&O::turn_max_allocations, 1, 1000000)},
        {"turn-user-quota", false, false, number(&O::turn_user_quota, 1, 1000000)},
        {"turn-bytes-per-s", false, false, number(&O::turn_bytes_per_s, 0, 1 << 30)},
        {"turn-credential-ttl", false, false, number(&O::turn_credential_ttl, 60, 30 * 86400)},
        {"turn-address", false, false, text(&O::turn_address)},
        {"secret", false, false, text(&O::secret)},
        {"open", true, false, flag(&O::open)},
        {"redis", false, false, set_redis},
        {"replace-existing-id", true, false, flag(&O::replace_existing_id)},
        {"max-frame-bytes", false, false, number(&O::max_frame_bytes, 1024, 16 << 20)},
        {"relay-bytes-per-s", false, false, number(&O::relay_bytes_per_s, 0, 1 << 30)},
        {"send-queue-bytes", false, false, number(&O::send_queue_bytes, 1024, 1 << 30)},
        {"reactor-threads", false, false, number(&O::reactor_threads, 0, 64)},
    };
    return specs;
}

const OptionSpec* find(const std::string& name) {
    for (const OptionSpec& spec : table()) {
        if (name == spec.name) return &spec;
    }
    return nullptr;
}

} // namespace

bool is_server_option(const std::string& name) { return find(name) != nullptr; }

bool is_server_flag(const std::string& name) {
    const OptionSpec* spec = find(name);
    return spec && spec->flag;
}

bool is_repeatable_option(const std::string& name) {
    const OptionSpec* spec = find(name);
    return spec && spec->repeatable;
}

std::vector<std::string> server_option_names() {
    std::vector<std::string> names;
    for (const OptionSpec& spec : table()) names.emplace_back(spec.name);
    return names;
}

std::string apply_setting(ServerOptions& options, const Setting& setting) {
    const OptionSpec* spec = find(setting.name);
    if (!spec) return setting.origin + ": unknown option '" + setting.name + "'";
    return spec->set(options, setting);
}

} // namespace om::server
