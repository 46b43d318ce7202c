// ICE candidates: RFC 8445 priorities with the seed's type preferences, foundations, the RFC 8839
// text form (round trips, the RFC's own examples, malformed lines refused with a reason), the
// om_candidate conversions and the C API (om_candidate_*).
#include "proto/address.h"
#include "proto/candidate.h"

#include <orbitmesh/orbitmesh.h>

#include <catch2/catch.hpp>

#include <cstddef>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace ice = om::proto::ice;
using ice::CandidateType;

namespace {

om_address address_of(const char* text)
{
    om_address a{};
    REQUIRE(om::proto::parse_address(text, 0, a));
    return a;
}

ice::Candidate parsed(const std::string& text)
{
    ice::Candidate c;
    std::string why;
    INFO(text);
    REQUIRE(ice::parse(text, c, &why));
    CHECK(why.empty());
    return c;
}

std::string why_refused(const std::string& text)
{
    ice::Candidate c;
    std::string why;
    INFO(text);
    REQUIRE_FALSE(ice::parse(text, c, &why));
    REQUIRE_FALSE(why.empty());
    return why;
}

om_candidate empty_candidate()
{
    om_candidate c;
    std::memset(&c, 0, sizeof c);
    c.struct_size = sizeof c;
    return c;
}

std::string c_text(const om_candidate& c)
{
    char buf[256];
    size_t needed = 0;
    REQUIRE(om_candidate_to_string(&c, buf, sizeof buf, &needed) == OM_OK);
    CHECK(needed == std::strlen(buf) + 1);
    return buf;
}

}  // namespace

TEST_CASE("type preferences are the seed's: host 126, srflx 100, prflx 110, relay 0", "[candidate]")
{
    CHECK(ice::type_preference(CandidateType::Host) == 126);
    CHECK(ice::type_preference(CandidateType::ServerReflexive) == 100);
    CHECK(ice::type_preference(CandidateType::PeerReflexive) == 110);
    CHECK(ice::type_preference(CandidateType::Relayed) == 0);
    CHECK(std::string(ice::type_name(CandidateType::Host)) == "host");
    CHECK(std::string(ice::type_name(CandidateType::ServerReflexive)) == "srflx");
    CHECK(std::string(ice::type_name(CandidateType::PeerReflexive)) == "prflx");
    CHECK(std::string(ice::type_name(CandidateType::Relayed)) == "relay");
}

TEST_CASE("candidate priority follows RFC 8445 §5.1.2.1", "[candidate]")
{
    // 2^24*type_pref + 2^8*local_pref + (256 - component)
    CHECK(ice::candidate_priority(CandidateType::Host, 65535) == 2130706431u);
    CHECK(ice::candidate_priority(CandidateType::ServerReflexive, 65535) == 1694498815u);  // RFC 8839's example
    CHECK(ice::candidate_priority(CandidateType::PeerReflexive, 65535) == 1862270975u);
    CHECK(ice::candidate_priority(CandidateType::Relayed, 65535) == 16777215u);
    CHECK(ice::candidate_priority(CandidateType::Host, 65535, 2) == 2130706430u);
    CHECK(ice::candidate_priority(CandidateType::Host, 0, 256) == 126u << 24);
    CHECK(ice::candidate_priority(CandidateType::Host, 65534) == 2130706431u - 256);
    // Any host beats any prflx, which beats any srflx, which beats any relay.
    CHECK(ice::candidate_priority(CandidateType::Host, 0, 256) > ice::candidate_priority(CandidateType::PeerReflexive, 65535));
    CHECK(ice::candidate_priority(CandidateType::PeerReflexive, 0, 256) > ice::candidate_priority(CandidateType::ServerReflexive, 65535));
    CHECK(ice::candidate_priority(CandidateType::ServerReflexive, 0, 256) > ice::candidate_priority(CandidateType::Relayed, 65535));
}

TEST_CASE("pair priority follows RFC 8445 §6.1.2.3, including the tie bit", "[candidate]")
{
    const uint32_t host = 2130706431u, srflx = 1694498815u;
    // 2^32*MIN(G,D) + 2*MAX(G,D) + (G>D?1:0)
    CHECK(ice::pair_priority(host, srflx) == 7277816997797167103ull);
    CHECK(ice::pair_priority(srflx, host) == 7277816997797167102ull);
    CHECK(ice::pair_priority(host, host) == (uint64_t{host} << 32) + 2ull * host);
    CHECK(ice::pair_priority(1, 0) == 3);
    CHECK(ice::pair_priority(0x7FFFFFFF, 0x7FFFFFFF) == 0x7FFFFFFFull * ((1ull << 32) + 2));
    // Both sides compute the same number for the same pair, given the same roles.
    CHECK(ice::pair_priority(srflx, host) < ice::pair_priority(host, srflx));
}

TEST_CASE("foundations are short ice-char strings, stable and grouped as RFC 8445 §5.1.1.3 says", "[candidate]")
{
    const om_address a = address_of("192.0.2.1:5000");
    const std::string f = ice::make_foundation(CandidateType::Host, a);
    // FNV-1a of (type, family, IP bytes, server): the same in every build and on every machine.
    CHECK(f == "a4cf9790");
    CHECK(ice::make_foundation(CandidateType::Relayed, address_of("198.51.100.7:9"), "turn.example.net:3478") == "a97ff654");
    CHECK(ice::make_foundation(CandidateType::Host, address_of("192.0.2.1:6000")) == f);  // port does not count
    CHECK(ice::make_foundation(CandidateType::ServerReflexive, a) != f);
    CHECK(ice::make_foundation(CandidateType::Host, address_of("192.0.2.2:5000")) != f);
    CHECK(ice::make_foundation(CandidateType::Relayed, a, "turn1:3478") != ice::make_foundation(CandidateType::Relayed, a, "turn2:3478"));
    CHECK(ice::make_foundation(CandidateType::Host, address_of("[2001:db8::1]:5000")).size() <= 32);
}

TEST_CASE("constructors fill type, priority, related address and foundation", "[candidate]")
{
    const auto host = ice::make_host(address_of("192.0.2.1:5000"));
    CHECK(host.type == CandidateType::Host);
    CHECK(host.priority == 2130706431u);
    CHECK(host.component == 1);
    CHECK_FALSE(host.related);

    const auto srflx = ice::make_server_reflexive(address_of("203.0.113.9:62000"), address_of("10.0.0.2:5000"));
    CHECK(srflx.priority == 1694498815u);
    REQUIRE(srflx.related);
    CHECK(om::proto::format_address(*srflx.related) == "10.0.0.2:5000");
    // §5.1.1.3: srflx candidates sharing a base share a foundation, whatever the mapping.
    CHECK(ice::make_server_reflexive(address_of("203.0.113.9:1"), address_of("10.0.0.2:7")).foundation == srflx.foundation);

    const auto prflx = ice::make_peer_reflexive(address_of("203.0.113.9:62001"), address_of("10.0.0.2:5000"), 1862270975u);
    CHECK(prflx.priority == 1862270975u);
    CHECK(prflx.type == CandidateType::PeerReflexive);

    const auto relay = ice::make_relayed(address_of("198.51.100.7:49152"), "turn.example.net:3478");
    CHECK(relay.priority == 16777215u);
    CHECK(relay.relay_server == "turn.example.net:3478");
}

TEST_CASE("format writes RFC 8839 text and parse reads it back, IPv4 and IPv6", "[candidate]")
{
    const auto host = ice::make_host(address_of("192.0.2.1:5000"));
    CHECK(ice::format(host) == "candidate:a4cf9790 1 udp 2130706431 192.0.2.1 5000 typ host");

    const auto v6 = ice::make_host(address_of("[2001:db8::1]:5000"), 65534);
    CHECK(ice::format(v6) == "candidate:" + v6.foundation + " 1 udp 2130706175 2001:db8::1 5000 typ host");

    const auto srflx = ice::make_server_reflexive(address_of("[2001:db8::9]:62000"), address_of("[2001:db8::2]:5000"));
    CHECK(ice::format(srflx) ==
          "candidate:" + srflx.foundation + " 1 udp 1694498815 2001:db8::9 62000 typ srflx raddr 2001:db8::2 rport 5000");

    auto relay = ice::make_relayed(address_of("198.51.100.7:49152"), "turn.example.net:3478");
    for (const auto& c : {host, v6, srflx, ice::make_server_reflexive(address_of("203.0.113.9:62000"), address_of("10.0.0.2:5000")),
                          ice::make_peer_reflexive(address_of("[2001:db8::7]:1"), address_of("[2001:db8::2]:5000"), 12345)}) {
        INFO(ice::format(c));
        CHECK(parsed(ice::format(c)) == c);
    }
    // The TURN server is not part of the text: it comes back empty.
    ice::Candidate back = parsed(ice::format(relay));
    CHECK(back.relay_server.empty());
    relay.relay_server.clear();
    CHECK(back == relay);
}

TEST_CASE("parse accepts the RFC 8839 examples and what browsers send", "[candidate]")
{
    // RFC 8839 §5.1 / §9 examples (upper-case transport, "a=" prefix).
    auto a = parsed("a=candidate:1 1 UDP 2130706431 203.0.113.141 8998 typ host");
    CHECK(a.foundation == "1");
    CHECK(a.priority == 2130706431u);
    CHECK(om::proto::format_address(a.address) == "203.0.113.141:8998");
    CHECK(a.type == CandidateType::Host);

    auto b = parsed("a=candidate:2 1 UDP 1694498815 192.0.2.3 45664 typ srflx raddr 203.0.113.141 rport 8998");
    CHECK(b.type == CandidateType::ServerReflexive);
    REQUIRE(b.related);
    CHECK(om::proto::format_address(*b.related) == "203.0.113.141:8998");

    auto v6 = parsed("candidate:1 1 UDP 2130706431 2001:db8:a0b:12f0::1 8998 typ host");
    CHECK(om::proto::format_address(v6.address) == "[2001:db8:a0b:12f0::1]:8998");

    // Extension attributes after the type are skipped; raddr 0.0.0.0 rport 0 is the privacy form.
    auto chrome = parsed("candidate:842163049 1 udp 1677729535 203.0.113.7 54400 typ srflx raddr 0.0.0.0 rport 0 "
                         "generation 0 ufrag sXdm network-cost 999");
    CHECK(chrome.priority == 1677729535u);
    REQUIRE(chrome.related);
    CHECK(chrome.related->port == 0);
    CHECK(parsed("candidate:x 1 udp 1 192.0.2.1 5000 typ host generation 0").type == CandidateType::Host);

    // Bounds and case-insensitive literals (RFC 5234 §2.3).
    CHECK(parsed("candidate:a+/Z9 256 uDp 2147483647 192.0.2.1 65535 TYP RELAY").component == 256);
    CHECK(parsed("candidate:" + std::string(32, 'f') + " 1 udp 1 192.0.2.1 1 typ prflx").foundation.size() == 32);
    // Non-canonical IPv6 comes back canonical.
    CHECK(ice::format(parsed("candidate:1 1 udp 1 2001:0db8:0000::0001 1 typ host")) ==
          "candidate:1 1 udp 1 2001:db8::1 1 typ host");
}

TEST_CASE("parse refuses malformed lines and says why", "[candidate]")
{
    const std::string ok = "candidate:1 1 udp 2130706431 192.0.2.1 5000 typ host";
    ice::Candidate sanity;
    REQUIRE(ice::parse(ok, sanity));
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"", "does not start with 'candidate:'"},
        {"b=candidate:1 1 udp 1 192.0.2.1 5000 typ host", "does not start"},
        {"candidate 1 1 udp 1 192.0.2.1 5000 typ host", "does not start"},
        {"a=a=candidate:1 1 udp 1 192.0.2.1 5000 typ host", "does not start"},
        {"candidate:", "empty field"},
        {"candidate:1 1 udp 1 192.0.2.1 5000 typ", "too few fields"},
        {"candidate:1 1 udp 1 192.0.2.1 5000", "too few fields"},
        {"candidate:1 1 TCP 2130706431 192.0.2.1 5000 typ host", "transport TCP is not supported"},
        {"candidate:1 1 tcp 2130706431 192.0.2.1 9 typ host tcptype active", "transport TCP is not supported"},
        {"candidate:1 1 dtls 1 192.0.2.1 5000 typ host", "transport DTLS is not supported"},
        {"candidate:" + std::string(33, 'a') + " 1 udp 1 192.0.2.1 5000 typ host", "longer than 32"},
        {"candidate:a-b 1 udp 1 192.0.2.1 5000 typ host", "other than ALPHA"},
        {"candidate:1 0 udp 1 192.0.2.1 5000 typ host", "not in 1..256"},
        {"candidate:1 257 udp 1 192.0.2.1 5000 typ host", "not in 1..256"},
        {"candidate:1 +1 udp 1 192.0.2.1 5000 typ host", "component '+1' is not a number"},
        {"candidate:1 x udp 1 192.0.2.1 5000 typ host", "component 'x' is not a number"},
        {"candidate:1 1 udp 0 192.0.2.1 5000 typ host", "not in 1..2^31-1"},
        {"candidate:1 1 udp 2147483648 192.0.2.1 5000 typ host", "not in 1..2^31-1"},
        {"candidate:1 1 udp 99999999999 192.0.2.1 5000 typ host", "is not a number"},
        {"candidate:1 1 udp -5 192.0.2.1 5000 typ host", "is not a number"},
        {"candidate:1 1 udp 1 abc.local 5000 typ host", "not an IPv4 or IPv6 literal"},
        {"candidate:1 1 udp 1 example.com 5000 typ host", "not an IPv4 or IPv6 literal"},
        {"candidate:1 1 udp 1 256.0.0.1 5000 typ host", "not an IPv4 or IPv6 literal"},
        {"candidate:1 1 udp 1 [2001:db8::1] 5000 typ host", "not a bare IP literal"},
        {"candidate:1 1 udp 1 fe80::1%2 5000 typ host", "not a bare IP literal"},
        {"candidate:1 1 udp 1 192.0.2.1:5000 5000 typ host", "carries a port"},
        {"candidate:1 1 udp 1 192.0.2.1 65536 typ host", "port '65536'"},
        {"candidate:1 1 udp 1 192.0.2.1 -1 typ host", "port '-1'"},
        {"candidate:1 1 udp 1 192.0.2.1 0 typ host", "port 0"},
        {"candidate:1 1 udp 1 0.0.0.0 5000 typ host", "unspecified address"},
        {"candidate:1 1 udp 1 :: 5000 typ host", "unspecified address"},
        {"candidate:1 1 udp 1 192.0.2.1 5000 type host", "expected 'typ'"},
        {"candidate:1 1 udp 1 192.0.2.1 5000 typ local", "unknown candidate type 'local'"},
        {"candidate:1 1 udp 1 192.0.2.1 5000 typ host raddr 192.0.2.2 rport 1", "raddr on a host candidate"},
        {"candidate:1 1 udp 1 192.0.2.1 5000 typ srflx raddr 192.0.2.2", "raddr without"},
        {"candidate:1 1 udp 1 192.0.2.1 5000 typ srflx raddr 192.0.2.2 port 1", "raddr without"},
        {"candidate:1 1 udp 1 192.0.2.1 5000 typ srflx raddr host.example rport 1", "not an IPv4 or IPv6 literal"},
        {"candidate:1 1 udp 1 192.0.2.1 5000 typ srflx raddr 192.0.2.2 rport 70000", "rport '70000'"},
        {"candidate:1 1 udp 1 192.0.2.1 5000 typ srflx rport 1", "'rport' out of place"},
        {"candidate:1 1 udp 1 192.0.2.1 5000 typ srflx raddr 192.0.2.2 rport 1 raddr 192.0.2.3 rport 2", "'raddr' out of place"},
        {"candidate:1 1 udp 1 192.0.2.1 5000 typ host typ relay", "'typ' out of place"},
        {ok + " garbage", "'garbage' has no value"},
        {ok + " generation 0 x", "'x' has no value"},
        {ok + " na(me) 1", "not a token"},
        {ok + " ", "empty field"},
        {" " + ok, "does not start"},
        {"candidate:1  1 udp 1 192.0.2.1 5000 typ host", "empty field"},
        {ok + "\r\n", "control character"},
        {ok + "\n", "control character"},
        {"candidate:1\t1 udp 1 192.0.2.1 5000 typ host", "control character"},
        {ok + std::string(1, '\0'), "control character"},
        {ok + " x \xc3\xa9", "non-ASCII"},
        {ok + std::string(" generation 0").append(500, 'x'), "longer than 512 bytes"},
    };
    for (const auto& [text, expected] : cases) {
        const std::string why = why_refused(text);
        INFO(text << " -> " << why);
        CHECK(why.find(expected) != std::string::npos);
    }
}

TEST_CASE("to_c and from_c carry every field, and from_c refuses what the text could not hold", "[candidate]")
{
    om_candidate c;
    ice::to_c(ice::make_relayed(address_of("[2001:db8::7]:49152"), "turn.example.net:3478"), c);
    CHECK(c.struct_size == sizeof(om_candidate));
    CHECK(c.type == OM_CANDIDATE_RELAYED);
    CHECK(std::string(c.address) == "[2001:db8::7]:49152");
    CHECK(std::string(c.related_address).empty());
    CHECK(std::string(c.relay_server) == "turn.example.net:3478");
    CHECK(c.priority == 16777215u);
    CHECK(c.component == 1);
    ice::Candidate back;
    std::string why;
    REQUIRE(ice::from_c(c, back, &why));
    CHECK(back == ice::make_relayed(address_of("[2001:db8::7]:49152"), "turn.example.net:3478"));

    ice::to_c(ice::make_server_reflexive(address_of("203.0.113.9:62000"), address_of("10.0.0.2:5000")), c);
    CHECK(std::string(c.related_address) == "10.0.0.2:5000");

    const auto refused = [](std::function<void(om_candidate&)> change, const char* expected) {
        om_candidate bad;
        ice::to_c(ice::make_host(address_of("192.0.2.1:5000")), bad);
        change(bad);
        ice::Candidate out;
        std::string reason;
        INFO(expected);
        REQUIRE_FALSE(ice::from_c(bad, out, &reason));
        CHECK(reason.find(expected) != std::string::npos);
    };
    refused([](om_candidate& b) { b.type = 7; }, "not an om_candidate_type");
    refused([](om_candidate& b) { b.type = -1; }, "not an om_candidate_type");
    refused([](om_candidate& b) { std::memset(b.foundation, 'a', sizeof b.foundation); }, "foundation is not NUL-terminated");
    refused([](om_candidate& b) { std::memset(b.address, '1', sizeof b.address); }, "address is not NUL-terminated");
    refused([](om_candidate& b) { std::strcpy(b.foundation, ""); }, "empty foundation");
    refused([](om_candidate& b) { std::strcpy(b.foundation, "a b"); }, "other than ALPHA");
    refused([](om_candidate& b) { std::strcpy(b.address, "192.0.2.1"); }, "port 0");
    refused([](om_candidate& b) { std::strcpy(b.address, "example.com:5"); }, "address");
    refused([](om_candidate& b) { std::strcpy(b.address, "[fe80::1%2]:5"); }, "zone id");
    refused([](om_candidate& b) { std::strcpy(b.address, "0.0.0.0:5"); }, "unspecified");
    refused([](om_candidate& b) { std::strcpy(b.related_address, "10.0.0.1:5"); }, "host candidate has no related_address");
    refused([](om_candidate& b) { std::strcpy(b.relay_server, "turn:3478"); }, "only for relayed");
    refused([](om_candidate& b) { b.priority = 0; }, "priority 0");
    refused([](om_candidate& b) { b.priority = 0x80000000u; }, "priority 2147483648");
    refused([](om_candidate& b) { b.component = 0; }, "component 0");
    refused([](om_candidate& b) { b.component = 300; }, "component 300");
    refused(
        [](om_candidate& b) {
            b.type = OM_CANDIDATE_SERVER_REFLEXIVE;
            std::strcpy(b.related_address, "nonsense");
        },
        "related_address");
}

TEST_CASE("C API: seed CreateHost, CreateServerReflexive, CreateRelayed and the text form", "[candidate][capi]")
{
    om_candidate host = empty_candidate();
    REQUIRE(om_candidate_host("192.0.2.1", 5000, &host) == OM_OK);
    CHECK(std::string(om_candidate_last_error()).empty());
    CHECK(host.type == OM_CANDIDATE_HOST);
    CHECK(std::string(host.address) == "192.0.2.1:5000");
    CHECK(std::string(host.related_address).empty());
    CHECK(host.priority == 2130706431u);
    CHECK(host.component == 1);
    CHECK(c_text(host) == "candidate:a4cf9790 1 udp 2130706431 192.0.2.1 5000 typ host");

    om_candidate srflx = empty_candidate();
    REQUIRE(om_candidate_server_reflexive("203.0.113.9", 62000, "10.0.0.2", 5000, &srflx) == OM_OK);
    CHECK(srflx.type == OM_CANDIDATE_SERVER_REFLEXIVE);
    CHECK(std::string(srflx.address) == "203.0.113.9:62000");
    CHECK(std::string(srflx.related_address) == "10.0.0.2:5000");
    CHECK(srflx.priority == 1694498815u);

    om_candidate relay = empty_candidate();
    REQUIRE(om_candidate_relayed("2001:db8::7", 49152, "turn.example.net:3478", &relay) == OM_OK);
    CHECK(std::string(relay.address) == "[2001:db8::7]:49152");
    CHECK(std::string(relay.relay_server) == "turn.example.net:3478");
    CHECK(relay.priority == 16777215u);
    const std::string relay_text = c_text(relay);
    CHECK(relay_text.find("turn.example.net") == std::string::npos);
    CHECK(relay_text.ends_with(" 2001:db8::7 49152 typ relay"));

    // Text -> struct -> text is the identity for what the library writes.
    for (const om_candidate* c : {&host, &srflx, &relay}) {
        om_candidate back = empty_candidate();
        REQUIRE(om_candidate_parse(c_text(*c).c_str(), &back) == OM_OK);
        CHECK(c_text(back) == c_text(*c));
        CHECK(back.priority == c->priority);
        CHECK(std::string(back.address) == c->address);
    }
    om_candidate with_prefix = empty_candidate();
    REQUIRE(om_candidate_parse("a=candidate:2 1 UDP 1694498815 192.0.2.3 45664 typ srflx raddr 203.0.113.141 rport 8998",
                               &with_prefix) == OM_OK);
    CHECK(std::string(with_prefix.related_address) == "203.0.113.141:8998");
    CHECK(std::string(with_prefix.foundation) == "2");

    CHECK(std::string(om_candidate_type_name(OM_CANDIDATE_HOST)) == "host");
    CHECK(std::string(om_candidate_type_name(OM_CANDIDATE_SERVER_REFLEXIVE)) == "srflx");
    CHECK(std::string(om_candidate_type_name(OM_CANDIDATE_PEER_REFLEXIVE)) == "prflx");
    CHECK(std::string(om_candidate_type_name(OM_CANDIDATE_RELAYED)) == "relay");
    CHECK(std::string(om_candidate_type_name(4)) == "unknown");
    CHECK(std::string(om_candidate_type_name(-1)) == "unknown");
}

TEST_CASE("C API: om_candidate_to_string reports the size it needs", "[candidate][capi]")
{
    om_candidate host = empty_candidate();
    REQUIRE(om_candidate_host("192.0.2.1", 5000, &host) == OM_OK);
    const std::string full = c_text(host);

    size_t needed = 0;
    CHECK(om_candidate_to_string(&host, nullptr, 0, &needed) == OM_ERR_BUFFER_TOO_SMALL);
    CHECK(needed == full.size() + 1);
    CHECK(std::string(om_candidate_last_error()).find(std::to_string(full.size() + 1)) != std::string::npos);

    std::vector<char> exact(full.size() + 1, 'x');
    CHECK(om_candidate_to_string(&host, exact.data(), full.size(), &needed) == OM_ERR_BUFFER_TOO_SMALL);
    CHECK(exact[0] == '\0');  // never left unterminated
    CHECK(om_candidate_to_string(&host, exact.data(), exact.size(), nullptr) == OM_OK);
    CHECK(std::string(exact.data()) == full);
    CHECK(std::string(om_candidate_last_error()).empty());

    CHECK(om_candidate_to_string(&host, nullptr, 10, &needed) == OM_ERR_INVALID_ARGUMENT);
    CHECK(om_candidate_to_string(nullptr, exact.data(), exact.size(), &needed) == OM_ERR_INVALID_ARGUMENT);
    CHECK(std::string(om_candidate_last_error()) == "candidate is NULL");

    om_candidate broken = host;
    broken.priority = 0;
    CHECK(om_candidate_to_string(&broken, exact.data(), exact.size(), &needed) == OM_ERR_INVALID_ARGUMENT);
    CHECK(std::string(om_candidate_last_error()).find("priority") != std::string::npos);
}

TEST_CASE("C API: bad arguments are refused with a reason", "[candidate][capi]")
{
    om_candidate out = empty_candidate();
    const auto refused = [&](om_status status, om_status expected, const char* part) {
        INFO(part << ": " << om_candidate_last_error());
        CHECK(status == expected);
        CHECK(std::string(om_candidate_last_error()).find(part) != std::string::npos);
    };
    refused(om_candidate_host(nullptr, 5000, &out), OM_ERR_INVALID_ARGUMENT, "ip is NULL");
    refused(om_candidate_host("192.0.2.1", 0, &out), OM_ERR_INVALID_ARGUMENT, "1..65535");
    refused(om_candidate_host("192.0.2.1", 65536, &out), OM_ERR_INVALID_ARGUMENT, "1..65535");
    refused(om_candidate_host("192.0.2.1", -1, &out), OM_ERR_INVALID_ARGUMENT, "1..65535");
    refused(om_candidate_host("example.com", 5000, &out), OM_ERR_INVALID_ARGUMENT, "not an IPv4 or IPv6 literal");
    refused(om_candidate_host("192.0.2.1:5000", 5000, &out), OM_ERR_INVALID_ARGUMENT, "carries a port");
    refused(om_candidate_host("[2001:db8::1]", 5000, &out), OM_ERR_INVALID_ARGUMENT, "bare IP literal");
    refused(om_candidate_host("0.0.0.0", 5000, &out), OM_ERR_INVALID_ARGUMENT, "unspecified");
    refused(om_candidate_host("192.0.2.1", 5000, nullptr), OM_ERR_INVALID_ARGUMENT, "out is NULL");
    refused(om_candidate_server_reflexive("203.0.113.9", 1, nullptr, 5000, &out), OM_ERR_INVALID_ARGUMENT, "local_ip is NULL");
    refused(om_candidate_server_reflexive("203.0.113.9", 1, "10.0.0.2", 0, &out), OM_ERR_INVALID_ARGUMENT, "local_ip port");
    refused(om_candidate_relayed("198.51.100.7", 1, nullptr, &out), OM_ERR_INVALID_ARGUMENT, "relay_server is NULL");
    refused(om_candidate_relayed("198.51.100.7", 1, std::string(64, 'a').c_str(), &out), OM_ERR_INVALID_ARGUMENT, "longer than 63");
    refused(om_candidate_relayed("198.51.100.7", 1, "turn\n", &out), OM_ERR_INVALID_ARGUMENT, "control character");
    refused(om_candidate_parse(nullptr, &out), OM_ERR_INVALID_ARGUMENT, "text is NULL");
    refused(om_candidate_parse("candidate:1 1 tcp 1 192.0.2.1 5000 typ host", &out), OM_ERR_MALFORMED,
            "transport TCP is not supported");
    refused(om_candidate_parse("candidate:1 1 udp 1 192.0.2.1 5000 typ host junk", &out), OM_ERR_MALFORMED, "has no value");

    // struct_size: the caller says how much it has; too little is refused before anything is written.
    om_candidate small = empty_candidate();
    small.struct_size = offsetof(om_candidate, priority);
    refused(om_candidate_host("192.0.2.1", 5000, &small), OM_ERR_INVALID_ARGUMENT, "struct_size is too small");
    CHECK(small.address[0] == '\0');
    small.struct_size = 0;
    refused(om_candidate_parse("candidate:1 1 udp 1 192.0.2.1 5000 typ host", &small), OM_ERR_INVALID_ARGUMENT,
            "struct_size is too small");

    // A newer, larger struct: only the known part is written; struct_size is left as given.
    struct Newer {
        om_candidate base;
        uint8_t extra[16];
    } newer;
    std::memset(&newer, 0xAB, sizeof newer);
    newer.base.struct_size = sizeof newer;
    REQUIRE(om_candidate_host("192.0.2.1", 5000, &newer.base) == OM_OK);
    CHECK(newer.base.struct_size == sizeof newer);
    CHECK(std::string(newer.base.address) == "192.0.2.1:5000");
    for (uint8_t b : newer.extra) CHECK(b == 0xAB);
    // As input, a larger struct is read when its unknown tail is zero, refused otherwise.
    char buf[128];
    CHECK(om_candidate_to_string(&newer.base, buf, sizeof buf, nullptr) == OM_ERR_INVALID_ARGUMENT);
    CHECK(std::string(om_candidate_last_error()).find("newer than this library") != std::string::npos);
    std::memset(newer.extra, 0, sizeof newer.extra);
    CHECK(om_candidate_to_string(&newer.base, buf, sizeof buf, nullptr) == OM_OK);
}

TEST_CASE("C API: the last error belongs to the calling thread and clears on success", "[candidate][capi]")
{
    om_candidate out = empty_candidate();
    REQUIRE(om_candidate_parse("nonsense", &out) == OM_ERR_MALFORMED);
    const std::string mine = om_candidate_last_error();
    CHECK(mine.find("does not start with 'candidate:'") != std::string::npos);

    std::string other_before, other_after;
    std::thread([&] {
        other_before = om_candidate_last_error();
        om_candidate o = empty_candidate();
        (void)om_candidate_host("not-an-ip", 1, &o);
        other_after = om_candidate_last_error();
    }).join();
    CHECK(other_before.empty());
    CHECK(other_after.find("not an IPv4 or IPv6 literal") != std::string::npos);
    CHECK(std::string(om_candidate_last_error()) == mine);

    REQUIRE(om_candidate_host("192.0.2.1", 5000, &out) == OM_OK);
    CHECK(std::string(om_candidate_last_error()).empty());
}
