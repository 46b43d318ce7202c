// `orbitmesh-server token --secret SECRET --id AGENT [--ttl 3600]`
#include "server_options.hpp"

#include <charconv>
#include <string_view>

namespace om::server {
namespace {

constexpr long kMaxTtlSeconds = 10L * 365 * 24 * 3600;

std::string parse_ttl(const std::string& text, int& out) {
    long value = 0;
    const char* end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (text.empty() || ec != std::errc() || ptr != end || value < 1 || value > kMaxTtlSeconds)
        return "token: --ttl: expected seconds from 1 to " + std::to_string(kMaxTtlSeconds) + ", got '" + text + "'";
    out = static_cast<int>(value);
    return "";
}

} // namespace

std::string parse_token_args(int argc, const char* const* argv, int first, TokenOptions& out) {
    for (int i = first; i < argc; ++i) {
        std::string arg = argv[i];
        size_t eq = arg.find('=');
        std::string name = arg.substr(0, eq);
        if (name != "--secret" && name != "--id" && name != "--ttl")
            return "token: unknown argument '" + arg + "'";
        std::string value;
        if (eq != std::string::npos) {
            value = arg.substr(eq + 1);
        } else if (i + 1 < argc) {
            value = argv[++i];
        } else {
            return "token: " + name + " needs a value";
        }
        if (name == "--ttl") {
            std::string error = parse_ttl(value, out.ttl_seconds);
            if (!error.empty()) return error;
        } else if (value.empty()) {
            return "token: " + name + " needs a value";
        } else {
            (name == "--secret" ? out.secret : out.id) = value;
        }
    }
    if (out.secret.empty()) return "token needs --secret SECRET";
    if (out.id.empty()) return "token needs --id AGENT";
    return "";
}

} // namespace om::server
