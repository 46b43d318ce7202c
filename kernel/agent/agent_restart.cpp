// ICE restarts (RFC 8445 §9) on a connection that runs over the relay: the QUIC client's side
// asks again for a direct path on a backoff (1 s doubling to 30 s, with jitter), the peer
// answers with fresh candidates, and when the new checks succeed the session migrates to the
// direct path (agent_data.cpp). The delivery session, and every message on it, stays.
#include "agent/agent.h"

#include "core/error.h"
#include "core/log.h"
#include "proto/random.h"

#include <algorithm>

namespace om {
namespace {

namespace sig = proto::signaling;
namespace pice = proto::ice;

constexpr uint64_t kFirstRetryMs = 1000;
constexpr uint64_t kMaxRetryMs = 30000;

} // namespace

void Agent::schedule_direct_retry(const std::string& peer_id, PeerRecord& peer)
{
    // Only the client migrates, so only it asks; the relay was asked for, or no direct step is
    // allowed: nothing to look for.
    if (!peer.delivery || !peer.delivery_client || peer.restart_timer || peer.restart_request) return;
    if (!config_.raw.prefer_p2p || peer.via == OM_TRANSPORT_SERVER_RELAY || !plan_allows_direct(peer)) return;
    // On TURN the ICE session still runs consent for the path (RFC 7675): a restart would
    // replace it. Moving from TURN to a later direct path is make-before-break (issue 15).
    if (peer.transport == OM_TRANSPORT_TURN) return;
    uint64_t delay_ms = std::min<uint64_t>(kFirstRetryMs << std::min<uint32_t>(peer.restart_attempts, 5), kMaxRetryMs);
    delay_ms = delay_ms * (80 + proto::random_u64() % 41) / 100;  // ±20 %: peers do not retry in step
    peer.restart_timer = loop_.add_timer(delay_ms * 1000, 0, [this, peer_id](uint64_t) {
        PeerRecord* p = peers_.find(peer_id);
        if (!p) return;
        p->restart_timer = 0;
        restart_direct(peer_id, *p);
    });
}

void Agent::restart_direct(const std::string& peer_id, PeerRecord& peer)
{
    if (peer.status != OM_PEER_CONNECTED || peer.transport == OM_TRANSPORT_P2P || !peer.delivery) return;
    if (!signaling_ || !signaling_->registered()) return schedule_direct_retry(peer_id, peer);
    ++peer.restart_attempts;
    counters_.add("ice.restarts", 1);
    std::vector<pice::Candidate> local;
    try {
        local = gather_candidates();
    } catch (const Error& e) {
        log_message(OM_LOG_DEBUG, std::string("ice restart: ") + e.what());
        return schedule_direct_retry(peer_id, peer);
    }
    sig::ConnectRequest request;
    request.to = peer_id;
    request.request_id = next_request_id_++;
    request.nat = nat_for_signal();
    request.ice_restart = true;
    peer.connect_started_us = EventLoop::now_us();  // the checks' budget starts now
    request.candidates = start_direct(peer_id, peer, pice::Role::Controlling, std::move(local));
    request.ufrag = peer.p2p.local_ufrag;
    request.pwd = peer.p2p.local_pwd;
    if (!local_fingerprint().empty()) request.fingerprint = local_fingerprint();
    if (signaling_->send(request) != OM_OK) {
        stop_direct(peer);
        return schedule_direct_retry(peer_id, peer);
    }
    peer.restart_request = request.request_id;
    log_message(OM_LOG_DEBUG, "ice restart: " + peer_id + ": attempt " + std::to_string(peer.restart_attempts));
}

bool Agent::on_restart_request(sig::ConnectRequest& request)
{
    const std::string from = *request.from;
    PeerRecord* peer = peers_.find(from);
    // Not a live connection with this very peer (same certificate): a fresh request then.
    if (!peer || !peer->delivery || !peer->established || peer->status != OM_PEER_CONNECTED ||
        request.fingerprint.value_or("") != peer->remote_fingerprint)
        return false;
    sig::ConnectResponse response;
    response.to = from;
    response.request_id = request.request_id;
    const uint64_t now = EventLoop::now_us();
    if (request.candidates.empty() || !config_.raw.prefer_p2p ||
        (peer->last_checks_started_us && now - peer->last_checks_started_us < 500'000)) {
        response.accept = false;
        response.reason = request.candidates.empty() ? "no candidates" : "no direct path wanted now";
        counters_.add("ice.restarts_refused", 1);
        (void)signaling_->send(response);
        return true;
    }
    std::vector<pice::Candidate> local;
    try {
        local = gather_candidates();
    } catch (const Error&) {
        response.accept = false;
        response.reason = "no candidates";
        (void)signaling_->send(response);
        return true;
    }
    counters_.add("ice.restarts_answered", 1);
    peer->connect_started_us = now;
    response.accept = true;
    response.nat = nat_for_signal();
    if (!local_fingerprint().empty()) response.fingerprint = local_fingerprint();
    response.candidates = start_direct(from, *peer, pice::Role::Controlled, std::move(local));
    response.ufrag = peer->p2p.local_ufrag;
    response.pwd = peer->p2p.local_pwd;
    peer->last_checks_started_us = now;
    accept_remote(from, *peer, request.ufrag, request.pwd, request.candidates);
    if (signaling_->send(response) != OM_OK) stop_direct(*peer);
    return true;
}

bool Agent::on_restart_response(sig::ConnectResponse& response)
{
    if (!response.from) return false;
    PeerRecord* peer = peers_.find(*response.from);
    if (!peer || !peer->restart_request || peer->restart_request != response.request_id) return false;
    peer->restart_request = 0;
    if (!response.accept || response.candidates.empty() || !peer->p2p.session ||
        response.fingerprint.value_or("") != peer->remote_fingerprint) {
        counters_.add("ice.restarts_declined", 1);
        stop_direct(*peer);
        schedule_direct_retry(*response.from, *peer);
        return true;
    }
    accept_remote(*response.from, *peer, response.ufrag, response.pwd, response.candidates);
    return true;
}

} // namespace om
