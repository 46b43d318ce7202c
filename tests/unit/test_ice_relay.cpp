// The ICE session's second base (RFC 8445 §5.1.1): a relayed local candidate whose checks and
// answers go through a TURN allocation. A simulated network with a relay in the middle: what A
// sends through its relay leaves from the relayed address, what reaches the relayed address comes
// to A on the relay base. With the direct path blocked the sessions agree on a relayed pair; a
// relay-only session never checks from its socket; a relayed candidate that arrives late joins
// the checks already under way.
#include "agent/ice/ice_session.h"
#include "proto/address.h"

#include <catch2/catch.hpp>

#include <deque>
#include <functional>
#include <memory>

namespace {

using namespace om;
namespace pice = om::proto::ice;

om_address addr(const char* text)
{
    om_address a{};
    REQUIRE(proto::parse_address(text, 0, a));
    return a;
}

struct Packet {
    om_address from, to;
    std::vector<uint8_t> bytes;
};

struct RelayNet {
    std::deque<Packet> wire;
    om_address a_socket = addr("192.0.2.1:1000"), a_relay = addr("203.0.113.50:60000"),
               b_socket = addr("198.51.100.2:2000");
    std::unique_ptr<ice::Session> a, b;
    uint64_t now = 1'000'000;
    bool block_direct = true;  // A's socket and B cannot reach each other (NATs that never punch)
    size_t sent_from_a_socket_to_b = 0;

    std::unique_ptr<ice::Session> make(const om_address& socket, pice::Role role, const char* ufrag, const char* pwd,
                                       std::vector<pice::Candidate> local, bool relay_only = false)
    {
        ice::SessionConfig c;
        c.role = role;
        c.tie_breaker = role == pice::Role::Controlling ? 9 : 1;
        c.local_ufrag = ufrag;
        c.local_pwd = pwd;
        c.checks_per_pair = 5;
        c.check_interval_ms = 50;
        c.budget_ms = 5000;
        c.socket_address = socket;
        c.relay_only = relay_only;
        return std::make_unique<ice::Session>(c, std::move(local), [this, socket](const om_address& to, std::span<const uint8_t> bytes) {
            wire.push_back(Packet{socket, to, {bytes.begin(), bytes.end()}});
        });
    }

    void setup(bool a_has_relay, bool a_relay_only = false)
    {
        std::vector<pice::Candidate> local;
        if (!a_relay_only) local.push_back(pice::make_host(a_socket));
        if (a_has_relay) local.push_back(pice::make_relayed(a_relay, "203.0.113.50:3478"));
        a = make(a_socket, pice::Role::Controlling, "aaaa", "apassword-apassword-0001", local, a_relay_only);
        // Through the relay, packets leave from the relayed address.
        a->set_relay_send([this](const om_address& to, std::span<const uint8_t> bytes) {
            wire.push_back(Packet{a_relay, to, {bytes.begin(), bytes.end()}});
        });
        b = make(b_socket, pice::Role::Controlled, "bbbb", "bpassword-bpassword-0002", {pice::make_host(b_socket)});
        a->set_remote_credentials("bbbb", "bpassword-bpassword-0002");
        b->set_remote_credentials("aaaa", "apassword-apassword-0001");
        a->add_remote_candidate(pice::make_host(b_socket), now);
        if (!a_relay_only) b->add_remote_candidate(pice::make_host(a_socket), now);
        if (a_has_relay) b->add_remote_candidate(pice::make_relayed(a_relay, "203.0.113.50:3478"), now);
        a->start(now);
        b->start(now);
    }

    void deliver(const Packet& p)
    {
        ice::Session* to = nullptr;
        ice::Base base = ice::Base::Socket;
        if (proto::same_address(p.to, a_socket)) to = a.get();
        else if (proto::same_address(p.to, a_relay)) {
            to = a.get();
            base = ice::Base::Relay;  // a Data indication or ChannelData from the TURN server
        } else if (proto::same_address(p.to, b_socket)) to = b.get();
        if (!to) return;
        std::span<const uint8_t> bytes(p.bytes);
        if (p.bytes[0] == 0 && p.bytes[1] == 1) {
            pice::ReceivedCheck check;
            std::string owner;
            auto lookup = [&](std::string_view ufrag) -> std::optional<std::string> {
                if (ufrag == to->local_ufrag()) return to->local_pwd();
                return std::nullopt;
            };
            if (pice::verify_check_request(bytes, lookup, check, &owner) == pice::CheckVerdict::Ok)
                to->on_request(check, p.from, now, base);
            return;
        }
        auto id = pice::peek_response_id(bytes);
        if (id && to->owns_transaction(*id)) to->on_response(bytes, p.from, now, base);
    }

    void pump()
    {
        while (!wire.empty()) {
            Packet p = std::move(wire.front());
            wire.pop_front();
            const bool direct = (proto::same_address(p.from, a_socket) && proto::same_address(p.to, b_socket)) ||
                                (proto::same_address(p.from, b_socket) && proto::same_address(p.to, a_socket));
            if (proto::same_address(p.from, a_socket) && proto::same_address(p.to, b_socket)) ++sent_from_a_socket_to_b;
            if (direct && block_direct) continue;
            deliver(p);
        }
    }

    bool run_until(const std::function<bool()>& pred, uint64_t max_ms)
    {
        for (uint64_t i = 0; i < max_ms; ++i) {
            pump();
            if (pred()) return true;
            now += 1000;
            a->tick(now);
            b->tick(now);
        }
        pump();
        return pred();
    }

    bool both_connected() const
    {
        return a->state() == ice::SessionState::Connected && b->state() == ice::SessionState::Connected;
    }
};

} // namespace

TEST_CASE("ICE relay: with the direct path blocked both sides agree on the relayed pair", "[ice][turn]")
{
    RelayNet net;
    net.setup(true);
    REQUIRE(net.run_until([&] { return net.both_connected(); }, 2000));
    const ice::Pair* at_a = net.a->selected();
    const ice::Pair* at_b = net.b->selected();
    REQUIRE(at_a);
    REQUIRE(at_b);
    CHECK(at_a->base == ice::Base::Relay);
    CHECK(at_a->local.type == pice::CandidateType::Relayed);
    CHECK(proto::same_address(at_b->remote.address, net.a_relay));  // B sees A's relayed address
    CHECK(at_b->base == ice::Base::Socket);
    // The blocked direct pairs were tried first (higher priority) and failed or were abandoned.
    CHECK(net.sent_from_a_socket_to_b > 0);
}

TEST_CASE("ICE relay: a relay-only session never checks from its socket", "[ice][turn]")
{
    RelayNet net;
    net.block_direct = false;  // the direct path would work: the policy alone keeps it unused
    net.setup(true, true);
    REQUIRE(net.run_until([&] { return net.both_connected(); }, 2000));
    CHECK(net.a->selected()->base == ice::Base::Relay);
    CHECK(net.sent_from_a_socket_to_b == 0);
    for (const auto& pair : net.a->pairs()) CHECK(pair.base == ice::Base::Relay);
}

TEST_CASE("ICE relay: a relayed candidate gathered late joins the checks under way", "[ice][turn]")
{
    RelayNet net;
    net.setup(false);
    net.run_until([] { return false; }, 30);  // the direct pairs are being checked, in vain
    CHECK(net.a->state() == ice::SessionState::Checking);
    net.a->add_local_relayed(pice::make_relayed(net.a_relay, "203.0.113.50:3478"), net.now);
    net.b->add_remote_candidate(pice::make_relayed(net.a_relay, "203.0.113.50:3478"), net.now);  // trickled
    REQUIRE(net.run_until([&] { return net.both_connected(); }, 2000));
    CHECK(net.a->selected()->base == ice::Base::Relay);
}

TEST_CASE("ICE relay: a check arriving on the relay base is answered through the relay", "[ice][turn]")
{
    RelayNet net;
    net.setup(true);
    // Only B's checks toward the relayed address, and A's answers: every packet A sends to B from
    // the relayed address leaves through relay_send, none from the socket to it.
    REQUIRE(net.run_until([&] { return net.both_connected(); }, 2000));
    const auto& pairs = net.a->pairs();
    const bool relay_pair_checked = std::any_of(pairs.begin(), pairs.end(), [](const ice::Pair& p) {
        return p.base == ice::Base::Relay && p.peer_checked;
    });
    CHECK(relay_pair_checked);
}

TEST_CASE("ICE relay: waiting for a relayed candidate with no pairs schedules no early wake-up", "[ice][turn]")
{
    // The review's busy loop: with no pairs and a candidate pending, the next wake-up must be the
    // budget's end, not the no-pairs deadline that has passed (a 0-delay timer on every tick).
    RelayNet net;
    net.a = net.make(net.a_socket, pice::Role::Controlling, "aaaa", "apassword-apassword-0001", {}, true);
    net.a->set_relay_send([](const om_address&, std::span<const uint8_t>) {});
    net.a->set_remote_credentials("bbbb", "bpassword-bpassword-0002");
    net.a->set_relay_pending(true);
    net.a->start(net.now);
    net.now += 2'000'000;  // past checks_per_pair x interval (250 ms)
    net.a->tick(net.now);
    CHECK(net.a->state() == ice::SessionState::Checking);  // still waiting for the candidate
    CHECK(net.a->next_wakeup_us() > net.now);
    net.a->set_relay_pending(false);
    net.a->tick(net.now);
    CHECK(net.a->state() == ice::SessionState::Failed);  // no more to come, nothing to check
}
