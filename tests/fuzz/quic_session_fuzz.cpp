// libFuzzer target for delivery-quic's session (plugins/delivery-quic/quic_session.*, real
// ngtcp2 and GnuTLS inside). Once per process a client and a server session complete their
// handshake over an in-memory wire on a fake clock (as tests/unit/test_quic_session.cpp does)
// and exchange one message of each mode; every packet the client sent is kept. Then each input
// becomes datagrams for the server's on_packet, by its first byte:
//   0  the rest, cut into datagrams by 2-byte big-endian length prefixes;
//   1  a captured packet (byte 1 picks it) with (2-byte offset, xor byte) triples applied;
//   2  a captured packet, cut to byte 2's share of its length, and the rest appended (coalesced);
//   3  the rest, one datagram.
// After each input the wire runs a bounded number of steps (both sessions answer each other).
// The session must not crash, must not ask for a wakeup in the past forever (hang), and keeps
// its counters; when either side has failed, the pair is recreated for the next input.
// OM_QUIC_FUZZ_CAPTURE=<dir>: write the captured packets there as seeds (type 3) and exit
// (tests/fuzz/make_quic_corpus.py uses it).
// Built with clang -fsanitize=fuzzer by scripts/fuzz, and with g++ into the corpus replay test.
#include "in_process_session_args.h"
#include "quic_session.h"
#include "tls_identity.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

using namespace om::quic;

namespace {

[[noreturn]] void broken(const char* what, const std::string& detail = {})
{
    std::fprintf(stderr, "quic_session_fuzz: invariant broken: %s %s\n", what, detail.c_str());
    std::abort();
}

void expect(bool condition, const char* what, const std::string& detail = {})
{
    if (!condition) broken(what, detail);
}

const TlsIdentity& identity(int side)
{
    static const TlsIdentity ids[2] = {TlsIdentity::generate(), TlsIdentity::generate()};
    return ids[side];
}

struct Packet {
    int to;
    uint32_t path;
    std::vector<uint8_t> bytes;
};

struct Pair;

struct End {
    Pair* pair = nullptr;
    int side = 0;  // 0 client, 1 server
    std::unique_ptr<QuicSession> session;
    bool established = false;
    bool failed = false;
    uint64_t delivered = 0;
};

struct Pair {
    uint64_t now = 1'000'000;
    End ends[2];
    std::deque<Packet> flight;
    std::vector<std::vector<uint8_t>> captured;  // everything the client sent, in order
    bool capture = true;
    std::string fingerprint[2];

    static int32_t send_packets(void* user, uint32_t path, const uint8_t* data, size_t len, size_t segment)
    {
        auto* e = static_cast<End*>(user);
        expect(segment > 0, "send_packets with a zero segment");
        for (size_t at = 0; at < len; at += segment) {
            std::vector<uint8_t> p(data + at, data + at + std::min(segment, len - at));
            if (e->side == 0 && e->pair->capture && e->pair->captured.size() < 64) e->pair->captured.push_back(p);
            if (e->pair->flight.size() < 4096) e->pair->flight.push_back({1 - e->side, path, std::move(p)});
        }
        return OM_OK;
    }
    static void deliver(void* user, om_delivery_mode mode, uint32_t channel, const uint8_t*, size_t len)
    {
        expect(channel < OM_MAX_CHANNELS, "delivered on a channel out of range");
        expect(len <= OM_MAX_RELIABLE_MESSAGE, "delivered a message above the limit");
        expect(mode <= OM_DELIVERY_SEQUENCED, "delivered in an unknown mode");
        ++static_cast<End*>(user)->delivered;
    }
    static void event(void* user, int32_t event, int32_t, const char*)
    {
        auto* e = static_cast<End*>(user);
        if (event == OM_DELIVERY_EVENT_ESTABLISHED) e->established = true;
        if (event == OM_DELIVERY_EVENT_FAILED) e->failed = true;
    }

    om_delivery_session_args args(int side)
    {
        fingerprint[side] = identity(1 - side).fingerprint();
        return in_process_session_args(side, &ends[side], fingerprint[side].c_str(), {send_packets, deliver, event}, 30000);
    }

    bool dead() const { return ends[0].failed || ends[1].failed || ends[0].session->failed() || ends[1].session->failed(); }

    // Delivers queued packets and due timers, at most `steps` rounds; the clock moves 1 ms a round.
    void pump(int steps)
    {
        for (int i = 0; i < steps; ++i) {
            if (flight.empty()) {
                uint64_t next = UINT64_MAX;
                for (auto& e : ends)
                    if (const uint64_t w = e.session->next_wakeup_us()) next = std::min(next, w);
                if (next == UINT64_MAX || next > now + 50'000) return;  // nothing due soon: idle
                now = std::max(now, next);
            }
            std::deque<Packet> due;
            due.swap(flight);
            for (auto& p : due) ends[p.to].session->on_packet(p.path, p.bytes, now);
            for (auto& e : ends)
                if (const uint64_t w = e.session->next_wakeup_us(); w && w <= now) e.session->on_timer(now);
            now += 1000;
        }
    }

    void open()
    {
        for (int i = 0; i < 2; ++i) ends[i] = End{this, i, nullptr};
        flight.clear();
        capture = captured.empty();
        auto sa = args(1);
        ends[1].session = std::make_unique<QuicSession>(sa, identity(1), SessionSettings{}, now);
        auto ca = args(0);
        ends[0].session = std::make_unique<QuicSession>(ca, identity(0), SessionSettings{}, now);
        for (int i = 0; i < 400 && !(ends[0].established && ends[1].established) && !dead(); ++i) pump(1);
        expect(ends[0].established && ends[1].established, "the handshake did not complete");
        // One message of each mode, so the captures hold 1-RTT packets with STREAM and DATAGRAM frames.
        const std::vector<uint8_t> msg(100, 0x5A);
        for (auto mode : {OM_DELIVERY_RELIABLE_ORDERED, OM_DELIVERY_RELIABLE_UNORDERED, OM_DELIVERY_UNRELIABLE,
                          OM_DELIVERY_SEQUENCED})
            ends[0].session->send_message(mode, 7, msg, now, nullptr);
        pump(50);
        capture = false;
    }
};

Pair& pair()
{
    static Pair* p = [] {
        auto* made = new Pair;
        made->open();
        return made;
    }();
    return *p;
}

void write_captures(const char* dir)
{
    const auto& caps = pair().captured;
    for (size_t i = 0; i < caps.size(); ++i) {
        std::ofstream out(std::string(dir) + "/captured-" + (i < 10 ? "0" : "") + std::to_string(i), std::ios::binary);
        out.put(3);
        out.write(reinterpret_cast<const char*>(caps[i].data()), static_cast<std::streamsize>(caps[i].size()));
    }
    std::printf("wrote %zu captured client packets to %s\n", caps.size(), dir);
    std::fflush(stdout);
    std::_Exit(0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    static const bool capture_only = [] {
        if (const char* dir = std::getenv("OM_QUIC_FUZZ_CAPTURE")) write_captures(dir);
        return false;
    }();
    (void)capture_only;
    if (size == 0) return 0;
    Pair& p = pair();
    if (p.dead()) p.open();
    const auto& caps = p.captured;
    std::vector<std::vector<uint8_t>> datagrams;
    const uint8_t* rest = data + 1;
    size_t left = size - 1;
    switch (data[0] & 3) {
    case 0:
        while (left >= 2 && datagrams.size() < 32) {
            const size_t len = std::min<size_t>((size_t{rest[0]} << 8 | rest[1]), left - 2);
            datagrams.emplace_back(rest + 2, rest + 2 + len);
            rest += 2 + len;
            left -= 2 + len;
        }
        break;
    case 1: {
        if (left < 1) return 0;
        auto packet = caps[rest[0] % caps.size()];
        for (size_t i = 1; i + 3 <= left; i += 3) {
            const size_t at = (size_t{rest[i]} << 8 | rest[i + 1]) % packet.size();
            packet[at] ^= rest[i + 2];
        }
        datagrams.push_back(std::move(packet));
        break;
    }
    case 2: {
        if (left < 2) return 0;
        auto packet = caps[rest[0] % caps.size()];
        packet.resize(packet.size() * (size_t{rest[1]} + 1) / 256);
        packet.insert(packet.end(), rest + 2, rest + left);
        datagrams.push_back(std::move(packet));
        break;
    }
    default: datagrams.emplace_back(rest, rest + left); break;
    }
    for (const auto& d : datagrams) {
        if (p.dead()) break;
        p.ends[1].session->on_packet((data[0] >> 2) & 1 ? 2 : 1, d, p.now);
        p.pump(4);
    }
    p.pump(20);
    // A wakeup that stays in the past after on_timer would be a busy loop in the host.
    for (auto& e : p.ends) {
        if (e.session->failed()) continue;
        const uint64_t w = e.session->next_wakeup_us();
        if (w && w <= p.now) {
            e.session->on_timer(p.now);
            const uint64_t again = e.session->next_wakeup_us();
            expect(!again || again > p.now || e.session->failed(), "wakeup stays in the past after on_timer");
        }
    }
    return 0;
}
