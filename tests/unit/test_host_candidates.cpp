// Host candidates from the bound address and a synthetic interface list: which addresses become
// candidates, in which order, with which port; and the exclude patterns.
#include "agent/ice/host_candidates.h"
#include "proto/address.h"

#include <catch2/catch.hpp>

#include <set>
#include <string>
#include <vector>

namespace ice = om::proto::ice;
using om::ice::host_candidates;
using om::ice::interface_excluded;
using om::ice::InterfaceAddress;

namespace {

om_address address_of(const char* text)
{
    om_address a{};
    REQUIRE(om::proto::parse_address(text, 0, a));
    return a;
}

InterfaceAddress iface(const char* name, const char* ip, bool up = true, bool loopback = false)
{
    return {name, address_of(ip), up, loopback};
}

// A machine with a bit of everything: loopback, a down interface, docker, link-local, an
// address on two interfaces, and IPv6 global, ULA and link-local addresses.
std::vector<InterfaceAddress> machine()
{
    return {
        iface("lo", "127.0.0.1", true, true),
        iface("lo", "::1", true, true),
        iface("eth0", "192.0.2.10"),
        iface("eth0", "2001:db8::10"),
        iface("eth0", "fe80::1"),
        iface("wlan0", "198.51.100.20"),
        iface("wlan0", "fd00::20"),
        iface("eth1", "203.0.113.30", false),  // down
        iface("eth1", "2001:db8::30", false),  // down
        iface("docker0", "172.17.0.1"),
        iface("veth1a2b", "172.18.0.1"),
        iface("eth2", "169.254.7.7"),          // IPv4 link-local
        iface("br0", "192.0.2.10"),            // same address as eth0
        iface("eth3", "::ffff:192.0.2.99"),    // v4-mapped
    };
}

std::vector<std::string> addresses(const std::vector<ice::Candidate>& candidates)
{
    std::vector<std::string> out;
    for (const auto& c : candidates) out.push_back(om::proto::format_address(c.address));
    return out;
}

}  // namespace

TEST_CASE("bound to one address, that address is the only host candidate (loopback included)", "[host_candidates]")
{
    for (const char* bound : {"127.0.0.1:41000", "192.0.2.10:41000", "[::1]:41000", "[2001:db8::10]:41000"}) {
        INFO(bound);
        const auto out = host_candidates(address_of(bound), machine(), "");
        REQUIRE(out.size() == 1);
        CHECK(om::proto::format_address(out[0].address) == bound);
        CHECK(out[0].type == ice::CandidateType::Host);
        CHECK(out[0].priority == 2130706431u);
    }
    // Even an address no interface lists, and even when its interface is excluded: the socket
    // can only use its own address.
    CHECK(addresses(host_candidates(address_of("127.0.0.1:5"), machine(), "lo")) == std::vector<std::string>{"127.0.0.1:5"});
    CHECK(host_candidates(om_address{}, machine(), "").empty());
}

TEST_CASE("bound to 0.0.0.0: every up, non-loopback IPv4 address, minus link-local and excluded", "[host_candidates]")
{
    const auto out = host_candidates(address_of("0.0.0.0:41000"), machine(), "docker0, veth*");
    CHECK(addresses(out) == std::vector<std::string>{"192.0.2.10:41000", "198.51.100.20:41000"});
    // Without exclusions the bridges come back, in the interfaces' order, and still no duplicate.
    CHECK(addresses(host_candidates(address_of("0.0.0.0:41000"), machine(), "")) ==
          std::vector<std::string>{"192.0.2.10:41000", "198.51.100.20:41000", "172.17.0.1:41000", "172.18.0.1:41000"});
    // Only loopback up: no host candidate (the server relay path remains).
    CHECK(host_candidates(address_of("0.0.0.0:1"), {iface("lo", "127.0.0.1", true, true)}, "").empty());
}

TEST_CASE("bound to ::, IPv6 (not fe80::/10) first, then IPv4, with falling local preferences", "[host_candidates]")
{
    const auto out = host_candidates(address_of("[::]:41000"), machine(), "docker*,veth*");
    CHECK(addresses(out) == std::vector<std::string>{"[2001:db8::10]:41000", "[fd00::20]:41000", "192.0.2.10:41000",
                                                     "198.51.100.20:41000"});
    REQUIRE(out.size() == 4);
    for (size_t i = 0; i < out.size(); ++i) {
        INFO(i);
        CHECK(out[i].priority == ice::candidate_priority(ice::CandidateType::Host, static_cast<uint16_t>(65535 - i)));
        CHECK(out[i].address.port == 41000);
        if (i > 0) CHECK(out[i].priority < out[i - 1].priority);
    }
    // Distinct IPs give distinct foundations (RFC 8445 §5.1.1.3).
    std::set<std::string> foundations;
    for (const auto& c : out) foundations.insert(c.foundation);
    CHECK(foundations.size() == out.size());
}

TEST_CASE("no address appears twice, whatever the interface list repeats", "[host_candidates]")
{
    std::vector<InterfaceAddress> repeated = {iface("eth0", "192.0.2.10"), iface("eth0:1", "192.0.2.10"),
                                              iface("eth0", "2001:db8::10"), iface("eth9", "2001:db8::10"),
                                              iface("eth0", "192.0.2.10")};
    CHECK(addresses(host_candidates(address_of("[::]:7"), repeated, "")) ==
          std::vector<std::string>{"[2001:db8::10]:7", "192.0.2.10:7"});
}

TEST_CASE("interface_excluded: comma list, trailing '*' as prefix, spaces trimmed", "[host_candidates]")
{
    CHECK(interface_excluded("docker0", "docker0,veth*"));
    CHECK(interface_excluded("veth1a2b", "docker0,veth*"));
    CHECK(interface_excluded("veth", "veth*"));
    CHECK_FALSE(interface_excluded("xveth1", "veth*"));
    CHECK_FALSE(interface_excluded("docker1", "docker0,veth*"));
    CHECK_FALSE(interface_excluded("eth0", "eth"));  // no '*': whole name only
    CHECK_FALSE(interface_excluded("eth", "eth0"));
    CHECK(interface_excluded("eth0", "  wlan0 ,  eth0  "));
    CHECK(interface_excluded("anything", "*"));
    CHECK_FALSE(interface_excluded("eth0", ""));
    CHECK_FALSE(interface_excluded("eth0", " , ,"));
    CHECK_FALSE(interface_excluded("", "eth0"));
}

TEST_CASE("list_interface_addresses reads this machine's interfaces, loopback included", "[host_candidates]")
{
    const auto list = om::ice::list_interface_addresses();
    bool loopback_v4 = false;
    for (const auto& i : list) {
        CHECK(!i.name.empty());
        CHECK((i.address.family == 4 || i.address.family == 6));
        if (i.loopback && i.address.family == 4 && om::proto::format_address(i.address) == "127.0.0.1:0") loopback_v4 = true;
    }
    CHECK(loopback_v4);
}
