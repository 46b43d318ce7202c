// nat-stun's test sequence (plugins/nat-stun/discovery.*) driven with real encoded STUN: every
// request it sends is parsed with the codec, and a small RFC 5780 server and NAT written here
// answer with responses built by the codec's Builder, on a synthetic clock. The NAT filters as
// the lab's kernel NATs do (a Restricted NAT passes any port of an IP its port has contacted), so
// running the mapping tests before the filtering tests would turn Restricted into FullCone here.
#include <catch2/catch.hpp>

#include "discovery.h"
#include "proto/address.h"
#include "proto/stun.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace stun = om::proto::stun;
using om::natstun::Discovery;
using om::natstun::DiscoveryCounters;
using om::natstun::DiscoveryRequest;
using om::natstun::Settings;

namespace {

constexpr om_nat_behavior EIM = OM_NAT_BEHAVIOR_ENDPOINT_INDEPENDENT;
constexpr om_nat_behavior AD = OM_NAT_BEHAVIOR_ADDRESS_DEPENDENT;
constexpr om_nat_behavior APD = OM_NAT_BEHAVIOR_ADDRESS_AND_PORT_DEPENDENT;
constexpr om_nat_behavior UNK = OM_NAT_BEHAVIOR_UNKNOWN;

om_address addr(const char* text)
{
    om_address a{};
    REQUIRE(om::proto::parse_address(text, 0, a));
    return a;
}

std::string text(const om_address& a) { return om::proto::format_address(a); }

bool same(const om_address& a, const om_address& b) { return om::natstun::same_endpoint(a, b); }

struct Datagram {
    std::vector<uint8_t> bytes;
    om_address peer{};  // destination when sent by the client, source when received
    uint64_t at_us = 0;
    bool hairpinned = false;  // turned around inside the NAT: no inbound filtering applies
};

// A request the client sent, as the codec reads it.
struct SentRequest {
    om_address to{};
    uint64_t at_us = 0;
    stun::TransactionId id{};
    bool change_ip = false, change_port = false;
    bool padded = false;
    size_t size = 0;
};

SentRequest read_request(const Datagram& d)
{
    stun::Message m;
    std::string why;
    INFO(why);
    REQUIRE(stun::parse(d.bytes, m, &why));
    REQUIRE(m.method == stun::method::Binding);
    REQUIRE(m.cls == stun::Class::Request);
    SentRequest r;
    r.to = d.peer;
    r.at_us = d.at_us;
    r.id = m.transaction_id;
    r.size = d.bytes.size();
    r.padded = m.find(stun::attr::Padding) != nullptr;
    if (const auto* change = m.find(stun::attr::ChangeRequest)) {
        const auto flags = stun::read_u32(*change);
        REQUIRE(flags);
        r.change_ip = (*flags & stun::kChangeIp) != 0;
        r.change_port = (*flags & stun::kChangePort) != 0;
    }
    return r;
}

// The NAT in front of the client (RFC 4787 behaviours) and an RFC 5780 server behind the
// internet, with a fixed one-way delay. Everything the client sends passes through send().
class World {
public:
    // The NAT: no NAT at all (Open), or mapping/filtering behaviours and hairpinning.
    bool nat = true;
    om_nat_behavior mapping = EIM;
    om_nat_behavior filtering = EIM;
    bool hairpin = false;

    // The server: primary and alternate addresses (same IP = a one-IP server).
    om_address primary = addr("198.51.100.1:3478");
    om_address alternate = addr("198.51.100.2:3479");
    bool other_address = true;       // sends OTHER-ADDRESS
    bool changed_address = false;    // sends RFC 3489 CHANGED-ADDRESS in its place
    bool response_origin = true;     // sends RESPONSE-ORIGIN
    bool honours_change = true;      // false: answers CHANGE-REQUEST from the unchanged address
    bool knows_change = true;        // false: 420 for CHANGE-REQUEST
    bool knows_padding = true;       // false: 420 for PADDING
    int binding_error = 0;           // answers every Binding with this error code
    bool silent = false;             // never answers

    om_address local = addr("10.0.0.2:5000");
    uint64_t one_way_us = 10'000;
    uint64_t now_us = 1'000'000'000;
    // Returns true to drop the answer to the n-th request (0-based) the server answers.
    std::function<bool(size_t n, const SentRequest&)> drop_answer;

    std::vector<Datagram> sent;
    std::multimap<uint64_t, Datagram> to_client;  // arrival time -> datagram

    om_address public_ip() const { return nat ? addr("203.0.113.7:0") : local; }

    // The mapped address of our socket toward `to` (RFC 4787 §4.1).
    om_address mapped_toward(const om_address& to)
    {
        if (!nat) return local;
        om_address m = public_ip();
        std::string key = mapping == EIM ? "" : mapping == AD ? ip_text(to) : text(to);
        auto [it, fresh] = ports_.try_emplace(key, static_cast<uint16_t>(40000 + ports_.size()));
        (void)fresh;
        m.port = it->second;
        return m;
    }

    int32_t send(const om_address& to, std::span<const uint8_t> bytes)
    {
        Datagram d{{bytes.begin(), bytes.end()}, to, now_us};
        sent.push_back(d);
        if (!nat && same(to, local)) {  // no NAT: a datagram to our own address is ours
            deliver(d.bytes, local, now_us);
            return OM_OK;
        }
        const om_address from = mapped_toward(to);
        contacted_.insert(text(to));
        contacted_ips_.insert(ip_text(to));
        if (same_ip_as_public(to)) {
            // §4.5 hairpinning: the NAT turns it back to the mapping it is addressed to.
            if (hairpin && owns_mapping(to))
                to_client.emplace(now_us + 2 * one_way_us, Datagram{d.bytes, from, 0, true});
            return OM_OK;
        }
        if (!same_ip(to, primary) && !same_ip(to, alternate)) return OM_OK;
        answer(d, from);
        return OM_OK;
    }

    // The datagrams due by now that the NAT lets in (filtering judged on arrival).
    std::vector<Datagram> arrivals_until(uint64_t t)
    {
        std::vector<Datagram> due;
        while (!to_client.empty() && to_client.begin()->first <= t) {
            Datagram d = to_client.begin()->second;
            d.at_us = to_client.begin()->first;
            to_client.erase(to_client.begin());
            if (d.hairpinned || passes(d.peer)) due.push_back(d);
        }
        return due;
    }

    std::vector<SentRequest> requests() const
    {
        std::vector<SentRequest> all;
        for (const auto& d : sent) all.push_back(read_request(d));
        return all;
    }

    // A response the server would send for `request`, from `source`, to `mapped`.
    std::vector<uint8_t> success_for(const stun::TransactionId& id, const om_address& mapped, const om_address& source)
    {
        std::array<uint8_t, 256> buffer{};
        stun::Builder b(buffer, stun::method::Binding, stun::Class::SuccessResponse, id);
        b.add_xor_address(stun::attr::XorMappedAddress, mapped);
        if (other_address) b.add_address(changed_address ? stun::attr::ChangedAddress : stun::attr::OtherAddress, alternate);
        if (response_origin) b.add_address(stun::attr::ResponseOrigin, source);
        b.add_fingerprint();
        REQUIRE(b.finish() > 0);
        return {buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(b.finish())};
    }

    static std::vector<uint8_t> error_for(const stun::TransactionId& id, uint16_t code, std::vector<uint16_t> unknown = {})
    {
        std::array<uint8_t, 256> buffer{};
        stun::Builder b(buffer, stun::method::Binding, stun::Class::ErrorResponse, id);
        b.add_error_code(code, code == 420 ? "Unknown Attribute" : code == 401 ? "Unauthorized" : "Bad Request");
        if (!unknown.empty()) b.add_unknown_attributes(unknown);
        REQUIRE(b.finish() > 0);
        return {buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(b.finish())};
    }

    void deliver(std::vector<uint8_t> bytes, const om_address& from, uint64_t at_us)
    {
        to_client.emplace(at_us, Datagram{std::move(bytes), from, 0});
    }

private:
    static std::string ip_text(om_address a)
    {
        a.port = 0;
        return text(a);
    }
    static bool same_ip(const om_address& a, const om_address& b) { return om::natstun::same_ip(a, b); }
    bool same_ip_as_public(const om_address& a) const { return nat && same_ip(a, public_ip()); }
    bool owns_mapping(const om_address& a) const
    {
        for (const auto& [key, port] : ports_)
            if (port == a.port) return true;
        return false;
    }

    bool passes(const om_address& from) const
    {
        if (!nat) return true;
        if (filtering == EIM) return true;
        if (filtering == AD) return contacted_ips_.count(ip_text(from)) > 0;
        return contacted_.count(text(from)) > 0;
    }

    void answer(const Datagram& d, const om_address& mapped)
    {
        const SentRequest r = read_request(d);
        const size_t n = answered_++;
        if (silent || (drop_answer && drop_answer(n, r))) return;
        const uint64_t at = now_us + 2 * one_way_us;
        if (binding_error != 0) return deliver(error_for(r.id, static_cast<uint16_t>(binding_error)), d.peer, at);
        if (r.padded && !knows_padding) return deliver(error_for(r.id, 420, {stun::attr::Padding}), d.peer, at);
        if ((r.change_ip || r.change_port) && !knows_change)
            return deliver(error_for(r.id, 420, {stun::attr::ChangeRequest}), d.peer, at);
        om_address source = d.peer;
        if (honours_change) {
            const bool at_primary_ip = same_ip(d.peer, primary);
            if (r.change_ip) {
                const om_address other_ip = at_primary_ip ? alternate : primary;
                std::memcpy(source.bytes, other_ip.bytes, sizeof source.bytes);
            }
            if (r.change_port) source.port = d.peer.port == primary.port ? alternate.port : primary.port;
        }
        deliver(success_for(r.id, mapped, source), source, at);
    }

    std::map<std::string, uint16_t> ports_;
    std::set<std::string> contacted_, contacted_ips_;
    size_t answered_ = 0;
};

struct Run {
    DiscoveryCounters counters;
    std::optional<Discovery> discovery;
    uint64_t started_us = 0;
    uint64_t finished_us = 0;
    size_t consumed = 0, ignored = 0;

    const om_nat_info& info() const { return discovery->outcome().info; }
    int32_t status() const { return discovery->outcome().status; }
    std::string notes() const
    {
        std::string all;
        for (const auto& n : discovery->outcome().notes) all += n + "\n";
        return all;
    }
};

DiscoveryRequest request_for(const World& w, uint32_t timeout_ms)
{
    DiscoveryRequest r;
    r.server = w.primary;
    r.local_address = w.local;
    r.timeout_ms = timeout_ms;
    return r;
}

void start(World& w, Run& run, uint32_t timeout_ms = 10'000, Settings settings = {})
{
    Discovery::Io io;
    io.send = [&w](const om_address& to, std::span<const uint8_t> bytes) { return w.send(to, bytes); };
    run.discovery.emplace(settings, request_for(w, timeout_ms), std::move(io), run.counters);
    run.started_us = w.now_us;
    REQUIRE(run.discovery->start(w.now_us) == OM_OK);
}

// Steps the clock from event to event (the discovery's wakeups, arrivals) until it finishes or
// `until_us` passes.
void drive(World& w, Run& run, uint64_t until_us = UINT64_MAX)
{
    for (int steps = 0; steps < 100'000 && !run.discovery->finished(); ++steps) {
        uint64_t next = *run.discovery->next_wakeup_us();
        if (!w.to_client.empty()) next = std::min(next, w.to_client.begin()->first);
        if (next > until_us) break;
        w.now_us = std::max(w.now_us, next);
        for (const Datagram& d : w.arrivals_until(w.now_us)) {
            if (run.discovery->on_datagram(d.bytes, d.peer, w.now_us))
                ++run.consumed;
            else
                ++run.ignored;
        }
        run.discovery->on_time(w.now_us);
    }
    if (run.discovery->finished() && run.finished_us == 0) run.finished_us = w.now_us;
}

Run discover(World& w, uint32_t timeout_ms = 10'000, Settings settings = {})
{
    Run run;
    start(w, run, timeout_ms, settings);
    drive(w, run);
    REQUIRE(run.discovery->finished());
    return run;
}

uint64_t ms(uint64_t us) { return us / 1000; }

}  // namespace

TEST_CASE("nat-stun discovery: each NAT type of the lab gets its verdict", "[nat-stun]")
{
    struct Case {
        const char* name;
        bool nat;
        om_nat_behavior mapping, filtering;
        om_nat_type expected;
    };
    const Case cases[] = {
        {"Open", false, EIM, EIM, OM_NAT_OPEN},
        {"FullCone", true, EIM, EIM, OM_NAT_FULL_CONE},
        {"Restricted", true, EIM, AD, OM_NAT_RESTRICTED},
        {"PortRestricted", true, EIM, APD, OM_NAT_PORT_RESTRICTED},
        {"Symmetric (address-and-port-dependent)", true, APD, APD, OM_NAT_SYMMETRIC},
        {"Symmetric (address-dependent mapping)", true, AD, APD, OM_NAT_SYMMETRIC},
        {"Symmetric with open filtering", true, APD, EIM, OM_NAT_SYMMETRIC},
    };
    for (const Case& c : cases) {
        for (bool hairpin : {false, true}) {
            INFO(c.name << (hairpin ? " with hairpinning" : ""));
            World w;
            w.nat = c.nat;
            w.mapping = c.mapping;
            w.filtering = c.filtering;
            w.hairpin = hairpin;
            const Run run = discover(w);
            INFO(run.notes());
            CHECK(run.status() == OM_OK);
            CHECK(run.info().nat_type == c.expected);
            CHECK(run.info().mapping == c.mapping);
            CHECK(run.info().filtering == c.filtering);
            CHECK(run.info().server_ips_used == 2);
            CHECK(text(run.info().local_address) == "10.0.0.2:5000");
            CHECK(text(run.info().mapped_address) == (c.nat ? "203.0.113.7:40000" : "10.0.0.2:5000"));
            // Without a NAT the request to our own address reaches us: that is hairpinning too.
            CHECK(run.info().hairpin == (hairpin || !c.nat ? 1 : 0));
            CHECK(run.counters.malformed == 0);
            CHECK(run.counters.unexpected == 0);
            CHECK(run.ignored == 0);
            // Done well before the budget: one probe timeout plus a few round trips.
            CHECK(ms(run.finished_us - run.started_us) <= 1200);
        }
    }
}

TEST_CASE("nat-stun discovery: filtering tests run before anything contacts the alternate address",
          "[nat-stun]")
{
    for (om_nat_behavior filtering : {EIM, AD, APD}) {
        World w;
        w.filtering = filtering;
        const Run run = discover(w);
        const auto requests = w.requests();
        uint64_t last_filtering_send = 0, first_alternate_send = UINT64_MAX;
        for (const auto& r : requests) {
            if (r.change_ip || r.change_port) {
                last_filtering_send = std::max(last_filtering_send, r.at_us);
                CHECK(same(r.to, w.primary));  // CHANGE-REQUEST always goes to the primary
            }
            if (om::natstun::same_ip(r.to, w.alternate)) first_alternate_send = std::min(first_alternate_send, r.at_us);
        }
        CHECK(first_alternate_send != UINT64_MAX);  // the mapping tests did run
        CHECK(last_filtering_send < first_alternate_send);
        CHECK(run.info().filtering == filtering);
    }
}

TEST_CASE("nat-stun discovery: filtering probes retransmit on an RTO from the measured RTT", "[nat-stun]")
{
    World w;
    w.filtering = APD;  // neither II nor III is ever answered: both run their whole probe time
    w.one_way_us = 10'000;  // RTT 20 ms: RTO = max(100 ms, 3 x 20 ms) = 100 ms
    const Run run = discover(w);
    REQUIRE(run.discovery->outcome().rtt_us);
    CHECK(*run.discovery->outcome().rtt_us == 20'000);
    std::vector<uint64_t> change_port_sends, change_both_sends;
    const uint64_t test1_answer = run.started_us + 20'000;
    for (const auto& r : w.requests()) {
        if (r.change_port && !r.change_ip) change_port_sends.push_back(ms(r.at_us - test1_answer));
        if (r.change_ip) change_both_sends.push_back(ms(r.at_us - test1_answer));
    }
    // 0, RTO, 3 RTO, 7 RTO within probe_timeout_ms = 1000
    CHECK(change_port_sends == std::vector<uint64_t>{0, 100, 300, 700});
    CHECK(change_both_sends == std::vector<uint64_t>{0, 100, 300, 700});
    CHECK(run.counters.retransmits >= 6);
    CHECK(run.info().filtering == APD);

    SECTION("a slow path gets a longer RTO, the probe still ends at probe_timeout_ms")
    {
        World slow;
        slow.filtering = APD;
        slow.one_way_us = 100'000;  // RTT 200 ms: RTO 600 ms
        const Run r = discover(slow);
        std::vector<uint64_t> sends;
        for (const auto& q : slow.requests())
            if (q.change_port && !q.change_ip) sends.push_back(ms(q.at_us - r.started_us - 200'000));
        CHECK(sends == std::vector<uint64_t>{0, 600});
    }
    SECTION("probe_timeout_ms is a setting")
    {
        World short_probe;
        short_probe.filtering = APD;
        Settings s;
        s.probe_timeout_ms = 250;
        const Run r = discover(short_probe, 10'000, s);
        std::vector<uint64_t> sends;
        for (const auto& q : short_probe.requests())
            if (q.change_port && !q.change_ip) sends.push_back(ms(q.at_us - r.started_us - 20'000));
        CHECK(sends == std::vector<uint64_t>{0, 100});
        CHECK(r.info().nat_type == OM_NAT_PORT_RESTRICTED);
        CHECK(ms(r.finished_us - r.started_us) < 400);
    }
}

TEST_CASE("nat-stun discovery: a silent server times out on the RFC 8489 schedule", "[nat-stun]")
{
    World w;
    w.silent = true;
    const Run run = discover(w, 60'000);
    CHECK(run.status() == OM_ERR_TIMEOUT);
    CHECK(run.info().nat_type == OM_NAT_UNKNOWN);
    CHECK(run.info().server_ips_used == 0);
    CHECK(run.info().hairpin == -1);
    CHECK(text(run.info().local_address) == "10.0.0.2:5000");
    std::vector<uint64_t> sends;
    for (const auto& r : w.requests()) sends.push_back(ms(r.at_us - run.started_us));
    // RFC 8489 §6.2.1: RTO 500 ms, Rc 7, and Rm x RTO = 8 s after the last.
    CHECK(sends == std::vector<uint64_t>{0, 500, 1500, 3500, 7500, 15500, 31500});
    CHECK(ms(run.finished_us - run.started_us) == 39500);
    CHECK(run.counters.requests == 1);
    CHECK(run.counters.retransmits == 6);
    CHECK(run.discovery->outcome().error == "no answer to 7 Binding request(s) to 198.51.100.1:3478");

    SECTION("rto_ms, rc and rm are settings")
    {
        World fast;
        fast.silent = true;
        Settings s;
        s.rto_ms = 100;
        s.rc = 3;
        s.rm = 2;
        const Run r = discover(fast, 60'000, s);
        std::vector<uint64_t> t;
        for (const auto& q : fast.requests()) t.push_back(ms(q.at_us - r.started_us));
        CHECK(t == std::vector<uint64_t>{0, 100, 300});
        CHECK(ms(r.finished_us - r.started_us) == 500);
    }
}

TEST_CASE("nat-stun discovery: the budget cuts retransmissions and done comes within it", "[nat-stun]")
{
    World w;
    w.silent = true;
    const Run run = discover(w, 2'000);
    std::vector<uint64_t> sends;
    for (const auto& r : w.requests()) sends.push_back(ms(r.at_us - run.started_us));
    CHECK(sends == std::vector<uint64_t>{0, 500, 1500});
    CHECK(run.status() == OM_ERR_TIMEOUT);
    CHECK(run.finished_us - run.started_us < 2'000'000);
    CHECK(run.finished_us - run.started_us >= 1'900'000);

    SECTION("a budget that ends during the behaviour tests keeps what Test I found")
    {
        World slow_alt;
        slow_alt.filtering = APD;
        slow_alt.drop_answer = [&](size_t, const SentRequest& r) { return om::natstun::same_ip(r.to, slow_alt.alternate); };
        const Run r = discover(slow_alt, 3'000);
        CHECK(r.status() == OM_OK);
        CHECK(r.finished_us - r.started_us < 3'000'000);
        CHECK(r.info().filtering == APD);
        CHECK(r.info().mapping == UNK);
        CHECK(r.info().nat_type == OM_NAT_UNKNOWN);
        CHECK(text(r.info().mapped_address) == "203.0.113.7:40000");
        CHECK(r.notes().find("mapping test II (alternate address)") != std::string::npos);
    }
}

TEST_CASE("nat-stun discovery: lost responses are retransmitted, and Karn's rule keeps the RTT out",
          "[nat-stun]")
{
    World w;
    w.filtering = AD;
    w.drop_answer = [](size_t n, const SentRequest&) { return n < 2; };  // the first two answers to Test I
    const Run run = discover(w);
    CHECK(run.status() == OM_OK);
    CHECK(run.info().nat_type == OM_NAT_RESTRICTED);
    CHECK_FALSE(run.discovery->outcome().rtt_us);  // answered after retransmissions: no sample
    const auto requests = w.requests();
    REQUIRE(requests.size() >= 3);
    CHECK(ms(requests[1].at_us - run.started_us) == 500);
    CHECK(ms(requests[2].at_us - run.started_us) == 1500);
    CHECK(requests[0].id == requests[2].id);  // retransmissions repeat the transaction
    // Without a sample the probes use the configured RTO: II runs 0 and 500 ms within 1000 ms.
    size_t change_ip_sends = 0;
    for (const auto& r : requests) change_ip_sends += r.change_ip ? 1 : 0;
    CHECK(change_ip_sends == 2);
    CHECK(run.counters.retransmits >= 3);
}

TEST_CASE("nat-stun discovery: datagrams that are not ours are left alone", "[nat-stun]")
{
    World w;
    Run run;
    start(w, run);
    const auto first = w.requests().front();

    stun::TransactionId other = first.id;
    other[11] ^= 0xFF;
    const auto foreign = w.success_for(other, addr("203.0.113.7:40000"), w.primary);
    CHECK_FALSE(run.discovery->on_datagram(foreign, w.primary, w.now_us));
    const uint8_t not_stun[] = {0x80, 0x60, 0, 1, 2, 3, 4, 5};
    CHECK_FALSE(run.discovery->on_datagram(not_stun, w.primary, w.now_us));
    CHECK_FALSE(run.discovery->on_datagram({}, w.primary, w.now_us));
    CHECK(run.counters.responses == 0);
    CHECK(run.counters.malformed == 0);

    drive(w, run);
    CHECK(run.info().nat_type == OM_NAT_FULL_CONE);
}

TEST_CASE("nat-stun discovery: malformed answers carrying our id are counted and survived", "[nat-stun]")
{
    World w;
    Run run;
    start(w, run);
    const auto id = w.requests().front().id;
    auto good = w.success_for(id, addr("203.0.113.7:40000"), w.primary);

    std::vector<std::vector<uint8_t>> bad;
    auto truncated = good;
    truncated.resize(good.size() - 4);  // the length field no longer matches
    bad.push_back(truncated);
    auto bad_fingerprint = good;
    bad_fingerprint.back() ^= 0x01;
    bad.push_back(bad_fingerprint);
    auto header_only = std::vector<uint8_t>(good.begin(), good.begin() + 20);  // length field says more
    bad.push_back(header_only);
    std::vector<uint8_t> wrong_class_bits = good;
    wrong_class_bits[0] |= 0x40;  // top bits must be zero (RFC 8489 §5)
    bad.push_back(wrong_class_bits);
    {
        // A success response without any mapped address.
        std::array<uint8_t, 64> buffer{};
        stun::Builder b(buffer, stun::method::Binding, stun::Class::SuccessResponse, id);
        b.add_text(stun::attr::Software, "test");
        bad.emplace_back(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(b.finish()));
    }
    {
        // An unknown comprehension-required attribute (RFC 8489 §6.3.4).
        std::array<uint8_t, 64> buffer{};
        stun::Builder b(buffer, stun::method::Binding, stun::Class::SuccessResponse, id);
        b.add_xor_address(stun::attr::XorMappedAddress, addr("203.0.113.7:40000"));
        const uint8_t value[4] = {1, 2, 3, 4};
        b.add_bytes(0x7F01, value);
        bad.emplace_back(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(b.finish()));
    }
    for (const auto& bytes : bad) CHECK(run.discovery->on_datagram(bytes, w.primary, w.now_us));
    CHECK(run.counters.malformed == bad.size());
    CHECK(run.counters.responses == 0);
    CHECK_FALSE(run.discovery->finished());

    drive(w, run);  // the real answer still arrives and wins
    CHECK(run.status() == OM_OK);
    CHECK(run.info().nat_type == OM_NAT_FULL_CONE);
}

TEST_CASE("nat-stun discovery: answers from the wrong source", "[nat-stun]")
{
    SECTION("Test I answered by a stranger is ignored")
    {
        World w;
        Run run;
        start(w, run);
        const auto id = w.requests().front().id;
        const auto spoofed = w.success_for(id, addr("192.0.2.66:6666"), addr("192.0.2.99:3478"));
        CHECK(run.discovery->on_datagram(spoofed, addr("192.0.2.99:3478"), w.now_us));
        CHECK(run.counters.unexpected == 1);
        drive(w, run);
        CHECK(text(run.info().mapped_address) == "203.0.113.7:40000");
        CHECK(run.info().nat_type == OM_NAT_FULL_CONE);
    }
    SECTION("a server that ignores CHANGE-REQUEST leaves filtering unknown, not endpoint-independent")
    {
        World w;
        w.honours_change = false;
        const Run run = discover(w);
        CHECK(run.status() == OM_OK);
        CHECK(run.info().filtering == UNK);
        CHECK(run.info().mapping == EIM);
        CHECK(run.info().nat_type == OM_NAT_UNKNOWN);
        CHECK(run.notes().find("ignores CHANGE-REQUEST") != std::string::npos);
    }
    SECTION("a response to our hairpinning request is nobody's to give")
    {
        World w;
        Run run;
        start(w, run);
        drive(w, run, w.now_us + 20'000);
        std::optional<SentRequest> hairpin;
        for (const auto& r : w.requests())
            if (text(r.to) == "203.0.113.7:40000") hairpin = r;
        REQUIRE(hairpin);
        const auto answer = w.success_for(hairpin->id, addr("203.0.113.7:40000"), hairpin->to);
        CHECK(run.discovery->on_datagram(answer, hairpin->to, w.now_us));
        CHECK(run.counters.unexpected == 1);
        drive(w, run);
        CHECK(run.info().hairpin == 0);
        CHECK(ms(run.finished_us - run.started_us) <= 1200);
    }
    SECTION("a filtering answer from a third address is not an answer")
    {
        World w;
        w.filtering = APD;
        Run run;
        start(w, run);
        drive(w, run, w.now_us + 20'000);  // Test I answered, II and III sent
        std::optional<SentRequest> change_both;
        for (const auto& r : w.requests())
            if (r.change_ip) change_both = r;
        REQUIRE(change_both);
        const om_address stranger = addr("198.51.100.9:3479");
        const auto forged = w.success_for(change_both->id, addr("203.0.113.7:40000"), stranger);
        CHECK(run.discovery->on_datagram(forged, stranger, w.now_us));
        CHECK(run.counters.unexpected == 1);
        drive(w, run);
        CHECK(run.info().filtering == APD);
        CHECK(run.info().nat_type == OM_NAT_PORT_RESTRICTED);
    }
}

TEST_CASE("nat-stun discovery: a server with one IP uses its alternate port only", "[nat-stun]")
{
    struct Case {
        om_nat_behavior mapping, filtering;
        om_nat_behavior seen_mapping, seen_filtering;
        om_nat_type expected;
    };
    // One IP cannot tell endpoint-independent from address-dependent: both look alike from one IP.
    const Case cases[] = {
        {EIM, EIM, EIM, AD, OM_NAT_RESTRICTED},
        {EIM, AD, EIM, AD, OM_NAT_RESTRICTED},
        {EIM, APD, EIM, APD, OM_NAT_PORT_RESTRICTED},
        {AD, APD, EIM, APD, OM_NAT_PORT_RESTRICTED},
        {APD, APD, APD, APD, OM_NAT_SYMMETRIC},
    };
    for (const Case& c : cases) {
        World w;
        w.alternate = addr("198.51.100.1:3479");
        w.mapping = c.mapping;
        w.filtering = c.filtering;
        const Run run = discover(w);
        INFO(run.notes());
        CHECK(run.status() == OM_OK);
        CHECK(run.info().server_ips_used == 1);
        CHECK(run.info().mapping == c.seen_mapping);
        CHECK(run.info().filtering == c.seen_filtering);
        CHECK(run.info().nat_type == c.expected);
        CHECK(run.notes().find("one IP") != std::string::npos);
        for (const auto& r : w.requests()) CHECK_FALSE(r.change_ip);
    }
}

TEST_CASE("nat-stun discovery: a server without RFC 5780 support", "[nat-stun]")
{
    SECTION("no OTHER-ADDRESS: the mapped address and hairpinning, behaviours unknown")
    {
        World w;
        w.other_address = false;
        w.response_origin = false;
        w.hairpin = true;
        const Run run = discover(w);
        CHECK(run.status() == OM_OK);
        CHECK(run.info().nat_type == OM_NAT_UNKNOWN);
        CHECK(run.info().server_ips_used == 1);
        CHECK(run.info().mapping == UNK);
        CHECK(run.info().filtering == UNK);
        CHECK(run.info().hairpin == 1);
        CHECK(text(run.info().mapped_address) == "203.0.113.7:40000");
        for (const auto& r : w.requests()) CHECK_FALSE((r.change_ip || r.change_port));
    }
    SECTION("an RFC 3489 server's CHANGED-ADDRESS serves as OTHER-ADDRESS")
    {
        World w;
        w.changed_address = true;
        w.filtering = AD;
        const Run run = discover(w);
        CHECK(run.info().nat_type == OM_NAT_RESTRICTED);
        CHECK(run.info().server_ips_used == 2);
    }
    SECTION("no OTHER-ADDRESS and no NAT is still Open")
    {
        World w;
        w.nat = false;
        w.other_address = false;
        const Run run = discover(w);
        CHECK(run.info().nat_type == OM_NAT_OPEN);
    }
    SECTION("420 to CHANGE-REQUEST: filtering unknown, mapping still measured")
    {
        World w;
        w.knows_change = false;
        w.mapping = APD;
        const Run run = discover(w);
        CHECK(run.status() == OM_OK);
        CHECK(run.info().filtering == UNK);
        CHECK(run.info().mapping == APD);
        CHECK(run.info().nat_type == OM_NAT_SYMMETRIC);
        CHECK(run.counters.error_responses >= 1);
        CHECK(run.notes().find("420") != std::string::npos);
        CHECK(run.notes().find("no CHANGE-REQUEST support") != std::string::npos);
    }
    SECTION("an error to Test I fails the run with the server's answer")
    {
        World w;
        w.binding_error = 401;
        const Run run = discover(w);
        CHECK(run.status() == OM_ERR_AUTH);
        CHECK(run.info().nat_type == OM_NAT_UNKNOWN);
        CHECK(run.info().server_ips_used == 0);
        CHECK(run.discovery->outcome().error.find("401") != std::string::npos);

        World w400;
        w400.binding_error = 400;
        const Run r400 = discover(w400);
        CHECK(r400.status() == OM_ERR_REFUSED);
    }
}

TEST_CASE("nat-stun discovery: IPv6 requests are padded; a server without PADDING gets them bare",
          "[nat-stun]")
{
    World w;
    w.primary = addr("[2001:db8::1]:3478");
    w.alternate = addr("[2001:db8::2]:3479");
    w.local = addr("[2001:db8:1::2]:5000");
    w.nat = false;  // IPv6 without NAT, as usual
    Run run = discover(w);
    CHECK(run.info().nat_type == OM_NAT_OPEN);
    CHECK(run.info().server_ips_used == 2);
    for (const auto& r : w.requests()) {
        CHECK(r.padded);
        // An answer with XOR-MAPPED-ADDRESS, OTHER-ADDRESS, RESPONSE-ORIGIN and FINGERPRINT
        // (100 bytes) is then at most 64 bytes longer than the request.
        CHECK(r.size >= 100 - 64);
    }

    World bare = w;
    bare.sent.clear();
    bare.knows_padding = false;
    const Run retried = discover(bare);
    INFO(retried.notes());
    CHECK(retried.status() == OM_OK);
    CHECK(retried.info().nat_type == OM_NAT_OPEN);
    CHECK(retried.info().filtering == EIM);
    const auto requests = bare.requests();
    CHECK(requests.front().padded);
    CHECK_FALSE(requests[1].padded);
    CHECK(requests.front().id != requests[1].id);  // a new transaction, not a retransmission
    CHECK(retried.notes().find("PADDING") != std::string::npos);

    World v4;
    const Run plain = discover(v4);
    CHECK(plain.status() == OM_OK);
    for (const auto& r : v4.requests()) CHECK_FALSE(r.padded);
}

TEST_CASE("nat-stun discovery: duplicates and late answers are consumed and counted", "[nat-stun]")
{
    World w;
    w.filtering = AD;
    Run run;
    start(w, run);
    drive(w, run, w.now_us + 25'000);  // Test I answered
    const auto first = w.requests().front();
    const auto again = w.success_for(first.id, addr("203.0.113.7:40000"), w.primary);
    CHECK(run.discovery->on_datagram(again, w.primary, w.now_us));
    CHECK(run.counters.late == 1);
    drive(w, run);
    CHECK(run.info().nat_type == OM_NAT_RESTRICTED);
    // Test II's answer arriving after it ended is late too, never a change of verdict.
    std::optional<SentRequest> change_both;
    for (const auto& r : w.requests())
        if (r.change_ip) change_both = r;
    REQUIRE(change_both);
    const auto late_eif = w.success_for(change_both->id, addr("203.0.113.7:40000"), w.alternate);
    CHECK(run.discovery->on_datagram(late_eif, w.alternate, w.now_us));
    CHECK(run.counters.late == 2);
    CHECK(run.info().nat_type == OM_NAT_RESTRICTED);
}

TEST_CASE("nat-stun discovery: cancel stops everything", "[nat-stun]")
{
    World w;
    Run run;
    start(w, run);
    drive(w, run, w.now_us + 25'000);
    const size_t sent = w.sent.size();
    run.discovery->cancel();
    CHECK(run.discovery->finished());
    CHECK_FALSE(run.discovery->next_wakeup_us());
    run.discovery->on_time(w.now_us + 60'000'000);
    CHECK(w.sent.size() == sent);
    CHECK(run.status() == OM_ERR_CLOSED);
}

TEST_CASE("nat-stun discovery: send failures", "[nat-stun]")
{
    World w;
    DiscoveryCounters counters;
    int failures_left = 1;
    Discovery::Io io;
    io.send = [&](const om_address& to, std::span<const uint8_t> bytes) {
        if (failures_left-- > 0) return int32_t{OM_ERR_UNREACHABLE};
        return w.send(to, bytes);
    };
    SECTION("the first send failing fails start")
    {
        Discovery d(Settings{}, request_for(w, 5'000), io, counters);
        CHECK(d.start(w.now_us) == OM_ERR_UNREACHABLE);
        CHECK(d.finished());
        CHECK(d.outcome().status == OM_ERR_UNREACHABLE);
        CHECK(counters.send_errors == 1);
    }
    SECTION("a later send failing is a lost transmission")
    {
        World lossy;
        int sends = 0;
        Discovery::Io flaky;
        flaky.send = [&](const om_address& to, std::span<const uint8_t> bytes) {
            if (++sends == 3) return int32_t{OM_ERR_WOULD_BLOCK};  // filtering test II's first transmission
            return lossy.send(to, bytes);
        };
        Run run;
        run.discovery.emplace(Settings{}, request_for(lossy, 10'000), flaky, run.counters);
        run.started_us = lossy.now_us;
        REQUIRE(run.discovery->start(lossy.now_us) == OM_OK);
        drive(lossy, run);
        CHECK(run.status() == OM_OK);
        CHECK(run.info().nat_type == OM_NAT_FULL_CONE);
        CHECK(run.counters.send_errors == 1);
    }
}
