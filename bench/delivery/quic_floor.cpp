// quic_floor: what QUIC itself costs a 64-byte ping-pong, with no socket, thread or agent in the
// way. Two delivery-quic sessions (real ngtcp2 0.12 + GnuTLS, TLS 1.3, AES-GCM) hand their
// packets to each other in one thread; the clock is the real one. The time per round trip is
// both sessions' read and write work (4 packet operations: 2 encrypts, 2 decrypts), the part of
// the RTT that delivery_bench's "ours" adds to a raw UDP exchange that no change outside
// ngtcp2 can remove. bench/delivery/run prints it next to the RTT table.
//
//   quic_floor [--rounds 20000] [--warmup 2000]
#include "in_process_session_args.h"
#include "quic_session.h"
#include "tls_identity.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using namespace om::quic;

uint64_t now_us()
{
    return uint64_t(std::chrono::duration_cast<std::chrono::microseconds>(
                        std::chrono::steady_clock::now().time_since_epoch())
                        .count());
}

uint64_t now_ns()
{
    return uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(
                        std::chrono::steady_clock::now().time_since_epoch())
                        .count());
}

struct Pair;

struct Side {
    Pair* pair = nullptr;
    int index = 0;
    std::unique_ptr<QuicSession> session;
    size_t messages = 0;
    bool established = false;
};

struct Packet {
    int to;
    std::vector<uint8_t> bytes;
};

struct Pair {
    Side sides[2];
    std::deque<Packet> wire;  // carried at once, in order

    static int32_t send_packets(void* user, uint32_t, const uint8_t* data, size_t len, size_t segment)
    {
        auto* s = static_cast<Side*>(user);
        for (size_t at = 0; at < len; at += segment)
            s->pair->wire.push_back({1 - s->index, {data + at, data + at + std::min(segment, len - at)}});
        return OM_OK;
    }
    static void deliver(void* user, om_delivery_mode, uint32_t, const uint8_t*, size_t) { ++static_cast<Side*>(user)->messages; }
    static void event(void* user, int32_t event, int32_t, const char*)
    {
        if (event == OM_DELIVERY_EVENT_ESTABLISHED) static_cast<Side*>(user)->established = true;
    }

    void open(const TlsIdentity& client, const TlsIdentity& server)
    {
        static std::string fingerprints[2];
        fingerprints[0] = server.fingerprint();
        fingerprints[1] = client.fingerprint();
        for (int i = 1; i >= 0; --i) {  // the server first: the client's first write reaches it
            sides[i].pair = this;
            sides[i].index = i;
            const om_delivery_session_args a = in_process_session_args(
                i, &sides[i], fingerprints[i].c_str(), {send_packets, deliver, event}, 30000, 50);
            sides[i].session = std::make_unique<QuicSession>(a, i == 0 ? client : server, SessionSettings{}, now_us());
        }
    }

    // Carries every packet in flight, then runs timers that are due (the write after a read).
    void settle()
    {
        for (int turn = 0; turn < 1000 && !wire.empty(); ++turn) {
            while (!wire.empty()) {
                Packet p = std::move(wire.front());
                wire.pop_front();
                sides[p.to].session->on_packet(1, p.bytes, now_us());
            }
            for (auto& s : sides) {
                const uint64_t now = now_us();
                if (const uint64_t due = s.session->next_wakeup_us(); due && due <= now) s.session->on_timer(now);
            }
        }
    }
};

}  // namespace

int main(int argc, char** argv)
{
    int rounds = 20000, warmup = 2000;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--rounds" && i + 1 < argc) rounds = std::clamp(std::stoi(argv[++i]), 100, 10000000);
        else if (a == "--warmup" && i + 1 < argc) warmup = std::clamp(std::stoi(argv[++i]), 0, 1000000);
        else {
            std::fprintf(stderr, "usage: quic_floor [--rounds N] [--warmup N]\n");
            return 2;
        }
    }
    try {
        const TlsIdentity client = TlsIdentity::generate(), server = TlsIdentity::generate();
        Pair pair;
        pair.open(client, server);
        for (int i = 0; i < 2000 && !(pair.sides[0].established && pair.sides[1].established); ++i) {
            pair.settle();
            for (auto& s : pair.sides) s.session->on_timer(now_us());
        }
        if (!pair.sides[0].established || !pair.sides[1].established) throw std::runtime_error("no handshake");

        uint8_t ping[64] = {};
        std::string why;
        std::vector<double> per_rtt_ns;
        per_rtt_ns.reserve(size_t(rounds));
        for (int r = 0; r < warmup + rounds; ++r) {
            std::memcpy(ping, &r, sizeof r);
            const size_t got = pair.sides[0].messages;
            const uint64_t t0 = now_ns();
            if (pair.sides[0].session->send_message(OM_DELIVERY_RELIABLE_ORDERED, 0, ping, now_us(), &why) != OM_OK)
                throw std::runtime_error("ping: " + why);
            // The server answers from outside its read, as the agent does (after on_packet).
            while (!pair.wire.empty()) {
                Packet p = std::move(pair.wire.front());
                pair.wire.pop_front();
                Side& to = pair.sides[p.to];
                const size_t before = to.messages;
                to.session->on_packet(1, p.bytes, now_us());
                if (p.to == 1 && to.messages > before &&
                    to.session->send_message(OM_DELIVERY_RELIABLE_ORDERED, 0, ping, now_us(), &why) != OM_OK)
                    throw std::runtime_error("echo: " + why);
            }
            pair.settle();  // ACK-only writes and timers, if any
            if (pair.sides[0].messages != got + 1) throw std::runtime_error("the echo did not come back");
            if (r >= warmup) per_rtt_ns.push_back(double(now_ns() - t0));
        }
        std::sort(per_rtt_ns.begin(), per_rtt_ns.end());
        const auto at = [&](double q) { return per_rtt_ns[size_t(q * double(per_rtt_ns.size() - 1))] / 1e3; };
        std::printf("{\"bench\":\"quic_floor\",\"test\":\"rtt\",\"size\":64,\"rounds\":%d,\"p50_us\":%.2f,\"p99_us\":%.2f,"
                    "\"min_us\":%.2f}\n",
                    rounds, at(0.5), at(0.99), at(0.0));
        std::fprintf(stderr, "QUIC work per 64 B round trip, no sockets (both sessions, one thread): p50 %.2f µs, "
                             "p99 %.2f µs, min %.2f µs over %d round trips\n",
                     at(0.5), at(0.99), at(0.0), rounds);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "quic_floor: %s\n", e.what());
        return 1;
    }
    return 0;
}
