// The agent's signaling half: om_agent_connect, peers through the server (connect_request /
// connect_response), and the server relay path (seed: the "SignalR" transport, here ServerRelay).
#include "agent/agent.h"

#include "core/error.h"
#include "core/log.h"

#include <random>

namespace om {
namespace {

namespace sig = proto::signaling;

// Largest relay payload: the server's default frame limit (64 KiB) minus room for the header.
constexpr size_t kMaxRelayPayload = 65536 - 512;

std::string random_ice_string(size_t length)
{
    // RFC 8445 §5.3: ufrag >= 24 bits and pwd >= 128 bits of randomness, ice-char alphabet.
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::random_device rd;
    std::string out(length, 'a');
    for (auto& c : out) c = alphabet[rd() % 64];
    return out;
}

} // namespace

int Agent::blocking_timeout_ms() const
{
    return config_.raw.connection_timeout_ms;
}

void Agent::connect()
{
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

    auto done = std::make_shared<Completion>();
    on_loop([&] {
        if (signaling_ && signaling_->registered()) fail(OM_ERR_STATE, "already connected to " + config_.server_url);
        configured_stun_ = stun;
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
    on_loop([&] {
        if (!signaling_) return;
        signaling_->stop("disconnected by the application");
        signaling_.reset();
        for (auto& [id, peer] : peers_.all()) {
            if (peer.transport != OM_TRANSPORT_SERVER_RELAY || peer.status == OM_PEER_DISCONNECTED) continue;
            peer.status = OM_PEER_DISCONNECTED;
            peer.finish_waiters(OM_ERR_CLOSED, "disconnected from the server");
            emit(OM_EVENT_PEER_DISCONNECTED, nullptr, nullptr, 0, OM_OK, "left the server", id.c_str());
        }
    });
}

void Agent::on_registered(const sig::Registered& registered, bool reconnected)
{
    log_message(OM_LOG_INFO, "registered with " + config_.server_url + " as " + registered.id);
    for (auto& w : connect_waiters_) w->complete(OM_OK, {});
    connect_waiters_.clear();
    // Relay peers ride on the server connection: they are usable again.
    for (auto& [id, peer] : peers_.all())
        if (peer.transport == OM_TRANSPORT_SERVER_RELAY && peer.status == OM_PEER_CONNECTING && !peer.pending_request) {
            peer.status = OM_PEER_CONNECTED;
            peer.diagnosis = "relayed by the server";
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
        if (peer.pending_request) fail_connect(peer, OM_ERR_CLOSED, "lost the server: " + reason);
        else if (peer.transport == OM_TRANSPORT_SERVER_RELAY && peer.status == OM_PEER_CONNECTED) {
            peer.status = retry_in_ms ? OM_PEER_CONNECTING : OM_PEER_DISCONNECTED;
            peer.diagnosis = "the server relay is down: " + reason;
            if (!retry_in_ms) emit(OM_EVENT_PEER_DISCONNECTED, nullptr, nullptr, 0, OM_OK, reason.c_str(), id.c_str());
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
    counters_.add("signaling.unhandled", 1);  // candidates arrive with peer-to-peer connections
}

void Agent::connect_peer(const std::string& peer_id, om_transport_type via, om_peer_state* out)
{
    std::string why;
    if (!sig::validate_agent_id(peer_id, &why)) fail(OM_ERR_INVALID_ARGUMENT, "peer id: " + why);
    if (via == OM_TRANSPORT_P2P || via == OM_TRANSPORT_TURN)
        fail(OM_ERR_NOT_SUPPORTED, std::string(via == OM_TRANSPORT_P2P ? "peer-to-peer" : "TURN") +
                                       " connections are not yet supported; use the server relay");
    if (via != OM_TRANSPORT_NONE && via != OM_TRANSPORT_SERVER_RELAY)
        fail(OM_ERR_INVALID_ARGUMENT, "unknown transport " + std::to_string(via));
    if (peer_id == config_.agent_id) fail(OM_ERR_INVALID_ARGUMENT, "an agent cannot connect to itself");

    auto done = std::make_shared<Completion>();
    on_loop([&] {
        if (!signaling_ || !signaling_->registered()) fail(OM_ERR_STATE, "not connected to a server: call om_agent_connect first");
        PeerRecord& peer = peers_.at(peer_id);
        if (peer.status == OM_PEER_CONNECTED) {
            done->complete(OM_OK, {});
            return;
        }
        peer.waiters.push_back(done);
        if (peer.pending_request) return;  // one request in flight serves every caller
        sig::ConnectRequest request;
        request.to = peer_id;
        request.request_id = next_request_id_++;
        request.ufrag = random_ice_string(8);
        request.pwd = random_ice_string(24);
        request.nat = nat_for_signal();
        om_status status = signaling_->send(request);
        if (status != OM_OK) fail(status, "cannot send the connect request: " + std::string(om_status_str(status)));
        peer.status = OM_PEER_CONNECTING;
        peer.pending_request = request.request_id;
        peer.connect_started_us = EventLoop::now_us();
        peer.diagnosis.clear();
        peer.timeout_timer = loop_.add_timer(uint64_t(blocking_timeout_ms()) * 1000, 0, [this, peer_id](uint64_t) {
            PeerRecord* p = peers_.find(peer_id);
            if (!p || !p->pending_request) return;
            p->timeout_timer = 0;
            fail_connect(*p, OM_ERR_TIMEOUT,
                         "no answer from " + peer_id + " within " + std::to_string(blocking_timeout_ms()) + " ms");
        });
    });
    // The loop's own timer ends the attempt; the margin only covers a stalled loop.
    if (!done->wait(blocking_timeout_ms() + 1000)) fail(OM_ERR_TIMEOUT, "no answer from " + peer_id);
    if (out) peer_state(peer_id, *out);
    if (done->status() != OM_OK) fail(done->status(), done->message());
}

void Agent::on_connect_request(sig::ConnectRequest& request)
{
    if (!request.from) return;  // the server always says who asks
    const std::string& from = *request.from;
    PeerRecord& peer = peers_.at(from);
    sig::ConnectResponse response;
    response.to = from;
    response.request_id = request.request_id;
    response.accept = true;  // the decision callback comes with peer-to-peer connections
    response.ufrag = random_ice_string(8);
    response.pwd = random_ice_string(24);
    response.nat = nat_for_signal();
    if (request.nat) peer.remote_nat = proto::nat_type_from_name(request.nat->type);
    if (signaling_->send(response) != OM_OK) {
        counters_.add("peers.response_send_failures", 1);
        return;
    }
    if (peer.status == OM_PEER_CONNECTED) return;
    peer.connect_started_us = EventLoop::now_us();
    peer_connected(from, peer);
}

void Agent::on_connect_response(sig::ConnectResponse& response)
{
    std::string peer_id;
    PeerRecord* peer = peers_.find_pending(response.request_id, &peer_id);
    if (!peer || (response.from && *response.from != peer_id)) {
        counters_.add("peers.unexpected_responses", 1);
        return;
    }
    if (response.nat) peer->remote_nat = proto::nat_type_from_name(response.nat->type);
    if (!response.accept) {
        fail_connect(*peer, OM_ERR_REFUSED,
                     peer_id + " declined" + (response.reason ? ": " + *response.reason : std::string()));
        return;
    }
    peer_connected(peer_id, *peer);
}

void Agent::peer_connected(const std::string& peer_id, PeerRecord& peer)
{
    if (peer.timeout_timer) loop_.cancel_timer(peer.timeout_timer);
    peer.timeout_timer = 0;
    peer.pending_request = 0;
    peer.status = OM_PEER_CONNECTED;
    peer.transport = OM_TRANSPORT_SERVER_RELAY;
    peer.strategy = OM_STRATEGY_SERVER_RELAY;
    peer.connect_ms = double(EventLoop::now_us() - peer.connect_started_us) / 1000.0;
    peer.diagnosis = "relayed by the server: peer-to-peer connections are not built yet";
    peer.finish_waiters(OM_OK, {});
    emit(OM_EVENT_PEER_CONNECTED, nullptr, nullptr, 0, OM_OK, "ServerRelay", peer_id.c_str());
}

void Agent::fail_connect(PeerRecord& peer, om_status status, const std::string& why)
{
    if (peer.timeout_timer) loop_.cancel_timer(peer.timeout_timer);
    peer.timeout_timer = 0;
    peer.pending_request = 0;
    peer.status = OM_PEER_FAILED;
    peer.diagnosis = why;
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
                fail_connect(peer, OM_ERR_NOT_FOUND, "the server does not know " + id + " (" + text + ")");
                return;
            }
    }
    emit(OM_EVENT_ERROR, nullptr, nullptr, 0, OM_ERR_REFUSED, ("server: " + text).c_str());
}

void Agent::on_relay(sig::Relay& relay)
{
    if (!relay.from) return;
    PeerRecord& peer = peers_.at(*relay.from);
    if (peer.status != OM_PEER_CONNECTED) {
        // The server vouches for the sender: a relay is itself proof of a server path.
        peer.connect_started_us = EventLoop::now_us();
        peer_connected(*relay.from, peer);
    }
    peer.bytes_received += relay.data.size();
    ++peer.messages_received;
    counters_.add("relay.messages_received", 1);
    emit(OM_EVENT_MESSAGE, nullptr, relay.data.data(), relay.data.size(), OM_OK, nullptr, relay.from->c_str(),
         static_cast<om_delivery_mode>(relay.mode));
}

void Agent::send(const std::string& peer_id, const uint8_t* data, size_t len, om_delivery_mode mode)
{
    if (mode < OM_DELIVERY_RELIABLE_ORDERED || mode > OM_DELIVERY_SEQUENCED)
        fail(OM_ERR_INVALID_ARGUMENT, "unknown delivery mode " + std::to_string(mode));
    if (!data && len) fail(OM_ERR_INVALID_ARGUMENT, "data is NULL");
    if (len > kMaxRelayPayload)
        fail(OM_ERR_TOO_LARGE, "message of " + std::to_string(len) + " bytes exceeds the relay limit of " +
                                   std::to_string(kMaxRelayPayload));
    on_loop([&] {
        PeerRecord* peer = peers_.find(peer_id);
        if (!peer || peer->status != OM_PEER_CONNECTED)
            fail(OM_ERR_STATE, peer_id + " is not connected" + (peer && !peer->diagnosis.empty() ? " (" + peer->diagnosis + ")" : ""));
        if (!signaling_) fail(OM_ERR_CLOSED, "not connected to a server");
        sig::Relay relay;
        relay.to = peer_id;
        relay.seq = peer->next_seq;
        relay.mode = static_cast<uint8_t>(mode);
        relay.data.assign(data, data + len);
        om_status status = signaling_->send(relay);
        if (status == OM_ERR_WOULD_BLOCK) fail(status, "the server connection's outgoing queue is full");
        if (status != OM_OK) fail(status, "the server connection is down");
        ++peer->next_seq;
        peer->bytes_sent += len;
        ++peer->messages_sent;
        counters_.add("relay.messages_sent", 1);
    });
}

void Agent::peer_state(const std::string& peer_id, om_peer_state& out)
{
    on_loop([&] {
        PeerTable::snapshot(peers_.find(peer_id), local_nat_type(), signaling_ ? signaling_->last_rtt_ms() : 0, out);
    });
}

} // namespace om
