#include "agent/peer_table.h"

#include "core/event_loop.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>

namespace om {

void Completion::complete(om_status status, std::string message)
{
    std::lock_guard<std::mutex> lock(mutex_);
    if (done_) return;
    done_ = true;
    status_ = status;
    message_ = std::move(message);
    cv_.notify_all();
}

bool Completion::wait(int timeout_ms)
{
    std::unique_lock<std::mutex> lock(mutex_);
    return cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [this] { return done_; });
}

void PeerRecord::finish_waiters(om_status result, const std::string& message)
{
    for (auto& w : waiters) w->complete(result, message);
    waiters.clear();
}

PeerRecord* PeerTable::find(const std::string& peer_id)
{
    auto it = peers_.find(peer_id);
    return it == peers_.end() ? nullptr : &it->second;
}

PeerRecord* PeerTable::find_pending(uint32_t request_id, std::string* peer_id)
{
    for (auto& [id, peer] : peers_)
        if (peer.pending_request == request_id && request_id != 0) {
            if (peer_id) *peer_id = id;
            return &peer;
        }
    return nullptr;
}

void PeerTable::snapshot(const PeerRecord* peer, om_nat_type local_nat, double relay_rtt_ms, om_peer_state& out)
{
    uint32_t size = out.struct_size;
    om_peer_state full{};
    full.struct_size = size;
    full.local_nat = local_nat;
    if (peer) {
        full.status = peer->status;
        full.active_transport = peer->transport;
        full.strategy = peer->strategy;
        full.remote_nat = peer->remote_nat;
        full.connect_ms = peer->connect_ms;
        const ice::Session* ice = peer->p2p.session.get();
        const bool direct = peer->transport == OM_TRANSPORT_P2P;
        full.rtt_ms = peer->status != OM_PEER_CONNECTED ? 0 : direct && ice ? ice->rtt_ms() : relay_rtt_ms;
        full.planned_strategy = peer->planned;
        std::snprintf(full.local_candidate, sizeof full.local_candidate, "%s", peer->local_candidate.c_str());
        std::snprintf(full.remote_candidate, sizeof full.remote_candidate, "%s", peer->remote_candidate.c_str());
        if (ice) {
            for (const auto& pair : ice->pairs()) full.pairs_checked += pair.checks_sent > 0 ? 1 : 0;
            full.checks_sent = ice->checks_sent();
            full.checks_received = ice->checks_received();
            if (direct && ice->last_consent_us())
                full.last_heard_ms = double(EventLoop::now_us() - ice->last_consent_us()) / 1000.0;
        }
        // Loss on the direct path: sequence numbers the peer used that never arrived.
        const P2PLink& link = peer->p2p;
        if (link.frames_received > 0) {
            double expected = double(link.highest_seq - link.first_seq + 1);
            full.packet_loss = expected > 0 ? std::max(0.0, 1.0 - double(link.frames_received) / expected) : 0.0;
        }
        full.bytes_sent = peer->bytes_sent;
        full.bytes_received = peer->bytes_received;
        full.messages_sent = peer->messages_sent;
        full.messages_received = peer->messages_received;
        std::snprintf(full.diagnosis, sizeof full.diagnosis, "%s", peer->diagnosis.c_str());
    }
    // ABI-RULES R6: write only what the caller's struct holds.
    std::memcpy(&out, &full, size < sizeof full ? size : sizeof full);
}

} // namespace om
