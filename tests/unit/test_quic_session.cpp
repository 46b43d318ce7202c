// delivery-quic's session (plugins/delivery-quic/quic_session.*): a client and a server session
// against each other over a simulated wire in this file (a queue of packets on a fake clock,
// with seeded loss, reordering, duplication and delay), with real ngtcp2 and GnuTLS inside.
#include "in_process_session_args.h"
#include "quic_session.h"
#include "tls_identity.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace {

using namespace om::quic;

const TlsIdentity& client_identity()
{
    static const TlsIdentity id = TlsIdentity::generate();
    return id;
}
const TlsIdentity& server_identity()
{
    static const TlsIdentity id = TlsIdentity::generate();
    return id;
}

struct Message {
    om_delivery_mode mode;
    uint32_t channel;
    std::vector<uint8_t> bytes;
};

struct Event {
    int32_t event, status;
    std::string reason;
};

struct Wire;

struct End {
    Wire* wire = nullptr;
    int side = 0;  // 0 client, 1 server
    std::unique_ptr<QuicSession> session;
    std::vector<Message> received;
    std::vector<Event> events;
    size_t batches = 0, batched_packets = 0;
    int block_sends = 0;  // answer OM_ERR_WOULD_BLOCK this many times
    bool has(int32_t event) const
    {
        return std::any_of(events.begin(), events.end(), [&](const Event& e) { return e.event == event; });
    }
    const Event* find(int32_t event) const
    {
        for (const auto& e : events)
            if (e.event == event) return &e;
        return nullptr;
    }
};

struct InFlight {
    uint64_t at_us;
    uint64_t order;
    int to;
    uint32_t path;
    std::vector<uint8_t> bytes;
};

struct Wire {
    uint64_t now = 1'000'000;
    std::mt19937_64 rng{42};
    double loss = 0, duplicate = 0, reorder = 0;
    uint64_t delay_us = 1000;        // one way
    uint64_t reorder_extra_us = 3000;
    std::set<uint32_t> dead_paths;   // packets on them vanish
    std::vector<InFlight> flight;
    uint64_t order = 0;
    End ends[2];
    uint64_t packets = 0, dropped = 0;

    bool chance(double p) { return p > 0 && std::uniform_real_distribution<double>(0, 1)(rng) < p; }

    void carry(int from, uint32_t path, const uint8_t* data, size_t len)
    {
        ++packets;
        if (dead_paths.count(path) || chance(loss)) {
            ++dropped;
            return;
        }
        const int copies = chance(duplicate) ? 2 : 1;
        for (int i = 0; i < copies; ++i) {
            uint64_t at = now + delay_us;
            if (chance(reorder)) at += std::uniform_int_distribution<uint64_t>(1, reorder_extra_us)(rng);
            flight.push_back({at, order++, 1 - from, path, {data, data + len}});
        }
    }

    static int32_t send_packets(void* user, uint32_t path, const uint8_t* data, size_t len, size_t segment)
    {
        auto* e = static_cast<End*>(user);
        if (e->block_sends > 0) {
            --e->block_sends;
            return OM_ERR_WOULD_BLOCK;
        }
        REQUIRE(segment > 0);
        ++e->batches;
        for (size_t at = 0; at < len; at += segment) {
            e->wire->carry(e->side, path, data + at, std::min(segment, len - at));
            ++e->batched_packets;
        }
        return OM_OK;
    }
    static void deliver(void* user, om_delivery_mode mode, uint32_t channel, const uint8_t* data, size_t len)
    {
        static_cast<End*>(user)->received.push_back({mode, channel, {data, data + len}});
    }
    static void event(void* user, int32_t event, int32_t status, const char* reason)
    {
        static_cast<End*>(user)->events.push_back({event, status, reason ? reason : ""});
    }

    om_delivery_session_args args(int side, const std::string& expected, uint32_t idle_ms = 10000,
                                  uint32_t keep_alive_ms = 0)
    {
        static thread_local std::string fp[2];
        fp[side] = expected;
        om_delivery_session_args a =
            in_process_session_args(side, &ends[side], fp[side].c_str(), {send_packets, deliver, event}, idle_ms);
        a.keep_alive_ms = keep_alive_ms;
        return a;
    }

    // Both sessions; each expects the other's real fingerprint unless told otherwise.
    void open(SessionSettings settings = {}, uint32_t idle_ms = 10000, uint32_t keep_alive_ms = 0,
              std::string client_expects = {}, std::string server_expects = {})
    {
        for (int i = 0; i < 2; ++i) {
            ends[i].wire = this;
            ends[i].side = i;
        }
        if (client_expects.empty()) client_expects = server_identity().fingerprint();
        if (server_expects.empty()) server_expects = client_identity().fingerprint();
        auto sa = args(1, server_expects, idle_ms, keep_alive_ms);
        ends[1].session = std::make_unique<QuicSession>(sa, server_identity(), settings, now);
        auto ca = args(0, client_expects, idle_ms, keep_alive_ms);
        ends[0].session = std::make_unique<QuicSession>(ca, client_identity(), settings, now);
    }

    QuicSession& client() { return *ends[0].session; }
    QuicSession& server() { return *ends[1].session; }

    // Advances to the next packet or timer, handles everything due then. False when idle.
    bool step(uint64_t limit_us)
    {
        uint64_t next = UINT64_MAX;
        for (const auto& p : flight) next = std::min(next, p.at_us);
        for (auto& e : ends)
            if (e.session)
                if (const uint64_t w = e.session->next_wakeup_us()) next = std::min(next, w);
        if (next == UINT64_MAX || next > limit_us) return false;
        now = std::max(now, next);
        std::vector<InFlight> due;
        for (auto it = flight.begin(); it != flight.end();) {
            if (it->at_us <= now) {
                due.push_back(std::move(*it));
                it = flight.erase(it);
            } else {
                ++it;
            }
        }
        std::sort(due.begin(), due.end(), [](const InFlight& a, const InFlight& b) {
            return a.at_us != b.at_us ? a.at_us < b.at_us : a.order < b.order;
        });
        for (auto& p : due)
            if (ends[p.to].session) ends[p.to].session->on_packet(p.path, p.bytes, now);
        for (auto& e : ends)
            if (e.session)
                if (const uint64_t w = e.session->next_wakeup_us(); w && w <= now) e.session->on_timer(now);
        return true;
    }

    template <class Pred>
    bool run_until(Pred pred, uint64_t max_us = 60'000'000)
    {
        const uint64_t limit = now + max_us;
        while (!pred()) {
            if (!step(limit)) return pred();
        }
        return true;
    }
    void run_for(uint64_t us)
    {
        const uint64_t limit = now + us;
        while (step(limit)) {
        }
        now = std::max(now, limit);
    }
    bool handshake()
    {
        return run_until([&] {
            return (ends[0].has(OM_DELIVERY_EVENT_ESTABLISHED) && ends[1].has(OM_DELIVERY_EVENT_ESTABLISHED)) ||
                   ends[0].has(OM_DELIVERY_EVENT_FAILED) || ends[1].has(OM_DELIVERY_EVENT_FAILED);
        });
    }
};

// Content derived from (channel, index): checkable by recomputing it.
std::vector<uint8_t> payload(uint32_t channel, uint32_t index, size_t size)
{
    std::vector<uint8_t> p(std::max<size_t>(size, 8));
    std::memcpy(p.data(), &channel, 4);
    std::memcpy(p.data() + 4, &index, 4);
    uint64_t x = (uint64_t{channel} << 32 | index) * 0x9E3779B97F4A7C15ull + 1;
    for (size_t i = 8; i < p.size(); ++i) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        p[i] = static_cast<uint8_t>(x);
    }
    return p;
}
bool check_payload(const std::vector<uint8_t>& p, uint32_t* channel, uint32_t* index)
{
    if (p.size() < 8) return false;
    std::memcpy(channel, p.data(), 4);
    std::memcpy(index, p.data() + 4, 4);
    return payload(*channel, *index, p.size()) == p;
}

uint64_t fnv1a(const std::vector<uint8_t>& bytes)
{
    uint64_t h = 1469598103934665603ull;
    for (uint8_t b : bytes) h = (h ^ b) * 1099511628211ull;
    return h;
}

int32_t send(QuicSession& s, Wire& w, om_delivery_mode mode, uint32_t channel, const std::vector<uint8_t>& data,
             std::string* error = nullptr)
{
    return s.send_message(mode, channel, data, w.now, error);
}

}  // namespace

TEST_CASE("quic session: handshake establishes both sides with the cipher suite and fingerprints", "[quic]")
{
    Wire w;
    w.open();
    const auto start = std::chrono::steady_clock::now();
    REQUIRE(w.handshake());
    const double wall_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    REQUIRE(w.ends[0].has(OM_DELIVERY_EVENT_ESTABLISHED));
    REQUIRE(w.ends[1].has(OM_DELIVERY_EVENT_ESTABLISHED));
    CHECK_FALSE(w.ends[0].has(OM_DELIVERY_EVENT_FAILED));
    for (int i = 0; i < 2; ++i) {
        om_delivery_metrics m{};
        m.struct_size = sizeof m;
        w.ends[i].session->metrics(m);
        CHECK(m.established == 1);
        CHECK(std::string(m.cipher_suite).rfind("TLS_", 0) == 0);
        CHECK(std::string(m.local_fingerprint) == (i == 0 ? client_identity() : server_identity()).fingerprint());
        CHECK(std::string(m.remote_fingerprint) == (i == 0 ? server_identity() : client_identity()).fingerprint());
        CHECK(std::string(m.congestion_control) == "cubic");
        CHECK(m.path_id == 1);
    }
    WARN("handshake: " << wall_ms << " ms of CPU time, " << w.packets << " packets");
}

TEST_CASE("quic session: a fingerprint mismatch fails both sides with OM_ERR_AUTH", "[quic]")
{
    const std::string wrong = TlsIdentity::generate().fingerprint();
    SECTION("the client does not accept the server")
    {
        Wire w;
        w.open({}, 10000, 0, wrong, {});
        w.handshake();
        REQUIRE(w.run_until([&] {
            return w.ends[0].has(OM_DELIVERY_EVENT_FAILED) && w.ends[1].has(OM_DELIVERY_EVENT_FAILED);
        }));
        const Event* c = w.ends[0].find(OM_DELIVERY_EVENT_FAILED);
        CHECK(c->status == OM_ERR_AUTH);
        CHECK(c->reason.find("peer certificate fingerprint " + server_identity().fingerprint() +
                             " does not match the expected " + wrong) != std::string::npos);
        const Event* s = w.ends[1].find(OM_DELIVERY_EVENT_FAILED);
        CHECK(s->status == OM_ERR_AUTH);
        CHECK(s->reason.find(wrong) != std::string::npos);
        CHECK_FALSE(w.ends[0].has(OM_DELIVERY_EVENT_ESTABLISHED));
        CHECK_FALSE(w.ends[1].has(OM_DELIVERY_EVENT_ESTABLISHED));
    }
    SECTION("the server does not accept the client")
    {
        Wire w;
        w.open({}, 10000, 0, {}, wrong);
        REQUIRE(w.run_until([&] {
            return w.ends[0].has(OM_DELIVERY_EVENT_FAILED) && w.ends[1].has(OM_DELIVERY_EVENT_FAILED);
        }));
        const Event* s = w.ends[1].find(OM_DELIVERY_EVENT_FAILED);
        CHECK(s->status == OM_ERR_AUTH);
        CHECK(s->reason.find("peer certificate fingerprint " + client_identity().fingerprint() +
                             " does not match the expected " + wrong) != std::string::npos);
        const Event* c = w.ends[0].find(OM_DELIVERY_EVENT_FAILED);
        CHECK(c->status == OM_ERR_AUTH);
        CHECK(c->reason.find(wrong) != std::string::npos);
        // The client never reported ESTABLISHED: it waits for HANDSHAKE_DONE.
        CHECK_FALSE(w.ends[0].has(OM_DELIVERY_EVENT_ESTABLISHED));
        CHECK_FALSE(w.ends[1].has(OM_DELIVERY_EVENT_ESTABLISHED));
    }
}

TEST_CASE("quic session: the four modes on several channels, both directions", "[quic]")
{
    Wire w;
    w.open();
    // Sent before the handshake: queued.
    const om_delivery_mode modes[] = {OM_DELIVERY_RELIABLE_ORDERED, OM_DELIVERY_RELIABLE_UNORDERED,
                                      OM_DELIVERY_UNRELIABLE, OM_DELIVERY_SEQUENCED};
    const uint32_t channels[] = {0, 1, 7, 255};
    for (auto mode : modes)
        for (uint32_t ch : channels)
            for (uint32_t i = 0; i < 5; ++i) {
                REQUIRE(send(w.client(), w, mode, ch, payload(ch, i + 100 * static_cast<uint32_t>(mode), 300)) == OM_OK);
                REQUIRE(send(w.server(), w, mode, ch, payload(ch, i + 100 * static_cast<uint32_t>(mode), 200)) == OM_OK);
            }
    REQUIRE(w.handshake());
    REQUIRE(w.run_until([&] { return w.ends[0].received.size() == 80 && w.ends[1].received.size() == 80; }));
    for (int side = 0; side < 2; ++side) {
        std::map<std::pair<int, uint32_t>, std::vector<uint32_t>> seen;
        for (const auto& m : w.ends[side].received) {
            uint32_t ch = 0, index = 0;
            REQUIRE(check_payload(m.bytes, &ch, &index));
            CHECK(ch == m.channel);
            CHECK(index / 100 == static_cast<uint32_t>(m.mode));
            seen[{m.mode, m.channel}].push_back(index % 100);
        }
        REQUIRE(seen.size() == 16);
        for (auto& [key, list] : seen) {
            if (key.first == OM_DELIVERY_RELIABLE_ORDERED || key.first == OM_DELIVERY_SEQUENCED)
                CHECK(list == std::vector<uint32_t>{0, 1, 2, 3, 4});
            std::sort(list.begin(), list.end());
            CHECK(list == std::vector<uint32_t>{0, 1, 2, 3, 4});
        }
    }
}

TEST_CASE("quic session: size limits", "[quic]")
{
    Wire w;
    w.open();
    REQUIRE(w.handshake());
    SECTION("a 16 MiB reliable message arrives intact; 16 MiB + 1 is too large")
    {
        std::vector<uint8_t> big = payload(3, 1, OM_MAX_RELIABLE_MESSAGE);
        std::string error;
        std::vector<uint8_t> too_big(OM_MAX_RELIABLE_MESSAGE + 1);
        CHECK(send(w.client(), w, OM_DELIVERY_RELIABLE_ORDERED, 3, too_big, &error) == OM_ERR_TOO_LARGE);
        CHECK(error.find("16777216") != std::string::npos);
        CHECK(send(w.client(), w, OM_DELIVERY_RELIABLE_UNORDERED, 3, too_big, &error) == OM_ERR_TOO_LARGE);
        const auto start = std::chrono::steady_clock::now();
        REQUIRE(send(w.client(), w, OM_DELIVERY_RELIABLE_ORDERED, 3, big, &error) == OM_OK);
        REQUIRE(w.run_until([&] { return !w.ends[1].received.empty(); }));
        const double wall_ms =
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
        REQUIRE(w.ends[1].received.size() == 1);
        CHECK(w.ends[1].received[0].bytes.size() == big.size());
        CHECK(fnv1a(w.ends[1].received[0].bytes) == fnv1a(big));
        WARN("16 MiB message: " << wall_ms << " ms of CPU time for both sides");
    }
    SECTION("an unreliable message larger than one DATAGRAM is refused with the limit")
    {
        for (auto mode : {OM_DELIVERY_UNRELIABLE, OM_DELIVERY_SEQUENCED}) {
            const size_t limit = w.client().max_unreliable_message(mode);
            CHECK(limit > 1200);
            CHECK(limit < 1400);
            std::string error;
            CHECK(send(w.client(), w, mode, 0, std::vector<uint8_t>(limit + 1), &error) == OM_ERR_TOO_LARGE);
            CHECK(error.find(std::to_string(limit) + " bytes") != std::string::npos);
            CHECK(send(w.client(), w, mode, 0, payload(0, 9, limit), &error) == OM_OK);
        }
        REQUIRE(w.run_until([&] { return w.ends[1].received.size() == 2; }));
        for (const auto& m : w.ends[1].received) {
            uint32_t ch, index;
            CHECK(check_payload(m.bytes, &ch, &index));
        }
    }
}

TEST_CASE("quic session: disabled modes are refused naming the option", "[quic]")
{
    Wire w;
    for (int i = 0; i < 2; ++i) {
        w.ends[i].wire = &w;
        w.ends[i].side = i;
    }
    auto a = w.args(0, server_identity().fingerprint());
    a.enable_reliable = 0;
    QuicSession s(a, client_identity(), {}, w.now);
    std::string error;
    CHECK(s.send_message(OM_DELIVERY_RELIABLE_ORDERED, 0, std::vector<uint8_t>(10), w.now, &error) ==
          OM_ERR_NOT_SUPPORTED);
    CHECK(error.find("enable_reliable") != std::string::npos);
    CHECK(s.send_message(OM_DELIVERY_UNRELIABLE, 0, std::vector<uint8_t>(10), w.now, &error) == OM_OK);
    a.enable_reliable = 1;
    a.enable_unreliable = 0;
    QuicSession t(a, client_identity(), {}, w.now);
    CHECK(t.send_message(OM_DELIVERY_SEQUENCED, 0, std::vector<uint8_t>(10), w.now, &error) == OM_ERR_NOT_SUPPORTED);
    CHECK(error.find("enable_unreliable") != std::string::npos);
    CHECK(t.send_message(OM_DELIVERY_RELIABLE_ORDERED, 256, std::vector<uint8_t>(10), w.now, &error) ==
          OM_ERR_INVALID_ARGUMENT);
}

namespace {
// seed 0: one derived from the loss rate
void loss_run(double loss, uint64_t seed = 0);
}

TEST_CASE("quic session: loss, reordering and duplication", "[quic]")
{
    loss_run(GENERATE(0.01, 0.10));
}

// At 30 % loss both sides used to go quiet with data still queued until the idle timeout:
// packets of DATAGRAM frames alone filled the congestion window, ngtcp2 0.12.1 arms no probe
// timer for them, and once they were lost nothing opened the window again (quic_session.cpp,
// flush). Seed 0 is the one that caught it; 1 and 2 are more of the same.
TEST_CASE("quic session: 30 % loss, reordering and duplication", "[quic][quic-loss30]")
{
    loss_run(0.30, GENERATE(0u, 1u, 2u));
}

// The same ngtcp2 0.12.1 gap with no stream data to pair the datagrams with: a burst of
// sequenced messages alone at 30 % loss filled the window with DATAGRAM-only packets; once they
// were lost no probe left and even a later reliable message waited for the idle timeout. Each
// such packet now carries a byte of the probe stream (quic_session.cpp flush).
TEST_CASE("quic session: datagrams alone at 30 % loss, then a reliable message", "[quic][quic-dgram-loss30]")
{
    Wire w;
    w.rng.seed(GENERATE(1, 2, 3, 4));
    w.open({}, 120000);
    REQUIRE(w.handshake());
    w.loss = 0.30;
    w.duplicate = 0.05;
    w.reorder = 0.10;
    for (uint32_t i = 0; i < 3000; ++i) {
        REQUIRE(send(w.client(), w, OM_DELIVERY_SEQUENCED, 1, payload(1, i, 300)) == OM_OK);
        if (i % 20 == 0) w.run_for(2000);
    }
    w.run_for(3'000'000);
    REQUIRE(send(w.client(), w, OM_DELIVERY_RELIABLE_ORDERED, 2, payload(2, 0, 100)) == OM_OK);
    CHECK(w.run_until(
        [&] {
            return std::any_of(w.ends[1].received.begin(), w.ends[1].received.end(),
                               [](const Message& m) { return m.mode == OM_DELIVERY_RELIABLE_ORDERED; });
        },
        60'000'000));
}

namespace {
void loss_run(double loss, uint64_t seed)
{
    Wire w;
    w.rng.seed(seed ? seed : static_cast<uint64_t>(loss * 1000) + 7);
    w.open({}, 120000);
    REQUIRE(w.handshake());
    w.loss = loss;
    w.duplicate = 0.05;
    w.reorder = 0.10;
    constexpr uint32_t kCount = 2000;
    const uint32_t channels[] = {0, 5, 200};
    const auto start = std::chrono::steady_clock::now();
    uint32_t sent_seq = 0;
    for (uint32_t i = 0; i < kCount; ++i) {
        const uint32_t ch = channels[i % 3];
        REQUIRE(send(w.client(), w, OM_DELIVERY_RELIABLE_ORDERED, ch, payload(ch, i, 64 + i % 700)) == OM_OK);
        REQUIRE(send(w.client(), w, OM_DELIVERY_RELIABLE_UNORDERED, ch, payload(ch, kCount + i, 64 + i % 300)) == OM_OK);
        if (i % 4 == 0) {
            REQUIRE(send(w.client(), w, OM_DELIVERY_SEQUENCED, ch, payload(ch, 2 * kCount + i, 100)) == OM_OK);
            ++sent_seq;
        }
        if (i % 50 == 0) w.run_for(2000);
    }
    const auto reliable = [&] {
        size_t n = 0;
        for (const auto& m : w.ends[1].received) n += m.mode != OM_DELIVERY_SEQUENCED;
        return n;
    };
    const bool all_arrived = w.run_until([&] { return reliable() == 2 * kCount; }, 600'000'000);
    if (!all_arrived) {
        size_t o = 0, u = 0;
        for (const auto& m : w.ends[1].received) (m.mode == OM_DELIVERY_RELIABLE_ORDERED ? o : u) += m.mode != OM_DELIVERY_SEQUENCED;
        WARN("stalled: ordered " << o << " unordered " << u << " queue " << w.client().send_queue_bytes()
             << " wakeup " << w.client().next_wakeup_us() << " now " << w.now << " flight " << w.flight.size()
             << " failed " << w.ends[0].has(OM_DELIVERY_EVENT_FAILED) << w.ends[1].has(OM_DELIVERY_EVENT_FAILED)
             << " reason " << w.client().failure_reason() << "/" << w.server().failure_reason()
             << " malformed " << w.server().counters().malformed_streams);
    }
    REQUIRE(all_arrived);
    w.run_for(200'000);
    const double wall_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();

    std::map<uint32_t, uint32_t> next_ordered;  // channel -> next expected index
    std::set<uint32_t> unordered, sequenced_seen;
    std::map<uint32_t, uint32_t> last_sequenced;
    size_t ordered_count = 0;
    for (const auto& m : w.ends[1].received) {
        uint32_t ch = 0, index = 0;
        REQUIRE(check_payload(m.bytes, &ch, &index));
        REQUIRE(ch == m.channel);
        if (m.mode == OM_DELIVERY_RELIABLE_ORDERED) {
            // exactly once, in order per channel: each channel's indexes go up by 3
            const uint32_t expected = next_ordered.count(ch) ? next_ordered[ch] : static_cast<uint32_t>(
                                          std::find(std::begin(channels), std::end(channels), ch) - std::begin(channels));
            REQUIRE(index == expected);
            next_ordered[ch] = index + 3;
            ++ordered_count;
        } else if (m.mode == OM_DELIVERY_RELIABLE_UNORDERED) {
            REQUIRE(unordered.insert(index).second);
        } else if (m.mode == OM_DELIVERY_SEQUENCED) {
            if (last_sequenced.count(ch)) REQUIRE(index > last_sequenced[ch]);
            last_sequenced[ch] = index;
            REQUIRE(sequenced_seen.insert(index).second);
        }
    }
    CHECK(ordered_count == kCount);
    CHECK(unordered.size() == kCount);
    CHECK(sequenced_seen.size() <= sent_seq);
    om_delivery_metrics m{};
    m.struct_size = sizeof m;
    w.client().metrics(m);
    CHECK(m.retransmits > 0);
    CHECK(m.packets_lost > 0);
    WARN("loss " << loss << ": " << 2 * kCount << " reliable messages in " << wall_ms << " ms CPU, "
                 << (w.now - 1'000'000) / 1000 << " ms simulated; " << sequenced_seen.size() << "/" << sent_seq
                 << " sequenced; lost " << m.packets_lost << " of " << m.packets_sent << " packets");
}
}  // namespace

TEST_CASE("quic session: a full send queue says WOULD_BLOCK, then WRITABLE", "[quic]")
{
    Wire w;
    SessionSettings settings;
    settings.send_queue_bytes = 256 * 1024;
    w.open(settings);
    REQUIRE(w.handshake());
    std::string error;
    // The empty queue takes a message bigger than the limit.
    REQUIRE(send(w.client(), w, OM_DELIVERY_RELIABLE_ORDERED, 1, payload(1, 0, 512 * 1024), &error) == OM_OK);
    CHECK(send(w.client(), w, OM_DELIVERY_RELIABLE_ORDERED, 1, payload(1, 1, 1000), &error) == OM_ERR_WOULD_BLOCK);
    CHECK(error.find("send_queue_bytes") != std::string::npos);
    om_delivery_metrics m{};
    m.struct_size = sizeof m;
    w.client().metrics(m);
    CHECK(m.send_queue_bytes > 256 * 1024);
    CHECK(m.send_queue_limit == 256 * 1024);
    REQUIRE(w.run_until([&] { return w.ends[0].has(OM_DELIVERY_EVENT_WRITABLE); }));
    CHECK(send(w.client(), w, OM_DELIVERY_RELIABLE_ORDERED, 1, payload(1, 1, 1000), &error) == OM_OK);
    REQUIRE(w.run_until([&] { return w.ends[1].received.size() == 2; }));
    uint32_t ch, index;
    CHECK(check_payload(w.ends[1].received[0].bytes, &ch, &index));
    CHECK(index == 0);
    CHECK(check_payload(w.ends[1].received[1].bytes, &ch, &index));
    CHECK(index == 1);
    w.run_for(100'000);
    CHECK(w.client().send_queue_bytes() == 0);
}

TEST_CASE("quic session: send_packets WOULD_BLOCK is retried later", "[quic]")
{
    Wire w;
    w.open();
    REQUIRE(w.handshake());
    w.ends[0].block_sends = 3;
    REQUIRE(send(w.client(), w, OM_DELIVERY_RELIABLE_ORDERED, 0, payload(0, 0, 5000)) == OM_OK);
    REQUIRE(w.run_until([&] { return w.ends[1].received.size() == 1; }));
    CHECK(w.client().counters().send_blocked == 3);
}

TEST_CASE("quic session: packets leave in GSO-shaped batches", "[quic]")
{
    Wire w;
    w.open();
    REQUIRE(w.handshake());
    const size_t batches = w.ends[0].batches, packets = w.ends[0].batched_packets;
    REQUIRE(send(w.client(), w, OM_DELIVERY_RELIABLE_ORDERED, 0, payload(0, 0, 200'000)) == OM_OK);
    REQUIRE(w.run_until([&] { return w.ends[1].received.size() == 1; }));
    CHECK(w.ends[0].batched_packets - packets > 2 * (w.ends[0].batches - batches));
}

TEST_CASE("quic session: the client moves to path 2 mid-stream, the server follows", "[quic]")
{
    Wire w;
    w.open();
    REQUIRE(w.handshake());
    constexpr uint32_t kCount = 600;
    uint32_t sent = 0;
    for (; sent < kCount / 2; ++sent) {
        REQUIRE(send(w.client(), w, OM_DELIVERY_RELIABLE_ORDERED, 2, payload(2, sent, 900)) == OM_OK);
        REQUIRE(send(w.server(), w, OM_DELIVERY_RELIABLE_ORDERED, 2, payload(2, sent, 900)) == OM_OK);
        if (sent % 20 == 0) w.run_for(500);
    }
    // Path 1 dies with packets in flight; the kernel moves the session to path 2.
    w.dead_paths.insert(1);
    const uint64_t switched = w.now;
    std::string error;
    REQUIRE(w.client().path_changed({2, 1400, 2000}, w.now, &error) == OM_OK);
    REQUIRE(w.server().path_changed({2, 1400, 2000}, w.now, &error) == OM_OK);
    for (; sent < kCount; ++sent) {
        REQUIRE(send(w.client(), w, OM_DELIVERY_RELIABLE_ORDERED, 2, payload(2, sent, 900)) == OM_OK);
        REQUIRE(send(w.server(), w, OM_DELIVERY_RELIABLE_ORDERED, 2, payload(2, sent, 900)) == OM_OK);
    }
    REQUIRE(w.run_until([&] { return w.ends[0].received.size() == kCount && w.ends[1].received.size() == kCount; }));
    const uint64_t took_ms = (w.now - switched) / 1000;
    w.run_for(100'000);
    for (int side = 0; side < 2; ++side) {
        REQUIRE(w.ends[side].received.size() == kCount);
        for (uint32_t i = 0; i < kCount; ++i) {
            uint32_t ch, index;
            REQUIRE(check_payload(w.ends[side].received[i].bytes, &ch, &index));
            REQUIRE(index == i);
        }
        CHECK(w.ends[side].session->current_path_id() == 2);
        CHECK_FALSE(w.ends[side].has(OM_DELIVERY_EVENT_FAILED));
    }
    WARN("after the switch to path 2 everything arrived within " << took_ms << " ms (simulated)");
}

TEST_CASE("quic session: idle timeout fails the session, keep-alive keeps it", "[quic]")
{
    SECTION("silence")
    {
        Wire w;
        w.open({}, 3000);
        REQUIRE(w.handshake());
        const uint64_t quiet_from = w.now;
        w.dead_paths.insert(1);
        REQUIRE(w.run_until([&] { return w.ends[0].has(OM_DELIVERY_EVENT_FAILED); }, 20'000'000));
        const Event* e = w.ends[0].find(OM_DELIVERY_EVENT_FAILED);
        CHECK(e->status == OM_ERR_TIMEOUT);
        CHECK(e->reason == "idle timeout after 3000 ms");
        CHECK(w.now - quiet_from >= 3'000'000);
        CHECK(w.now - quiet_from < 4'000'000);
        std::string error;
        CHECK(send(w.client(), w, OM_DELIVERY_RELIABLE_ORDERED, 0, payload(0, 0, 10), &error) == OM_ERR_CLOSED);
    }
    SECTION("keep-alive")
    {
        Wire w;
        w.open({}, 3000, 1000);
        REQUIRE(w.handshake());
        w.run_for(10'000'000);
        CHECK_FALSE(w.ends[0].has(OM_DELIVERY_EVENT_FAILED));
        CHECK_FALSE(w.ends[1].has(OM_DELIVERY_EVENT_FAILED));
        REQUIRE(send(w.client(), w, OM_DELIVERY_RELIABLE_ORDERED, 0, payload(0, 0, 10)) == OM_OK);
        REQUIRE(w.run_until([&] { return w.ends[1].received.size() == 1; }));
    }
}

TEST_CASE("quic session: closing tells the peer", "[quic]")
{
    Wire w;
    w.open();
    REQUIRE(w.handshake());
    w.client().close(w.now);
    REQUIRE(w.run_until([&] { return w.ends[1].has(OM_DELIVERY_EVENT_FAILED); }));
    const Event* e = w.ends[1].find(OM_DELIVERY_EVENT_FAILED);
    CHECK(e->status == OM_ERR_CLOSED);
    CHECK(e->reason.rfind("closed by the peer", 0) == 0);
}

TEST_CASE("quic session: metrics are plausible, and messages per second", "[quic]")
{
    Wire w;
    w.delay_us = 200;
    w.open();
    REQUIRE(w.handshake());
    constexpr uint32_t kCount = 20000;
    const auto start = std::chrono::steady_clock::now();
    for (uint32_t i = 0; i < kCount; ++i) {
        const auto p = payload(0, i, 1024);
        while (send(w.client(), w, OM_DELIVERY_RELIABLE_ORDERED, 0, p) == OM_ERR_WOULD_BLOCK) w.step(UINT64_MAX);
        if (i % 64 == 0) w.step(UINT64_MAX);
    }
    REQUIRE(w.run_until([&] { return w.ends[1].received.size() == kCount; }));
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    om_delivery_metrics m{};
    m.struct_size = sizeof m;
    w.client().metrics(m);
    CHECK(m.rtt_ms > 0);
    CHECK(m.min_rtt_ms > 0);
    CHECK(m.cwnd > 0);
    CHECK(m.packets_sent > kCount / 2);
    CHECK(m.bytes_sent > uint64_t{kCount} * 1024);
    CHECK(m.messages_sent == kCount);
    om_delivery_metrics r{};
    r.struct_size = sizeof r;
    w.server().metrics(r);
    CHECK(r.messages_received == kCount);
    CHECK(r.packets_received > 0);
    CHECK(r.bytes_received > uint64_t{kCount} * 1024);
    WARN("1 KiB reliable-ordered: " << static_cast<uint64_t>(kCount / secs) << " messages/s (CPU of both sides, "
                                    << "one thread), rtt " << m.rtt_ms << " ms, cwnd " << m.cwnd);
}
