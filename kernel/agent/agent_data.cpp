// The agent's data plane: one delivery session (QUIC, the delivery plugin) per peer, on the
// peer's current path; every message leaves through it and every message arrives from it, so
// sending never branches on the route. Paths are a direct UDP pair or the server relay
// (kernel/agent/path/); switching between them is the session's path migration.
#include "agent/agent.h"

#include "agent/path/direct_path.h"
#include "agent/path/relay_path.h"
#include "core/error.h"
#include "core/log.h"
#include "plugin_host/guarded_call.h"
#include "proto/address.h"

#include <algorithm>

namespace om {
namespace {

namespace sig = proto::signaling;

// Packets held while the nominated pair is being validated (a round trip at most).
constexpr size_t kMaxEarlyPackets = 64;
// The handshake gets at least this long, even when the checks used most of the budget.
constexpr uint64_t kMinHandshakeUs = 2'000'000;

const char* transport_name(om_transport_type t)
{
    switch (t) {
    case OM_TRANSPORT_P2P: return "P2P";
    case OM_TRANSPORT_SERVER_RELAY: return "ServerRelay";
    case OM_TRANSPORT_TURN: return "TurnRelay";
    default: return "None";
    }
}

} // namespace

// What a peer's delivery session produces, handed to the agent with the peer it belongs to.
// PeerRecords live in a std::map and are never erased, so the pointer stays valid.
class Agent::PeerIo final : public DeliverySession::Handler {
public:
    PeerIo(Agent& agent, std::string peer_id, PeerRecord& peer) : agent_(agent), peer_id_(std::move(peer_id)), peer_(peer) {}

    om_status send_packets(uint32_t path_id, const uint8_t* data, size_t len, size_t segment_size) override
    {
        return agent_.send_packets(peer_id_, peer_, path_id, data, len, segment_size);
    }
    void on_message(om_delivery_mode mode, uint32_t channel, std::vector<uint8_t> data) override
    {
        agent_.on_peer_message(peer_id_, peer_, mode, channel, std::move(data));
    }
    void on_session_event(int32_t event, om_status status, const std::string& reason) override
    {
        switch (event) {
        case OM_DELIVERY_EVENT_ESTABLISHED: return agent_.delivery_established(peer_id_, peer_);
        case OM_DELIVERY_EVENT_WRITABLE: return agent_.session_writable(peer_id_, peer_);
        case OM_DELIVERY_EVENT_FAILED:
            return agent_.delivery_failed(peer_id_, peer_, status == OM_OK ? OM_ERR_CLOSED : status, reason);
        default: agent_.counters_.add("delivery.unknown_events", 1);
        }
    }

private:
    Agent& agent_;
    std::string peer_id_;
    PeerRecord& peer_;
};

PluginInstance* Agent::delivery_plugin()
{
    for (auto& k : kind_instances_)
        if (k.instance && k.library->vtable<om_delivery_vtbl>()) return &k;
    return nullptr;
}

const std::string& Agent::local_fingerprint()
{
    if (!fingerprint_read_) {
        if (PluginInstance* plugin = delivery_plugin()) local_fingerprint_ = DeliverySession::local_fingerprint(*plugin);
        fingerprint_read_ = true;
    }
    return local_fingerprint_;
}

std::string Agent::fingerprint()
{
    std::string out;
    on_loop([&] {
        if (!delivery_plugin()) fail(OM_ERR_NOT_SUPPORTED, "no delivery plugin is loaded, so this agent has no identity");
        out = local_fingerprint();
        if (out.empty()) fail(OM_ERR_NOT_SUPPORTED, "the delivery plugin has no certificate");
    });
    return out;
}

uint32_t Agent::attach_direct_path(PeerRecord& peer, const om_address& remote, uint64_t rtt_us, bool via_relay,
                                   om_transport_type kind)
{
    for (const auto& [id, path] : peer.paths)
        if (auto* direct = dynamic_cast<DirectPath*>(path.get());
            direct && direct->via_relay() == via_relay && proto::same_address(direct->remote(), remote))
            return id;
    const uint32_t id = next_path_id_++;
    uint32_t mtu = mtu_ ? std::min<uint32_t>(mtu_, config_.raw.max_mtu) : uint32_t(config_.raw.max_mtu);
    if (via_relay) {
        // Each packet is one Send indication (RFC 8656 §10: 20-byte header, XOR-PEER-ADDRESS up
        // to 24 bytes, the DATA header) until the channel is bound, then ChannelData (4 bytes).
        constexpr uint32_t kSendIndicationOverhead = 20 + 24 + 4 + 4;
        mtu = mtu > kSendIndicationOverhead + 68 ? mtu - kSendIndicationOverhead : 68;
        auto send_batch = [this](const om_datagram* batch, size_t count) -> size_t {
            size_t sent = 0;
            for (; sent < count; ++sent)
                if (send_through_turn(batch[sent].peer, batch[sent].data, batch[sent].len) != OM_OK) break;
            return sent;
        };
        peer.paths[id] = std::make_unique<DirectPath>(id, remote, mtu, rtt_us, send_batch, kind, true);
        return id;
    }
    auto send_batch = [this](const om_datagram* batch, size_t count) -> size_t {
        if (!transport_) return 0;
        try {
            size_t sent = transport_->send(batch, count);
            datagrams_sent_.fetch_add(sent, std::memory_order_relaxed);
            for (size_t i = 0; i < sent; ++i) bytes_sent_.fetch_add(batch[i].len, std::memory_order_relaxed);
            if (sent < count) counters_.add("transport.send_would_block", 1);
            return sent;
        } catch (const Error& e) {
            counters_.add("transport.send_errors", 1);
            last_send_error_ = e.what();
            return 0;
        }
    };
    peer.paths[id] = std::make_unique<DirectPath>(id, remote, mtu, rtt_us, send_batch, kind, false);
    return id;
}

uint32_t Agent::attach_relay_path(const std::string& peer_id, PeerRecord& peer)
{
    for (const auto& [id, path] : peer.paths)
        if (path->kind() == OM_TRANSPORT_SERVER_RELAY) return id;
    const uint32_t id = next_path_id_++;
    auto send_packet = [this, peer_id, &peer](const uint8_t* data, size_t len) -> om_status {
        if (!signaling_ || !signaling_->registered()) return OM_ERR_CLOSED;
        sig::Relay relay;
        relay.to = peer_id;
        relay.seq = peer.next_seq;
        relay.data.assign(data, data + len);
        om_status status = signaling_->send(relay);
        if (status == OM_OK) {
            ++peer.next_seq;
            counters_.add("relay.packets_sent", 1);
        }
        return status;
    };
    auto rtt = [this]() -> uint64_t { return signaling_ ? uint64_t(signaling_->last_rtt_ms() * 1000.0) : 0; };
    peer.paths[id] = std::make_unique<RelayPath>(id, uint32_t(config_.raw.max_mtu), send_packet, rtt);
    return id;
}

void Agent::open_delivery(const std::string& peer_id, PeerRecord& peer)
{
    PluginInstance* plugin = delivery_plugin();
    Path& path = *peer.paths.at(peer.current_path);
    DeliverySession::Config config;
    config.peer_id = peer_id;
    // The ICE-controlling side is the QUIC client (only a client may migrate); on the relay
    // alone, the side that asked for the connection.
    const bool client = peer.p2p.session ? peer.p2p.session->role() == proto::ice::Role::Controlling : peer.initiator;
    config.role = client ? OM_DELIVERY_ROLE_CLIENT : OM_DELIVERY_ROLE_SERVER;
    peer.delivery_client = client;
    config.path = om_delivery_path{path.id(), path.mtu(), path.rtt_us()};
    config.remote_fingerprint = peer.remote_fingerprint;
    config.keep_alive_ms = uint32_t(config_.raw.keep_alive_interval_ms);
    config.idle_timeout_ms = uint32_t(config_.raw.disconnect_timeout_ms);
    config.enable_reliable = config_.raw.enable_reliable_delivery != 0;
    config.enable_unreliable = config_.raw.enable_unreliable_delivery != 0;
    peer.established = false;
    peer.io = std::make_unique<PeerIo>(*this, peer_id, peer);
    peer.delivery = std::make_unique<DeliverySession>(*plugin, loop_, *peer.io, config);
    counters_.add("delivery.sessions_opened", 1);
    // The handshake ends within what is left of ConnectionTimeoutMs (a little more at least).
    const uint64_t budget = uint64_t(config_.raw.connection_timeout_ms) * 1000;
    const uint64_t used = EventLoop::now_us() - peer.connect_started_us;
    if (peer.handshake_timer) loop_.cancel_timer(peer.handshake_timer);
    peer.handshake_timer = loop_.add_timer(std::max(budget > used ? budget - used : 0, kMinHandshakeUs), 0,
                                           [this, peer_id](uint64_t) {
        PeerRecord* p = peers_.find(peer_id);
        if (!p) return;
        p->handshake_timer = 0;
        if (p->delivery && !p->established)
            delivery_failed(peer_id, *p, OM_ERR_TIMEOUT, "the encrypted session's handshake did not complete in time");
    });
}

bool Agent::use_path(const std::string& peer_id, PeerRecord& peer, uint32_t path_id)
{
    Path& path = *peer.paths.at(path_id);
    if (peer.delivery && !peer.delivery_client && peer.paths.count(peer.current_path)) {
        // A QUIC server cannot migrate: it moves when its client's packets do, and the transport
        // follows its session (follow_session_path), not this side's checks.
        peer.delivery->path_changed(om_delivery_path{path.id(), path.mtu(), path.rtt_us()});
        if (peer.delivery) sync_outbound(peer_id, peer);  // the datagram limit is the path's
        return true;
    }
    const bool changed = peer.current_path != path_id;
    peer.current_path = path_id;
    peer.transport = path.kind();
    if (!delivery_plugin()) return true;
    if (!peer.delivery) {
        // No identity from the peer, or a session the plugin refuses: the connection fails
        // with the reason (never an exception out of the loop's callbacks).
        // (A plugin older than ABI 1.2 has no identity to pin: it is used as it is.)
        const bool pins = delivery_plugin()->library->vtable<om_delivery_vtbl>()->local_fingerprint != nullptr;
        if (pins && peer.remote_fingerprint.empty()) {
            delivery_failed(peer_id, peer, OM_ERR_AUTH,
                            peer_id + " sent no certificate fingerprint, so its end of the encrypted session "
                                      "cannot be authenticated");
            return false;
        }
        try {
            open_delivery(peer_id, peer);
        } catch (const Error& e) {
            peer.delivery.reset();
            peer.io.reset();
            delivery_failed(peer_id, peer, e.status(), std::string("the encrypted session did not open: ") + e.what());
            return false;
        }
        return true;
    }
    if (changed) {
        counters_.add("delivery.path_changes", 1);
        peer.delivery->path_changed(om_delivery_path{path.id(), path.mtu(), path.rtt_us()});
        if (peer.delivery) sync_outbound(peer_id, peer);  // the datagram limit is the path's
    }
    return true;
}

void Agent::path_connected(const std::string& peer_id, PeerRecord& peer, uint32_t path_id, const std::string& how)
{
    const bool was_connected = peer.status == OM_PEER_CONNECTED && peer.established;
    if (!use_path(peer_id, peer, path_id)) return;
    if (!peer.delivery) {
        // No delivery plugin: the path alone is the connection (messages are refused).
        if (peer.status != OM_PEER_CONNECTED) {
            peer.established = true;
            delivery_established(peer_id, peer);
        }
        return;
    }
    if (was_connected && peer.current_path == path_id)
        set_peer_status(peer_id, peer, OM_PEER_CONNECTED, "moved to " + peer.paths.at(path_id)->describe() + ": " + how);
}

void Agent::delivery_established(const std::string& peer_id, PeerRecord& peer)
{
    if (peer.handshake_timer) loop_.cancel_timer(peer.handshake_timer);
    peer.handshake_timer = 0;
    const bool first = !peer.established || peer.status != OM_PEER_CONNECTED;
    peer.established = true;
    if (!first) return;
    if (peer.timeout_timer) loop_.cancel_timer(peer.timeout_timer);
    peer.timeout_timer = 0;
    peer.pending_request = 0;
    peer.connect_ms = double(EventLoop::now_us() - peer.connect_started_us) / 1000.0;
    counters_.add("delivery.sessions_established", 1);
    const std::string how = peer.transport == OM_TRANSPORT_P2P
                                ? std::string("direct path (") + proto::strategy_name(peer.strategy) + ")"
                                : peer.diagnosis;
    set_peer_status(peer_id, peer, OM_PEER_CONNECTED, how);
    peer.finish_waiters(OM_OK, {});
    emit_peer(OM_EVENT_PEER_CONNECTED, peer_id, peer, transport_name(peer.transport));
    // Relayed although a direct path was allowed: keep looking for it.
    if (peer.transport != OM_TRANSPORT_P2P) schedule_direct_retry(peer_id, peer);
}

void Agent::delivery_failed(const std::string& peer_id, PeerRecord& peer, om_status status, const std::string& why)
{
    counters_.add("delivery.sessions_failed", 1);
    log_message(OM_LOG_INFO, "delivery: " + peer_id + ": " + why);
    const bool was_connected = peer.status == OM_PEER_CONNECTED;
    // The session object is in the middle of handing on this very event: release it from a
    // fresh task, never from under its own flush.
    if (peer.delivery) {
        auto* doomed = peer.delivery.release();
        auto* doomed_io = peer.io.release();
        loop_.post([doomed, doomed_io] {
            delete doomed;
            delete doomed_io;
        });
    }
    peer.established = false;
    if (!was_connected) {
        fail_connect(peer_id, peer, status, why);
        return;
    }
    stop_direct(peer);
    close_data_plane(peer);
    peer.diagnosis = why;
    set_peer_status(peer_id, peer, OM_PEER_DISCONNECTED, why);
    emit_peer(OM_EVENT_PEER_DISCONNECTED, peer_id, peer, why);
}

void Agent::close_data_plane(PeerRecord& peer)
{
    if (peer.handshake_timer) loop_.cancel_timer(peer.handshake_timer);
    peer.handshake_timer = 0;
    if (peer.restart_timer) loop_.cancel_timer(peer.restart_timer);
    peer.restart_timer = 0;
    peer.restart_request = 0;
    peer.restart_attempts = 0;
    peer.delivery.reset();  // before the paths and the io it sends through
    peer.io.reset();
    peer.paths.clear();
    peer.current_path = 0;
    peer.established = false;
    peer.p2p.early.clear();
}

void Agent::direct_path_lost(const std::string& peer_id, PeerRecord& peer, const std::string& why)
{
    counters_.add("peers.consent_expired", 1);
    // Zero-loss fall back: the session moves to the relay and retransmits what the dead path
    // lost; the application sees a StateChanged event, nothing else.
    if (peer.delivery && peer.established && config_.raw.fallback_to_relay && signaling_ && signaling_->registered()) {
        for (auto it = peer.paths.begin(); it != peer.paths.end();)
            it = dynamic_cast<DirectPath*>(it->second.get()) ? peer.paths.erase(it) : std::next(it);
        peer.local_candidate.clear();
        peer.remote_candidate.clear();
        peer.strategy = OM_STRATEGY_SERVER_RELAY;
        peer.diagnosis = "the direct path was lost (" + why + "); relayed by the server";
        counters_.add("peers.moved_to_relay", 1);
        path_connected(peer_id, peer, attach_relay_path(peer_id, peer), peer.diagnosis);
        schedule_direct_retry(peer_id, peer);  // and back when the direct path returns
        return;
    }
    close_data_plane(peer);
    peer.transport = OM_TRANSPORT_NONE;
    peer.diagnosis = why;
    set_peer_status(peer_id, peer, OM_PEER_DISCONNECTED, why);
    emit_peer(OM_EVENT_PEER_DISCONNECTED, peer_id, peer, why);
}

om_status Agent::send_packets(const std::string& peer_id, PeerRecord& peer, uint32_t path_id, const uint8_t* data,
                              size_t len, size_t segment_size)
{
    auto it = peer.paths.find(path_id);
    if (it == peer.paths.end()) {
        counters_.add("delivery.packets_to_unknown_path", 1);
        return OM_ERR_NOT_FOUND;
    }
    // A QUIC server answers on the path its client's packets came over, but it also probes and
    // answers on others while a migration settles: the transport follows the session's own
    // current path (asked from a fresh task, never from inside the plugin), not each packet.
    if (path_id != peer.current_path && !peer.path_check_posted) {
        peer.path_check_posted = true;
        loop_.post([this, peer_id] {
            PeerRecord* p = peers_.find(peer_id);
            if (!p) return;
            p->path_check_posted = false;
            follow_session_path(peer_id, *p);
        });
    }
    return it->second->send(data, len, segment_size);
}

void Agent::follow_session_path(const std::string& peer_id, PeerRecord& peer)
{
    om_delivery_metrics m{};
    if (!peer.delivery || !peer.delivery->metrics(m) || !m.path_id || m.path_id == peer.current_path) return;
    auto it = peer.paths.find(m.path_id);
    if (it == peer.paths.end()) return;
    peer.current_path = m.path_id;
    sync_outbound(peer_id, peer);  // the datagram limit is the path's
    if (peer.transport == it->second->kind()) return;
    peer.transport = it->second->kind();
    counters_.add("delivery.followed_peer_path", 1);
    if (peer.status == OM_PEER_CONNECTED)
        set_peer_status(peer_id, peer, OM_PEER_CONNECTED, "the peer moved to " + it->second->describe());
}

bool Agent::has_direct_path(const PeerRecord& peer, const om_address& remote, bool via_relay) const
{
    for (const auto& [id, path] : peer.paths)
        if (auto* direct = dynamic_cast<const DirectPath*>(path.get());
            direct && direct->via_relay() == via_relay && proto::same_address(direct->remote(), remote))
            return true;
    return false;
}

void Agent::on_peer_message(const std::string& peer_id, PeerRecord& peer, om_delivery_mode mode, uint32_t channel,
                            std::vector<uint8_t> data)
{
    peer.bytes_received += data.size();
    ++peer.messages_received;
    messages_received_.fetch_add(1, std::memory_order_relaxed);
    emit(OM_EVENT_MESSAGE, nullptr, data.data(), data.size(), OM_OK, nullptr, peer_id.c_str(), mode, nullptr, channel);
}

void Agent::deliver_peer_packet(PeerRecord& peer, uint32_t path_id, const om_datagram& datagram)
{
    if (!peer.delivery) {
        counters_.add("delivery.packets_without_session", 1);
        return;
    }
    packets_received_.fetch_add(1, std::memory_order_relaxed);
    peer.delivery->on_packet(path_id, datagram.data, datagram.len);
}

// The direct path this source was last found on, if it is still that peer's: one hash lookup
// per datagram instead of a scan of every peer's paths.
bool Agent::route_cached(const om_datagram& datagram)
{
    auto it = direct_routes_.find(datagram.peer);
    if (it == direct_routes_.end()) return false;
    if (PeerRecord* peer = peers_.find(it->second.peer_id)) {
        auto path = peer->paths.find(it->second.path_id);
        if (path != peer->paths.end()) {
            auto* direct = dynamic_cast<DirectPath*>(path->second.get());
            if (direct && !direct->via_relay() && proto::same_address(direct->remote(), datagram.peer)) {
                deliver_peer_packet(*peer, it->second.path_id, datagram);
                return true;
            }
        }
    }
    direct_routes_.erase(it);  // the path or the peer went away
    return false;
}

bool Agent::route_peer_packet(const om_datagram& datagram, bool via_relay)
{
    // The cache serves the socket's paths (what arrives through the relay has its own source).
    if (!via_relay && route_cached(datagram)) return true;
    for (auto& [peer_id, peer] : peers_.all()) {
        for (auto& [id, path] : peer.paths) {
            auto* direct = dynamic_cast<DirectPath*>(path.get());
            if (!direct || direct->via_relay() != via_relay || !proto::same_address(direct->remote(), datagram.peer)) continue;
            // Stale entries of paths never seen again go when there are too many.
            if (direct_routes_.size() > 2 * peers_.all().size() + 64) direct_routes_.clear();
            if (!via_relay) direct_routes_[datagram.peer] = DirectRoute{peer_id, id};
            deliver_peer_packet(peer, id, datagram);
            return true;
        }
        // The peer already uses the pair it nominated; ours is a check away from agreeing.
        ice::Session* session = peer.p2p.session.get();
        if (session && session->awaiting_validation()) {
            auto nominated = session->nominated_remote();
            if (nominated && proto::same_address(*nominated, datagram.peer)) {
                if (peer.p2p.early.size() < kMaxEarlyPackets) {
                    peer.p2p.early.push_back({datagram.peer, {datagram.data, datagram.data + datagram.len}});
                    counters_.add("delivery.packets_held_until_connected", 1);
                } else {
                    counters_.add("delivery.packets_dropped_early", 1);
                }
                return true;
            }
        }
    }
    return false;  // not a peer's: the application's own datagram
}

} // namespace om
