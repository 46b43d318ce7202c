#include "proto/address.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace om::proto {
namespace {

bool fail(std::string* why, std::string message)
{
    if (why) *why = std::move(message);
    return false;
}

bool parse_port(std::string_view text, uint16_t& port)
{
    if (text.empty() || text.size() > 5) return false;
    unsigned value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || value > 65535) return false;
    port = static_cast<uint16_t>(value);
    return true;
}

bool parse_host(const std::string& host, om_address& out)
{
    out = om_address{};
    if (inet_pton(AF_INET, host.c_str(), out.bytes) == 1) {
        out.family = 4;
        return true;
    }
    std::string v6 = host;
    auto percent = v6.find('%');
    if (percent != std::string::npos) {
        uint32_t scope = 0;
        std::string_view digits(v6.c_str() + percent + 1);
        auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), scope);
        if (ec != std::errc() || end != digits.data() + digits.size()) return false;
        out.scope_id = scope;
        v6.resize(percent);
    }
    if (inet_pton(AF_INET6, v6.c_str(), out.bytes) == 1) {
        out.family = 6;
        return true;
    }
    return false;
}

} // namespace

bool parse_address(std::string_view text, uint16_t default_port, om_address& out, std::string* why)
{
    if (text.empty()) return fail(why, "empty address");
    if (text.size() >= OM_ADDRESS_STRLEN) return fail(why, "address too long");
    std::string host;
    uint16_t port = default_port;
    if (text.front() == '[') {
        auto close = text.find(']');
        if (close == std::string_view::npos) return fail(why, "missing ']' in '" + std::string(text) + "'");
        host = std::string(text.substr(1, close - 1));
        auto rest = text.substr(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':' || !parse_port(rest.substr(1), port))
                return fail(why, "bad port in '" + std::string(text) + "'");
        }
    } else {
        auto first = text.find(':');
        auto last = text.rfind(':');
        if (first != std::string_view::npos && first == last) {  // IPv4 or name with a port
            host = std::string(text.substr(0, first));
            if (!parse_port(text.substr(first + 1), port))
                return fail(why, "bad port in '" + std::string(text) + "'");
        } else {
            host = std::string(text);  // bare IPv4, or bare IPv6 (several colons)
        }
    }
    om_address parsed{};
    if (!parse_host(host, parsed))
        return fail(why, "'" + host + "' is not an IPv4 or IPv6 address");
    parsed.port = port;
    out = parsed;
    return true;
}

std::string format_address(const om_address& address)
{
    // Built with reserve/append: GCC 12 at -O3 sees a false -Wrestrict in the inlined
    // std::string operator+ chains ("[" + host, text + "]:").
    char host[INET6_ADDRSTRLEN] = {0};
    std::string text;
    text.reserve(sizeof host + 20);
    if (address.family == 4) {
        inet_ntop(AF_INET, address.bytes, host, sizeof host);
        text.append(host).append(1, ':').append(std::to_string(address.port));
        return text;
    }
    if (address.family == 6) {
        inet_ntop(AF_INET6, address.bytes, host, sizeof host);
        text.append(1, '[').append(host);
        if (address.scope_id) text.append(1, '%').append(std::to_string(address.scope_id));
        text.append("]:").append(std::to_string(address.port));
        return text;
    }
    return text;
}

bool same_address(const om_address& a, const om_address& b)
{
    if (a.family != b.family || a.port != b.port) return false;
    size_t n = a.family == 4 ? 4 : 16;
    return std::memcmp(a.bytes, b.bytes, n) == 0 && (a.family != 6 || a.scope_id == b.scope_id);
}

size_t AddressHash::operator()(const om_address& address) const noexcept
{
    // FNV-1a over what same_address compares.
    uint64_t h = 1469598103934665603ull;
    const auto mix = [&h](uint64_t byte) { h = (h ^ byte) * 1099511628211ull; };
    mix(address.family);
    mix(address.port & 0xff);
    mix(address.port >> 8);
    const size_t n = address.family == 4 ? 4 : 16;
    for (size_t i = 0; i < n; ++i) mix(address.bytes[i]);
    if (address.family == 6) mix(address.scope_id);
    return size_t(h);
}

bool is_loopback(const om_address& address)
{
    if (address.family == 4) return address.bytes[0] == 127;
    if (address.family == 6) {
        static const uint8_t loopback[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
        return std::memcmp(address.bytes, loopback, 16) == 0;
    }
    return false;
}

bool same_ip(const om_address& a, const om_address& b)
{
    if (a.family != b.family || (a.family != 4 && a.family != 6)) return false;
    return std::memcmp(a.bytes, b.bytes, a.family == 4 ? 4 : 16) == 0;
}

bool is_link_local(const om_address& address)
{
    if (address.family == 4) return address.bytes[0] == 169 && address.bytes[1] == 254;
    return address.family == 6 && address.bytes[0] == 0xfe && (address.bytes[1] & 0xc0) == 0x80;
}

bool is_ipv4_mapped(const om_address& address)
{
    static const uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return address.family == 6 && std::memcmp(address.bytes, prefix, sizeof prefix) == 0;
}

bool is_unspecified(const om_address& address)
{
    size_t n = address.family == 4 ? 4 : address.family == 6 ? 16 : 0;
    for (size_t i = 0; i < n; ++i)
        if (address.bytes[i]) return false;
    return n != 0;
}

} // namespace om::proto
