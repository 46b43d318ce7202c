// ICE candidates: RFC 8445 §5.1.2 priorities, §5.1.1.3 foundations, §6.1.2.3 pair priorities, and
// the RFC 8839 §5.1 candidate-attribute text, parsed strictly (a peer's text is untrusted input).
#include "proto/candidate.h"

#include "proto/address.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <span>
#include <vector>

namespace om::proto::ice {
namespace {

constexpr size_t kMaxCandidateText = 512;  // far above any real line; bounds the work per line
constexpr size_t kMaxFoundation = 32;      // RFC 8839 §5.1: 1*32ice-char
constexpr uint32_t kMaxComponent = 256;    // RFC 8445 §5.1.2.1: 1..256
constexpr uint32_t kMaxPriority = 0x7FFFFFFF;  // RFC 8445 §5.1.2: 1..2^31-1
constexpr std::string_view kPrefix = "candidate:";

bool fail(std::string* why, std::string message)
{
    if (why) *why = std::move(message);
    return false;
}

char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

// ABNF string literals ("typ", "udp", "raddr", …) are case-insensitive (RFC 5234 §2.3).
bool iequals(std::string_view a, std::string_view b)
{
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return lower(x) == lower(y); });
}

// RFC 8839 §5.1: ice-char = ALPHA / DIGIT / "+" / "/".
bool is_ice_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
}

// RFC 8866 §9 token-char (extension-att-name is a token).
bool is_token_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view("!#$%&'*+-.^_`{|}~").find(c) != std::string_view::npos;
}

bool check_foundation(std::string_view foundation, std::string* why)
{
    if (foundation.empty()) return fail(why, "empty foundation");
    if (foundation.size() > kMaxFoundation) return fail(why, "foundation longer than 32 characters");
    if (!std::all_of(foundation.begin(), foundation.end(), is_ice_char))
        return fail(why, "foundation '" + std::string(foundation) + "' has a character other than ALPHA, DIGIT, '+', '/'");
    return true;
}

bool check_component(uint64_t component, std::string* why)
{
    if (component < 1 || component > kMaxComponent) return fail(why, "component " + std::to_string(component) + " is not in 1..256");
    return true;
}

bool check_priority(uint64_t priority, std::string* why)
{
    if (priority < 1 || priority > kMaxPriority) return fail(why, "priority " + std::to_string(priority) + " is not in 1..2^31-1");
    return true;
}

// Digits only (no sign, no space), at most max_digits of them.
bool parse_digits(std::string_view token, size_t max_digits, uint64_t& value)
{
    if (token.empty() || token.size() > max_digits) return false;
    if (!std::all_of(token.begin(), token.end(), [](char c) { return c >= '0' && c <= '9'; })) return false;
    auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), value);
    return ec == std::errc() && end == token.data() + token.size();
}

bool parse_port(std::string_view token, const char* what, uint16_t& port, std::string* why)
{
    uint64_t value = 0;
    if (!parse_digits(token, 5, value) || value > 65535)
        return fail(why, std::string(what) + " '" + std::string(token) + "' is not a number in 0..65535");
    port = static_cast<uint16_t>(value);
    return true;
}

// "2001:db8::1" without brackets or port (format_address writes "[2001:db8::1]:5000").
std::string ip_literal(const om_address& address)
{
    char text[INET6_ADDRSTRLEN] = {0};
    inet_ntop(address.family == 6 ? AF_INET6 : AF_INET, address.bytes, text, sizeof text);
    return text;
}

// The candidate's own transport address must be one a peer can send to.
bool check_transport_address(const om_address& address, std::string* why)
{
    if (address.port == 0) return fail(why, "port 0 is not a usable transport address");
    if (is_unspecified(address)) return fail(why, "the unspecified address is not a usable transport address");
    return true;
}

std::optional<CandidateType> type_from_name(std::string_view name)
{
    for (auto type : {CandidateType::Host, CandidateType::ServerReflexive, CandidateType::PeerReflexive, CandidateType::Relayed})
        if (iequals(name, type_name(type))) return type;
    return std::nullopt;
}

std::vector<std::string_view> split_fields(std::string_view text)
{
    std::vector<std::string_view> fields;
    size_t start = 0;
    while (true) {
        size_t space = text.find(' ', start);
        fields.push_back(text.substr(start, space == std::string_view::npos ? std::string_view::npos : space - start));
        if (space == std::string_view::npos) return fields;
        start = space + 1;
    }
}

// Bytes allowed in the line: VCHAR and SP (RFC 8839 §5.1 is all VCHAR separated by SP).
bool check_characters(std::string_view text, std::string* why)
{
    for (size_t i = 0; i < text.size(); ++i) {
        auto c = static_cast<unsigned char>(text[i]);
        if (c == ' ') continue;
        if (c < 0x21 || c == 0x7F) return fail(why, "control character at offset " + std::to_string(i));
        if (c > 0x7E) return fail(why, "non-ASCII byte at offset " + std::to_string(i));
    }
    return true;
}

// After "typ <type>": [raddr <ip> rport <port>] then extension name/value pairs (skipped).
bool parse_tail(std::span<const std::string_view> tail, Candidate& out, std::string* why)
{
    size_t i = 0;
    if (i < tail.size() && iequals(tail[i], "raddr")) {
        if (out.type == CandidateType::Host) return fail(why, "raddr on a host candidate (RFC 8839 §5.1: must be omitted)");
        if (tail.size() < i + 4 || !iequals(tail[i + 2], "rport")) return fail(why, "raddr without 'rport <port>' after it");
        uint16_t port = 0;
        if (!parse_port(tail[i + 3], "rport", port, why)) return false;
        om_address related{};
        if (!parse_ip_literal(tail[i + 1], port, related, why)) return false;
        out.related = related;
        i += 4;
    }
    for (; i < tail.size(); i += 2) {
        const std::string_view name = tail[i];
        if (iequals(name, "raddr") || iequals(name, "rport") || iequals(name, "typ"))
            return fail(why, std::string("'").append(name).append("' out of place"));
        if (!std::all_of(name.begin(), name.end(), is_token_char))
            return fail(why, "extension attribute name '" + std::string(name) + "' is not a token");
        if (i + 1 == tail.size()) return fail(why, "extension attribute '" + std::string(name) + "' has no value");
    }
    return true;
}

template <size_t N>
void copy_text(char (&field)[N], std::string_view text)
{
    const size_t n = std::min(text.size(), N - 1);
    std::memcpy(field, text.data(), n);
    field[n] = '\0';
}

// A fixed-size C string field must hold its NUL.
template <size_t N>
bool c_text(const char (&field)[N], const char* what, std::string_view& out, std::string* why)
{
    const void* nul = std::memchr(field, '\0', N);
    if (!nul) return fail(why, std::string(what) + " is not NUL-terminated");
    out = std::string_view(field, static_cast<size_t>(static_cast<const char*>(nul) - field));
    return true;
}

// "ip:port" / "[ipv6]:port" as om_candidate carries them; no zone id (RFC 8839 has no room for it).
bool parse_c_address(std::string_view text, const char* what, om_address& out, std::string* why)
{
    std::string detail;
    if (!parse_address(text, 0, out, &detail)) return fail(why, std::string(what) + ": " + detail);
    if (out.scope_id != 0) return fail(why, std::string(what) + " has a zone id, which the candidate text cannot carry");
    return true;
}

}  // namespace

// RFC 8839 §5.1 connection-address, restricted to IP literals (no DNS or mDNS names).
bool parse_ip_literal(std::string_view token, uint16_t port, om_address& out, std::string* why)
{
    const std::string quoted = std::string("'").append(token).append("'");  // not "'" + ...: GCC 12 -O3 -Wrestrict
    if (token.find_first_of("[]%") != std::string_view::npos)
        return fail(why, "address " + quoted + " is not a bare IP literal (no brackets or zone id)");
    if (std::count(token.begin(), token.end(), ':') == 1) return fail(why, "address " + quoted + " carries a port");
    om_address address{};
    if (!parse_address(token, port, address)) return fail(why, "address " + quoted + " is not an IPv4 or IPv6 literal");
    out = address;
    return true;
}

uint32_t type_preference(CandidateType type)
{
    switch (type) {
    case CandidateType::Host: return 126;
    case CandidateType::PeerReflexive: return 110;
    case CandidateType::ServerReflexive: return 100;
    case CandidateType::Relayed: return 0;
    }
    return 0;
}

uint32_t candidate_priority(CandidateType type, uint16_t local_preference, uint32_t component)
{
    return (type_preference(type) << 24) + (uint32_t{local_preference} << 8) + (256 - component);
}

uint64_t pair_priority(uint32_t controlling, uint32_t controlled)
{
    const uint64_t lo = std::min(controlling, controlled);
    const uint64_t hi = std::max(controlling, controlled);
    return (lo << 32) + 2 * hi + (controlling > controlled ? 1 : 0);
}

const char* type_name(CandidateType type)
{
    switch (type) {
    case CandidateType::Host: return "host";
    case CandidateType::ServerReflexive: return "srflx";
    case CandidateType::PeerReflexive: return "prflx";
    case CandidateType::Relayed: return "relay";
    }
    return "unknown";
}

bool Candidate::operator==(const Candidate& other) const
{
    const bool same_related = related.has_value() == other.related.has_value() &&
                              (!related || same_address(*related, *other.related));
    return type == other.type && same_address(address, other.address) && same_related && foundation == other.foundation &&
           priority == other.priority && component == other.component && relay_server == other.relay_server;
}

std::string make_foundation(CandidateType type, const om_address& base, std::string_view server)
{
    // FNV-1a (32 bits): the same inputs give the same foundation in every build and on every
    // machine (std::hash promises neither). Port excluded: §5.1.1.3 groups by base IP.
    uint32_t hash = 2166136261u;
    auto mix = [&hash](uint8_t byte) {
        hash ^= byte;
        hash *= 16777619u;
    };
    mix(static_cast<uint8_t>(type));
    mix(static_cast<uint8_t>(base.family));
    for (size_t i = 0; i < (base.family == 6 ? 16u : 4u); ++i) mix(base.bytes[i]);
    for (char c : server) mix(static_cast<uint8_t>(c));
    char text[9];
    std::snprintf(text, sizeof text, "%08x", hash);  // hex digits are ice-chars
    return text;
}

Candidate make_host(const om_address& address, uint16_t local_preference)
{
    Candidate c;
    c.type = CandidateType::Host;
    c.address = address;
    c.foundation = make_foundation(c.type, address);
    c.priority = candidate_priority(c.type, local_preference);
    return c;
}

Candidate make_server_reflexive(const om_address& mapped, const om_address& base, uint16_t local_preference)
{
    Candidate c;
    c.type = CandidateType::ServerReflexive;
    c.address = mapped;
    c.related = base;
    c.foundation = make_foundation(c.type, base);
    c.priority = candidate_priority(c.type, local_preference);
    return c;
}

Candidate make_peer_reflexive(const om_address& mapped, const om_address& base, uint32_t priority)
{
    Candidate c;
    c.type = CandidateType::PeerReflexive;
    c.address = mapped;
    c.related = base;
    c.foundation = make_foundation(c.type, base);
    c.priority = priority;  // §7.2.5.3.1: the PRIORITY of the check that revealed it
    return c;
}

Candidate make_relayed(const om_address& relayed, std::string relay_server, uint16_t local_preference)
{
    Candidate c;
    c.type = CandidateType::Relayed;
    c.address = relayed;
    c.foundation = make_foundation(c.type, relayed, relay_server);  // a relayed candidate is its own base
    c.priority = candidate_priority(c.type, local_preference);
    c.relay_server = std::move(relay_server);
    return c;
}

std::string format(const Candidate& candidate)
{
    std::string text = std::string(kPrefix) + candidate.foundation + " " + std::to_string(candidate.component) + " udp " +
                       std::to_string(candidate.priority) + " " + ip_literal(candidate.address) + " " +
                       std::to_string(candidate.address.port) + " typ " + type_name(candidate.type);
    if (candidate.related)
        text += " raddr " + ip_literal(*candidate.related) + " rport " + std::to_string(candidate.related->port);
    return text;
}

bool parse(std::string_view text, Candidate& out, std::string* why)
{
    if (text.size() > kMaxCandidateText) return fail(why, "longer than 512 bytes");
    if (!check_characters(text, why)) return false;
    if (text.starts_with("a=")) text.remove_prefix(2);
    if (text.size() < kPrefix.size() || !iequals(text.substr(0, kPrefix.size()), kPrefix))
        return fail(why, "does not start with 'candidate:'");
    text.remove_prefix(kPrefix.size());

    const std::vector<std::string_view> fields = split_fields(text);
    for (size_t i = 0; i < fields.size(); ++i)
        if (fields[i].empty()) return fail(why, "empty field " + std::to_string(i + 1) + " (a leading, trailing or double space)");
    // foundation component transport priority ip port "typ" type
    if (fields.size() < 8) return fail(why, "too few fields (" + std::to_string(fields.size()) + " of at least 8)");

    Candidate candidate;
    if (!check_foundation(fields[0], why)) return false;
    candidate.foundation = std::string(fields[0]);

    uint64_t number = 0;
    if (!parse_digits(fields[1], 3, number)) return fail(why, "component '" + std::string(fields[1]) + "' is not a number");
    if (!check_component(number, why)) return false;
    candidate.component = static_cast<uint32_t>(number);

    if (!iequals(fields[2], "udp")) {
        std::string upper(fields[2]);
        for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        return fail(why, "transport " + upper + " is not supported");
    }

    if (!parse_digits(fields[3], 10, number)) return fail(why, "priority '" + std::string(fields[3]) + "' is not a number");
    if (!check_priority(number, why)) return false;
    candidate.priority = static_cast<uint32_t>(number);

    uint16_t port = 0;
    if (!parse_port(fields[5], "port", port, why)) return false;
    if (!parse_ip_literal(fields[4], port, candidate.address, why)) return false;
    if (!check_transport_address(candidate.address, why)) return false;

    if (!iequals(fields[6], "typ")) return fail(why, "expected 'typ', found '" + std::string(fields[6]) + "'");
    auto type = type_from_name(fields[7]);
    if (!type) return fail(why, "unknown candidate type '" + std::string(fields[7]) + "'");
    candidate.type = *type;

    if (!parse_tail(std::span(fields).subspan(8), candidate, why)) return false;
    out = std::move(candidate);
    return true;
}

void to_c(const Candidate& in, om_candidate& out)
{
    out = om_candidate{};
    out.struct_size = sizeof(om_candidate);
    out.type = static_cast<om_candidate_type>(in.type);
    copy_text(out.address, format_address(in.address));
    copy_text(out.related_address, in.related ? format_address(*in.related) : std::string());
    copy_text(out.relay_server, in.relay_server);
    copy_text(out.foundation, in.foundation);
    out.priority = in.priority;
    out.component = in.component;
}

bool from_c(const om_candidate& in, Candidate& out, std::string* why)
{
    Candidate candidate;
    if (in.type < OM_CANDIDATE_HOST || in.type > OM_CANDIDATE_RELAYED)
        return fail(why, "type " + std::to_string(in.type) + " is not an om_candidate_type");
    candidate.type = static_cast<CandidateType>(in.type);

    std::string_view address, related, relay_server, foundation;
    if (!c_text(in.address, "address", address, why) || !c_text(in.related_address, "related_address", related, why) ||
        !c_text(in.relay_server, "relay_server", relay_server, why) || !c_text(in.foundation, "foundation", foundation, why))
        return false;

    if (!parse_c_address(address, "address", candidate.address, why)) return false;
    if (!check_transport_address(candidate.address, why)) return false;
    if (!related.empty()) {
        if (candidate.type == CandidateType::Host) return fail(why, "a host candidate has no related_address");
        om_address base{};
        if (!parse_c_address(related, "related_address", base, why)) return false;
        candidate.related = base;
    }
    if (!relay_server.empty() && candidate.type != CandidateType::Relayed)
        return fail(why, "relay_server is only for relayed candidates");
    candidate.relay_server = std::string(relay_server);

    if (!check_foundation(foundation, why)) return false;
    candidate.foundation = std::string(foundation);
    if (!check_priority(in.priority, why) || !check_component(in.component, why)) return false;
    candidate.priority = in.priority;
    candidate.component = in.component;
    out = std::move(candidate);
    return true;
}

}  // namespace om::proto::ice
