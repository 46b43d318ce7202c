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

namespace {
// The delivery session's figures: the connection's own RTT, loss and counts (QUIC's, on
// whatever path it runs).
void fill_delivery(const om_delivery_metrics& m, bool connected, om_peer_state& out)
{
    if (connected && m.rtt_ms > 0) out.rtt_ms = m.rtt_ms;
    out.packet_loss = m.packet_loss;
    out.rtt_var_ms = m.rtt_var_ms;
    out.min_rtt_ms = m.min_rtt_ms;
    out.cwnd = m.cwnd;
    out.bytes_in_flight = m.bytes_in_flight;
    out.packets_sent = m.packets_sent;
    out.packets_received = m.packets_received;
    out.packets_lost = m.packets_lost;
    out.retransmits = m.retransmits;
    out.send_queue_bytes = m.send_queue_bytes;
    std::snprintf(out.congestion_control, sizeof out.congestion_control, "%s", m.congestion_control);
    std::snprintf(out.cipher_suite, sizeof out.cipher_suite, "%s", m.cipher_suite);
    std::snprintf(out.local_fingerprint, sizeof out.local_fingerprint, "%s", m.local_fingerprint);
    std::snprintf(out.remote_fingerprint, sizeof out.remote_fingerprint, "%s", m.remote_fingerprint);
}
} // namespace

void PeerTable::snapshot(const PeerRecord* peer, om_nat_type local_nat, double relay_rtt_ms,
                         const om_delivery_metrics* delivery, om_peer_state& out)
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
        full.bytes_sent = peer->bytes_sent;
        full.bytes_received = peer->bytes_received;
        full.messages_sent = peer->messages_sent;
        full.messages_received = peer->messages_received;
        std::snprintf(full.diagnosis, sizeof full.diagnosis, "%s", peer->diagnosis.c_str());
        if (delivery) fill_delivery(*delivery, peer->status == OM_PEER_CONNECTED, full);
    }
    // ABI-RULES R6: write only what the caller's struct holds.
    std::memcpy(&out, &full, size < sizeof full ? size : sizeof full);
}

} // namespace om
