// What the delivery tests check on any path (direct, TURN, the server relay): every mode on
// several channels, reliable ones complete and in order, and the session's encryption state.
#pragma once

#include "harness.h"

#include <algorithm>
#include <string>
#include <vector>

namespace test {

// The payloads of the messages `agent` received from `peer` with `mode` on `channel`, in order.
inline std::vector<std::string> received(RecordingAgent& agent, const std::string& peer, om_delivery_mode mode,
                                  uint32_t channel)
{
    std::vector<std::string> out;
    for (auto& e : agent.of_type(OM_EVENT_MESSAGE))
        if (e.peer_id == peer && e.delivery_mode == mode && e.channel == channel) out.emplace_back(e.data.begin(), e.data.end());
    return out;
}

inline bool wait_received(RecordingAgent& agent, const std::string& peer, om_delivery_mode mode, uint32_t channel, size_t n,
                   int timeout_ms = 10000)
{
    for (int i = 0; i < timeout_ms / 10; ++i) {
        if (received(agent, peer, mode, channel).size() >= n) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
}

inline std::string numbered(const std::string& prefix, int i)
{
    return prefix + " " + std::to_string(i);
}

// Sends, retrying while the peer's send queue is full (the writable event's job in an app).
inline void send_all(orbitmesh::Agent& agent, const std::string& peer, const std::string& data, om_delivery_mode mode,
              uint32_t channel = 0)
{
    for (int tries = 0;; ++tries) {
        om_status status = test::status_of([&] { agent.send(peer, data, mode, channel); });
        if (status == OM_OK) return;
        REQUIRE(status == OM_ERR_WOULD_BLOCK);
        REQUIRE(tries < 5000);
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
}

// Every mode on channels 0, 1 and 7 from a to b; reliable ones complete and in order.
inline void exchange_every_mode(RecordingAgent& a, RecordingAgent& b)
{
    const uint32_t channels[] = {0, 1, 7};
    for (uint32_t c : channels)
        for (int i = 0; i < 50; ++i) {
            send_all(*a.agent, "bob", numbered("ordered " + std::to_string(c), i), OM_DELIVERY_RELIABLE_ORDERED, c);
            send_all(*a.agent, "bob", numbered("unordered " + std::to_string(c), i), OM_DELIVERY_RELIABLE_UNORDERED, c);
            send_all(*a.agent, "bob", numbered("unreliable " + std::to_string(c), i), OM_DELIVERY_UNRELIABLE, c);
            send_all(*a.agent, "bob", numbered("sequenced " + std::to_string(c), i), OM_DELIVERY_SEQUENCED, c);
        }
    for (uint32_t c : channels) {
        REQUIRE(wait_received(b, "alice", OM_DELIVERY_RELIABLE_ORDERED, c, 50));
        auto ordered = received(b, "alice", OM_DELIVERY_RELIABLE_ORDERED, c);
        REQUIRE(ordered.size() == 50);
        for (int i = 0; i < 50; ++i) CHECK(ordered[size_t(i)] == numbered("ordered " + std::to_string(c), i));
        REQUIRE(wait_received(b, "alice", OM_DELIVERY_RELIABLE_UNORDERED, c, 50));
        auto unordered = received(b, "alice", OM_DELIVERY_RELIABLE_UNORDERED, c);
        std::sort(unordered.begin(), unordered.end());
        CHECK(std::unique(unordered.begin(), unordered.end()) == unordered.end());  // each once
        CHECK(unordered.size() == 50);
        // Datagrams on loopback: they arrive (no loss here), sequenced never goes backwards.
        wait_received(b, "alice", OM_DELIVERY_UNRELIABLE, c, 50, 2000);
        CHECK(received(b, "alice", OM_DELIVERY_UNRELIABLE, c).size() >= 40);
        auto sequenced = received(b, "alice", OM_DELIVERY_SEQUENCED, c);
        int last = -1;
        for (auto& text : sequenced) {
            int n = std::stoi(text.substr(text.rfind(' ') + 1));
            CHECK(n > last);
            last = n;
        }
    }
}

inline void check_encrypted_state(RecordingAgent& a, RecordingAgent& b)
{
    om_peer_state at_a = a.agent->peer_state("bob");
    om_peer_state at_b = b.agent->peer_state("alice");
    CHECK_THAT(std::string(at_a.cipher_suite), Catch::StartsWith("TLS_"));
    CHECK(std::string(at_a.local_fingerprint) == a.agent->fingerprint());
    CHECK(std::string(at_a.remote_fingerprint) == b.agent->fingerprint());
    CHECK(std::string(at_b.remote_fingerprint) == a.agent->fingerprint());
    CHECK(a.agent->fingerprint() != b.agent->fingerprint());
    CHECK(at_a.rtt_ms > 0);
    CHECK(at_a.cwnd > 0);
    CHECK(at_a.packets_sent > 0);
    CHECK(std::string(at_a.congestion_control) == "cubic");
}

} // namespace test
