// The agent's signaling half: om_agent_connect, peers through the server (connect_request /
// connect_response), and the server relay path (seed: the "SignalR" transport, here ServerRelay).
#include "agent/agent.h"

#include "core/error.h"
#include "core/log.h"

#include "proto/random.h"

#include <cstdio>
#include <vector>

namespace om {
namespace {

namespace sig = proto::signaling;

// Shortest time between two connect_requests of one peer that are both served.
constexpr uint64_t kMinRequestSpacingUs = 100'000;

} // namespace

std::string random_ice_string(size_t length)
{
    // RFC 8445 §5.3: ufrag >= 24 bits and pwd >= 128 bits of randomness, ice-char alphabet.
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out(length, 'a');
    std::vector<uint8_t> bytes(length);
    proto::random_bytes(bytes);
    for (size_t i = 0; i < length; ++i) out[i] = alphabet[bytes[i] & 63];  // 64 symbols: unbiased
    return out;
}

int Agent::blocking_timeout_ms() const
{
    return config_.raw.connection_timeout_ms;
}

void Agent::refuse_blocking_on_loop(const char* function) const
{
    // A callback on the loop thread cannot wait for work that needs this very thread.
    if (loop_.in_loop_thread())
        fail(OM_ERR_STATE, std::string(function) + " from the agent's own callback would block its thread: call it "
                                                   "from another thread, or use OM_EVENTS_DISPATCH");
}

void Agent::connect()
{
    refuse_blocking_on_loop("om_agent_connect");
    if (config_.server_url.empty()) fail(OM_ERR_INVALID_ARGUMENT, "server_url is not set");
    std::string why;
    if (!sig::validate_agent_id(config_.agent_id, &why)) fail(OM_ERR_INVALID_ARGUMENT, "agent_id: " + why);
    SignalingClient::Config sc;
    sc.url = ServerUrl::parse(config_.server_url);
    sc.agent_id = config_.agent_id;
    sc.token = config_.token;
    sc.keep_alive_ms = static_cast<uint32_t>(config_.raw.keep_alive_interval_ms);
    sc.disconnect_timeout_ms = static_cast<uint32_t>(config_.raw.disconnect_timeout_ms);
    sc.attempt_timeout_ms = static_cast<uint32_t>(config_.raw.connection_timeout_ms);

    std::optional<om_address> stun = configured_stun_server();  // resolved here, off the loop
    std::optional<om_address> turn;
    try {
        turn = configured_turn_server();  // also off the loop
    } catch (const Error& e) {
        log_message(OM_LOG_WARNING, std::string("turn: ") + e.what());
    }

    auto done = std::make_shared<Completion>();
    on_loop([&] {
        if (signaling_ && signaling_->registered()) fail(OM_ERR_STATE, "already connected to " + config_.server_url);
        configured_stun_ = stun;
        if (turn && !proto::same_address(*turn, turn_.server.value_or(om_address{}))) {
            release_turn("the TURN server changed");
            turn_.server = turn;
        }
        if (!config_.turn_username.empty()) {
            turn_.username = config_.turn_username;
            turn_.password = config_.turn_password;
        }
        connect_waiters_.push_back(done);
        if (!signaling_) {
            SignalingClient::Handler& handler = *this;
            signaling_ = std::make_unique<SignalingClient>(loop_, counters_, handler, sc);
            signaling_->start();
        }
    });
    if (!done->wait(blocking_timeout_ms())) {
        on_loop([&] {
            // Nobody waits any more: give up rather than keep dialling in the background.
            if (signaling_ && !signaling_->registered()) {
                signaling_->stop("connect timed out");
                signaling_.reset();
            }
        });
        fail(OM_ERR_TIMEOUT, "not registered with " + config_.server_url + " within " +
                                 std::to_string(blocking_timeout_ms()) + " ms" +
                                 (done->message().empty() ? "" : " (last failure: " + done->message() + ")"));
    }
    if (done->status() != OM_OK) fail(done->status(), done->message());
}

void Agent::disconnect()
{
    if (loop_.in_loop_thread()) {
        // From a callback: the signaling client may be on the stack; leave once it unwound.
        loop_.post([this] { disconnect_on_loop(); });
        return;
    }
    on_loop([&] { disconnect_on_loop(); });
}

void Agent::disconnect_on_loop()
{
    {
        if (!signaling_) return;
        signaling_->stop("disconnected by the application");
        signaling_.reset();
        for (auto& [id, peer] : peers_.all()) {
            if (peer.pending_request) {
                fail_connect(id, peer, OM_ERR_CLOSED, "disconnected from the server");
                continue;
            }
            // A direct path does not need the server; the relay does.
            if (peer.transport != OM_TRANSPORT_SERVER_RELAY || peer.status == OM_PEER_DISCONNECTED) continue;
            close_data_plane(peer);
            peer.transport = OM_TRANSPORT_NONE;
            peer.finish_waiters(OM_ERR_CLOSED, "disconnected from the server");
            set_peer_status(id, peer, OM_PEER_DISCONNECTED, "left the server");
            emit_peer(OM_EVENT_PEER_DISCONNECTED, id, peer, "left the server");
        }
    }
}

void Agent::on_registered(const sig::Registered& registered, bool reconnected)
{
    log_message(OM_LOG_INFO, "registered with " + config_.server_url + " as " + registered.id);
    for (auto& w : connect_waiters_) w->complete(OM_OK, {});
    connect_waiters_.clear();
    use_server_turn(registered);
    start_turn();  // ready before the first connection needs it
    // Relay peers ride on the server connection: they are usable again.
    for (auto& [id, peer] : peers_.all())
        if (peer.transport == OM_TRANSPORT_SERVER_RELAY && peer.status == OM_PEER_CONNECTING && !peer.pending_request) {
            peer.diagnosis = "relayed by the server";
            set_peer_status(id, peer, OM_PEER_CONNECTED, "the server relay is back");
        }
    const std::string text = (reconnected ? "reconnected, session " : "session ") + registered.session;
    emit(OM_EVENT_CONNECTED, nullptr, nullptr, 0, OM_OK, text.c_str());
}

void Agent::on_connection_lost(om_status status, const std::string& reason, uint64_t retry_in_ms)
{
    log_message(OM_LOG_INFO, "signaling: " + reason);
    if (retry_in_ms == 0) {  // no further attempt: whoever waits in om_agent_connect gets the reason
        for (auto& w : connect_waiters_) w->complete(status == OM_OK ? OM_ERR_CLOSED : status, reason);
        connect_waiters_.clear();
    }
    for (auto& [id, peer] : peers_.all()) {
        if (peer.pending_request) {
            fail_connect(id, peer, OM_ERR_CLOSED, "lost the server: " + reason);
        } else if (peer.transport == OM_TRANSPORT_SERVER_RELAY && peer.status == OM_PEER_CONNECTED) {
            // Only the relay rides on the server connection: direct paths carry on without it.
            peer.diagnosis = "the server relay is down: " + reason;
            set_peer_status(id, peer, retry_in_ms ? OM_PEER_CONNECTING : OM_PEER_DISCONNECTED, peer.diagnosis);
            if (!retry_in_ms) emit_peer(OM_EVENT_PEER_DISCONNECTED, id, peer, reason);
        }
    }
    emit(OM_EVENT_DISCONNECTED, nullptr, nullptr, 0, status, reason.c_str());
    if (retry_in_ms)
        emit(OM_EVENT_RECONNECTING, nullptr, nullptr, 0, OM_OK,
             ("reconnecting to " + config_.server_url + " in " + std::to_string(retry_in_ms) + " ms").c_str());
}

void Agent::on_signal(sig::Message& message)
{
    if (auto* request = std::get_if<sig::ConnectRequest>(&message)) return on_connect_request(*request);
    if (auto* response = std::get_if<sig::ConnectResponse>(&message)) return on_connect_response(*response);
    if (auto* relay = std::get_if<sig::Relay>(&message)) return on_relay(*relay);
    if (auto* error = std::get_if<sig::Error>(&message)) return on_server_error(*error);
    if (auto* candidate = std::get_if<sig::Candidate>(&message)) return on_trickled_candidate(*candidate);
    counters_.add("signaling.unhandled", 1);
}

void Agent::connect_peer(const std::string& peer_id, om_transport_type via, om_peer_state* out)
{
    std::string why;
    if (!sig::validate_agent_id(peer_id, &why)) fail(OM_ERR_INVALID_ARGUMENT, "peer id: " + why);
    if (via != OM_TRANSPORT_NONE && via != OM_TRANSPORT_SERVER_RELAY && via != OM_TRANSPORT_P2P && via != OM_TRANSPORT_TURN)
        fail(OM_ERR_INVALID_ARGUMENT, "unknown transport " + std::to_string(via));
    refuse_blocking_on_loop("om_agent_connect_peer");
    if (peer_id == config_.agent_id) fail(OM_ERR_INVALID_ARGUMENT, "an agent cannot connect to itself");
    // TURN alone needs the relayed candidate: an allocation under way (made at registration) is
    // waited for, within the connection timeout.
    if (via == OM_TRANSPORT_TURN) {
        auto allocated = std::make_shared<Completion>();
        on_loop([&] {
            if (turn_.state == TurnLink::State::Allocating) turn_waiters_.push_back(allocated);
            else allocated->complete(OM_OK, {});
        });
        (void)allocated->wait(config_.raw.connection_timeout_ms);  // the attempt below says why not
    }

    auto done = std::make_shared<Completion>();
    on_loop([&] {
        if (!signaling_ || !signaling_->registered()) fail(OM_ERR_STATE, "not connected to a server: call om_agent_connect first");
        PeerRecord& peer = peers_.at(peer_id);
        if (peer.status == OM_PEER_CONNECTED) {
            done->complete(OM_OK, {});
            return;
        }
        peer.waiters.push_back(done);
        if (peer.pending_request || peer.status == OM_PEER_CONNECTING) return;  // one attempt serves every caller
        stop_direct(peer);
        close_data_plane(peer);
        peer.transport = OM_TRANSPORT_NONE;
        peer.remote_nat = OM_NAT_UNKNOWN;  // what it was last time may no longer hold
        peer.connect_started_us = EventLoop::now_us();  // gathering is part of connecting
        std::vector<proto::ice::Candidate> local;
        if (via == OM_TRANSPORT_TURN) {
            // TURN alone: the relayed candidate is the only one offered, like a browser's
            // iceTransportPolicy "relay"; it must exist now (a request without candidates
            // would ask the peer for the server relay).
            (void)gather_candidates();  // opens the socket and allocates if nothing did yet
            auto relayed = relayed_candidate();
            if (!relayed) {
                peer.waiters.pop_back();
                fail(OM_ERR_STATE, "cannot connect over TURN: " + turn_unavailable_reason());
            }
            local.push_back(*relayed);
        } else if (via != OM_TRANSPORT_SERVER_RELAY) {
            local = gather_candidates();
        }
        // The peer's addresses are not known yet: a global IPv6 address of ours may meet one.
        plan_connection(peer, via, true, has_global_ipv6(local));
        sig::ConnectRequest request;
        request.to = peer_id;
        request.request_id = next_request_id_++;
        request.nat = nat_for_signal();
        if (plan_uses_ice(peer)) {
            // The candidates travel with the request (seed step 2); the session exists from now
            // on, so the peer's early checks are answered before its response arrives.
            request.candidates = start_direct(peer_id, peer, proto::ice::Role::Controlling, std::move(local));
            if (candidates_pending(peer)) request.more_candidates = peer.p2p.promised_candidates = true;
        } else {
            peer.p2p.local_ufrag = random_ice_string(8);
            peer.p2p.local_pwd = random_ice_string(24);
        }
        request.ufrag = peer.p2p.local_ufrag;
        request.pwd = peer.p2p.local_pwd;
        if (!local_fingerprint().empty()) request.fingerprint = local_fingerprint();
        om_status status = signaling_->send(request);
        if (status != OM_OK) {
            stop_direct(peer);
            peer.waiters.pop_back();
            fail(status, "cannot send the connect request: " + std::string(om_status_str(status)));
        }
        peer.pending_request = request.request_id;
        peer.initiator = true;
        peer.diagnosis.clear();
        peer.local_candidate.clear();
        peer.remote_candidate.clear();
        set_peer_status(peer_id, peer, OM_PEER_CONNECTING, "connect_request sent");
        peer.timeout_timer = loop_.add_timer(uint64_t(blocking_timeout_ms()) * 1000, 0, [this, peer_id](uint64_t) {
            PeerRecord* p = peers_.find(peer_id);
            if (!p || !p->pending_request) return;
            p->timeout_timer = 0;
            fail_connect(peer_id, *p, OM_ERR_TIMEOUT,
                         "no answer from " + peer_id + " within " + std::to_string(blocking_timeout_ms()) + " ms");
        });
    });
    // The loop's own timers end the attempt (answer, checks, fallback); the margin only covers a
    // stalled loop.
    if (!done->wait(blocking_timeout_ms() + 2000)) fail(OM_ERR_TIMEOUT, "no connection to " + peer_id);
    if (out) peer_state(peer_id, *out);
    if (done->status() != OM_OK) fail(done->status(), done->message());
}

int32_t Agent::decide_request(const std::string& peer_id, om_nat_type remote_nat, std::string& reason)
{
    if (!config_.raw.accept_peer) return 1;
    char text[256] = {0};
    int32_t verdict = 1;
    try {
        verdict = config_.raw.accept_peer(config_.raw.user_data, peer_id.c_str(), remote_nat, text, sizeof text);
    }
    OM_RETHROW_FORCED_UNWIND
    catch (...) {
        counters_.add("peers.accept_callback_exceptions", 1);
        verdict = 0;
        std::snprintf(text, sizeof text, "%s", "the application's decision callback failed");
    }
    text[sizeof text - 1] = '\0';
    reason = text;
    return verdict;
}

void Agent::on_connect_request(sig::ConnectRequest& request)
{
    if (!request.from) return;  // the server always says who asks
    if (request.ice_restart.value_or(false) && on_restart_request(request)) return;
    const std::string from = *request.from;
    PeerRecord& peer = peers_.at(from);
    sig::ConnectResponse response;
    response.to = from;
    response.request_id = request.request_id;
    om_nat_type remote_nat = request.nat ? proto::nat_type_from_name(request.nat->type) : OM_NAT_UNKNOWN;

    auto refuse = [&](const std::string& why, const char* counter) {
        response.accept = false;
        response.reason = why;
        counters_.add(counter, 1);
        (void)signaling_->send(response);
    };
    // Both sides asked at once: the request of the smaller id goes on, the other one yields.
    if (peer.pending_request && config_.agent_id < from)
        return refuse("simultaneous connect: " + config_.agent_id + "'s own request goes on", "peers.simultaneous_refused");
    // A peer that keeps asking would restart the checks (and their traffic) each time.
    const uint64_t now = EventLoop::now_us();
    if (!peer.pending_request && !request.candidates.empty() && peer.last_checks_started_us &&
        now - peer.last_checks_started_us < kMinRequestSpacingUs)
        return refuse("too many connect requests", "peers.requests_too_frequent");
    std::string reason;
    if (!decide_request(from, remote_nat, reason))
        return refuse(reason.empty() ? "refused by the application" : reason, "peers.requests_refused");
    if (peer.pending_request) {
        // Yield: our own request is dropped, our waiters stay and this attempt completes them.
        if (peer.timeout_timer) loop_.cancel_timer(peer.timeout_timer);
        peer.timeout_timer = 0;
        peer.pending_request = 0;
        counters_.add("peers.simultaneous_yielded", 1);
    }
    stop_direct(peer);  // a new request replaces whatever ran before
    close_data_plane(peer);
    if (peer.status == OM_PEER_CONNECTED) {
        // The peer starts over (it restarted, or lost its state): the old path is gone for it.
        peer.transport = OM_TRANSPORT_NONE;
        set_peer_status(from, peer, OM_PEER_DISCONNECTED, "the peer started a new connection");
        emit_peer(OM_EVENT_PEER_DISCONNECTED, from, peer, "the peer started a new connection");
    }
    peer.remote_nat = remote_nat;
    peer.remote_fingerprint = request.fingerprint.value_or("");
    peer.initiator = false;
    peer.connect_started_us = EventLoop::now_us();
    peer.diagnosis.clear();
    peer.local_candidate.clear();
    peer.remote_candidate.clear();
    peer.transport = OM_TRANSPORT_NONE;
    // A request without candidates asks for the relay.
    std::vector<proto::ice::Candidate> local;
    if (!request.candidates.empty()) local = gather_candidates();
    plan_connection(peer, request.candidates.empty() ? OM_TRANSPORT_SERVER_RELAY : OM_TRANSPORT_NONE, false,
                    has_global_ipv6(local) && has_global_ipv6(parse_candidates(request.candidates)));
    if (peer.steps.empty()) {
        response.accept = false;
        response.reason = "no path allowed: prefer_p2p and fallback_to_relay are both off";
        (void)signaling_->send(response);
        return;
    }
    response.accept = true;
    response.nat = nat_for_signal();
    if (!local_fingerprint().empty()) response.fingerprint = local_fingerprint();
    const bool direct = plan_uses_ice(peer);
    if (direct) {
        response.candidates = start_direct(from, peer, proto::ice::Role::Controlled, std::move(local));
        if (candidates_pending(peer)) response.more_candidates = peer.p2p.promised_candidates = true;
    }
    else {
        peer.p2p.local_ufrag = random_ice_string(8);
        peer.p2p.local_pwd = random_ice_string(24);
    }
    response.ufrag = peer.p2p.local_ufrag;
    response.pwd = peer.p2p.local_pwd;
    // Status first (no event yet: an application callback must not run before the response is
    // sent, since it may call back into the agent).
    peer.status = OM_PEER_CONNECTING;
    if (direct) {
        // The first checks leave just before the response: over the direct path they reach the
        // requester (already listening on its ufrag) before the response has crossed the server,
        // so its first check can carry the nomination (one check round trip after the response).
        peer.last_checks_started_us = EventLoop::now_us();
        accept_remote(from, peer, request.ufrag, request.pwd, request.candidates, request.more_candidates.value_or(false));
    }
    if (signaling_->send(response) != OM_OK) {
        fail_connect(from, peer, OM_ERR_CLOSED, "the response could not be sent to the server");
        counters_.add("peers.response_send_failures", 1);
        return;
    }
    set_peer_status(from, peer, peer.status, "accepted " + from + "'s connect_request");
    if (!direct) next_step(from, peer, request.candidates.empty() ? "the peer asked for the relay" : "the strategy chose the relay");
}

void Agent::on_connect_response(sig::ConnectResponse& response)
{
    if (on_restart_response(response)) return;
    std::string peer_id;
    PeerRecord* peer = peers_.find_pending(response.request_id, &peer_id);
    if (!peer || (response.from && *response.from != peer_id)) {
        counters_.add("peers.unexpected_responses", 1);
        return;
    }
    if (peer->timeout_timer) loop_.cancel_timer(peer->timeout_timer);
    peer->timeout_timer = 0;
    peer->pending_request = 0;
    if (response.nat) peer->remote_nat = proto::nat_type_from_name(response.nat->type);
    peer->remote_fingerprint = response.fingerprint.value_or("");
    if (!response.accept) {
        fail_connect(peer_id, *peer, OM_ERR_REFUSED,
                     peer_id + " declined" + (response.reason ? ": " + *response.reason : std::string()));
        return;
    }
    // Now both NAT types and both sides' addresses are known: the plan is final.
    bool ipv6_path = peer->p2p.session && has_global_ipv6(peer->p2p.session->local_candidates()) &&
                     has_global_ipv6(parse_candidates(response.candidates));
    plan_connection(*peer, peer->via, true, ipv6_path);
    if (plan_uses_ice(*peer) && peer->p2p.session && !response.candidates.empty()) {
        accept_remote(peer_id, *peer, response.ufrag, response.pwd, response.candidates,
                      response.more_candidates.value_or(false));
        return;
    }
    std::string why = peer->via == OM_TRANSPORT_SERVER_RELAY                       ? "the server relay was asked for"
                      : peer->via == OM_TRANSPORT_NONE && !config_.raw.prefer_p2p ? "prefer_p2p is off"
                      : !plan_uses_ice(*peer)                                    ? "the strategy chose the relay"
                                                           : peer_id + " offered no candidates (its strategy chose the relay)";
    stop_direct(*peer);
    next_step(peer_id, *peer, why);
}

void Agent::relay_connected(const std::string& peer_id, PeerRecord& peer, const std::string& why)
{
    if (peer.timeout_timer) loop_.cancel_timer(peer.timeout_timer);
    peer.timeout_timer = 0;
    peer.pending_request = 0;
    peer.strategy = OM_STRATEGY_SERVER_RELAY;
    peer.local_candidate.clear();
    peer.remote_candidate.clear();
    peer.diagnosis = why.empty() ? "relayed by the server" : why;
    path_connected(peer_id, peer, attach_relay_path(peer_id, peer), peer.diagnosis);
}

void Agent::fail_connect(const std::string& peer_id, PeerRecord& peer, om_status status, const std::string& why)
{
    stop_direct(peer);  // an attempt that failed answers no more checks
    close_data_plane(peer);
    if (peer.timeout_timer) loop_.cancel_timer(peer.timeout_timer);
    peer.timeout_timer = 0;
    peer.pending_request = 0;
    if (peer.p2p.timer) loop_.cancel_timer(peer.p2p.timer);
    peer.p2p.timer = 0;
    peer.transport = OM_TRANSPORT_NONE;
    peer.diagnosis = why;
    set_peer_status(peer_id, peer, OM_PEER_FAILED, why);
    peer.finish_waiters(status, why);
    counters_.add("peers.connect_failures", 1);
}

void Agent::on_server_error(const sig::Error& error)
{
    counters_.add("signaling.errors." + std::string(sig::error_code_name(error.code)), 1);
    std::string text = std::to_string(error.code) + " " + sig::error_code_name(error.code) +
                       (error.reason.empty() ? "" : ": " + error.reason);
    // An unknown peer answers our connect_request: the server names the peer in its reason.
    if (error.ref && *error.ref == "connect_request" && error.code == static_cast<uint16_t>(sig::ErrorCode::UnknownPeer)) {
        for (auto& [id, peer] : peers_.all())
            if (peer.pending_request && error.reason.find(id) != std::string::npos) {
                fail_connect(id, peer, OM_ERR_NOT_FOUND, "the server does not know " + id + " (" + text + ")");
                return;
            }
    }
    emit(OM_EVENT_ERROR, nullptr, nullptr, 0, OM_ERR_REFUSED, ("server: " + text).c_str());
}

void Agent::on_relay(sig::Relay& relay)
{
    if (!relay.from) return;
    const std::string from = *relay.from;
    PeerRecord* peer = peers_.find(from);
    if (!peer) {
        counters_.add("relay.packets_unknown_peer", 1);
        return;
    }
    if (!peer->delivery && peer->status == OM_PEER_CONNECTING && !peer->pending_request) {
        // The server vouches for the sender: the peer gave up on the direct path before this
        // side did, so this side follows it to the relay.
        counters_.add("peers.followed_to_relay", 1);
        stop_direct(*peer);
        relay_connected(from, *peer, "the peer sends through the server relay");
    }
    if (!peer->delivery) {
        counters_.add("relay.packets_without_session", 1);  // an ended session's, or nobody's
        return;
    }
    // Also while on a direct path: the peer moved to the relay, and its session follows.
    const uint32_t path_id = attach_relay_path(from, *peer);
    counters_.add("relay.packets_received", 1);
    peer->delivery->on_packet(path_id, relay.data.data(), relay.data.size());
}

void Agent::peer_state(const std::string& peer_id, om_peer_state& out)
{
    on_loop([&] {
        PeerRecord* peer = peers_.find(peer_id);
        om_delivery_metrics metrics{};
        const bool has_metrics = peer && peer->delivery && peer->delivery->metrics(metrics);
        PeerTable::snapshot(peer, local_nat_type(), signaling_ ? signaling_->last_rtt_ms() : 0,
                            has_metrics ? &metrics : nullptr, out);
        out.send_queue_bytes += outbound_.queued_bytes(peer_id);  // not yet handed to the session
    });
}

} // namespace om
