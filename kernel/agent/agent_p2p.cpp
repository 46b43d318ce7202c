// The agent's peer-to-peer half (seed steps 4-6): the plan from the strategy plugin, candidate
// gathering, one ICE session per peer driven by the loop's timers and the socket's STUN
// datagrams, and the fall back to the relay. The selected pair becomes the peer's direct path
// (agent_data.cpp).
#include "agent/agent.h"

#include "agent/ice/host_candidates.h"
#include "core/error.h"
#include "core/log.h"
#include "plugin_host/guarded_call.h"
#include "proto/address.h"
#include "proto/nat_names.h"
#include "proto/random.h"
#include "proto/stun.h"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Stringifier.h>

#include <algorithm>
#include <sstream>

namespace om {
namespace {

namespace sig = proto::signaling;
namespace pice = proto::ice;
namespace stun = proto::stun;

// How long a listing of the machine's interfaces serves for host candidates.
constexpr uint64_t kInterfacesTtlUs = 2'000'000;
// Older than this, a listing is not used even once more: it is taken again first.
constexpr uint64_t kInterfacesMaxAgeUs = 30'000'000;

bool is_direct(om_strategy s)
{
    return s == OM_STRATEGY_DIRECT_CONNECT || s == OM_STRATEGY_UDP_HOLE_PUNCH;
}

} // namespace

PluginInstance* Agent::strategy_plugin()
{
    for (auto& k : kind_instances_)
        if (k.instance && k.library->vtable<om_strategy_vtbl>()) return &k;
    return nullptr;
}

om_strategy_output Agent::choose_strategy(const om_strategy_input& input)
{
    om_strategy_output output{};
    output.struct_size = sizeof output;
    if (PluginInstance* plugin = strategy_plugin()) {
        auto vtbl = plugin->library->vtable<om_strategy_vtbl>();
        int32_t status = guarded_call(*plugin->ctx, "choose", [&] { return vtbl->choose(plugin->instance, &input, &output); });
        if (status != OM_OK) {
            log_message(OM_LOG_WARNING, "strategy plugin: " + plugin->ctx->take_error());
            counters_.add("strategy.failures", 1);
            output.step_count = 0;
        }
        return output;
    }
    // No strategy plugin: try direct when allowed, then the relay.
    output.strategy = input.prefer_p2p ? OM_STRATEGY_UDP_HOLE_PUNCH : OM_STRATEGY_SERVER_RELAY;
    if (input.prefer_p2p) output.steps[output.step_count++] = OM_STRATEGY_UDP_HOLE_PUNCH;
    if (input.fallback_to_relay) output.steps[output.step_count++] = OM_STRATEGY_SERVER_RELAY;
    return output;
}

void Agent::plan_connection(PeerRecord& peer, om_transport_type via, bool initiator, bool ipv6_path)
{
    peer.via = via;
    peer.steps.clear();
    peer.step = 0;
    if (via == OM_TRANSPORT_SERVER_RELAY) {
        peer.planned = OM_STRATEGY_SERVER_RELAY;
        peer.steps = {OM_STRATEGY_SERVER_RELAY};
        return;
    }
    if (via == OM_TRANSPORT_TURN) {
        peer.planned = OM_STRATEGY_TURN_RELAY;
        peer.steps = {OM_STRATEGY_TURN_RELAY};
        return;
    }
    om_strategy_input input{};
    input.struct_size = sizeof input;
    input.local_nat = local_nat_type();
    input.remote_nat = peer.remote_nat;
    // OM_TRANSPORT_P2P asks for the direct path alone, whatever the options say.
    input.prefer_p2p = via == OM_TRANSPORT_P2P ? 1 : config_.raw.prefer_p2p;
    input.fallback_to_relay = via == OM_TRANSPORT_P2P ? 0 : config_.raw.fallback_to_relay;
    input.turn_available = turn_configured() && turn_.state != TurnLink::State::Failed ? 1 : 0;
    input.initiator = initiator ? 1 : 0;
    om_strategy_output output = choose_strategy(input);
    peer.planned = output.strategy;
    int32_t count = std::clamp<int32_t>(output.step_count, 0, OM_STRATEGY_MAX_STEPS);
    for (int32_t i = 0; i < count; ++i) {
        om_strategy s = output.steps[i];
        if (is_direct(s) || s == OM_STRATEGY_TURN_RELAY || s == OM_STRATEGY_SERVER_RELAY) peer.steps.push_back(s);
        else counters_.add("strategy.invalid_steps", 1);
    }
    // The NAT types describe the IPv4 path. When both sides have global IPv6 addresses there is
    // a path without NAT: the strategy is asked about it as such (Open to Open), and a direct
    // step it allows there goes first.
    if (ipv6_path && input.prefer_p2p && !plan_has_direct(peer)) {
        input.local_nat = OM_NAT_OPEN;
        input.remote_nat = OM_NAT_OPEN;
        om_strategy_output v6 = choose_strategy(input);
        if (v6.step_count > 0 && is_direct(v6.steps[0])) {
            peer.steps.insert(peer.steps.begin(), v6.steps[0]);
            counters_.add("strategy.ipv6_direct", 1);
        }
    }
}

bool Agent::plan_has_direct(const PeerRecord& peer) const
{
    return !peer.steps.empty() && is_direct(peer.steps.front());
}

bool Agent::plan_uses_ice(const PeerRecord& peer) const
{
    if (plan_has_direct(peer)) return true;
    // A TURN step first: its relayed candidates are checked like any other.
    return !peer.steps.empty() && peer.steps.front() == OM_STRATEGY_TURN_RELAY && turn_configured() &&
           turn_.state != TurnLink::State::Failed;
}

bool Agent::plan_allows_direct(const PeerRecord& peer) const
{
    return std::any_of(peer.steps.begin(), peer.steps.end(), is_direct);
}

const std::vector<ice::InterfaceAddress>& Agent::interface_addresses()
{
    // Listing interfaces is a netlink dump (~0.3 ms the first time in a process): a listing
    // younger than kInterfacesTtlUs serves the next connection too. The transport's opening
    // takes the first one, off the connection's clock.
    const uint64_t now = EventLoop::now_us();
    if (!interfaces_listed_us_ || now - interfaces_listed_us_ > kInterfacesMaxAgeUs) {
        interfaces_ = ice::list_interface_addresses();
        interfaces_listed_us_ = now;
    } else if (now - interfaces_listed_us_ > kInterfacesTtlUs && !interfaces_refresh_posted_) {
        // Stale: this connection uses the last listing, a fresh one follows right after it.
        interfaces_refresh_posted_ = true;
        loop_.post([this] {
            interfaces_refresh_posted_ = false;
            try {
                interfaces_ = ice::list_interface_addresses();
                interfaces_listed_us_ = EventLoop::now_us();
            } catch (const Error& e) {
                log_message(OM_LOG_DEBUG, std::string("interfaces: ") + e.what());
            }
        });
    }
    return interfaces_;
}

std::vector<pice::Candidate> Agent::gather_candidates()
{
    if (!transport_) {
        // Candidates name this socket: open it like NAT discovery does (the application can
        // still take it over with om_agent_open_transport).
        open_transport_on_loop();
        if (!transport_) fail(OM_ERR_CLOSED, "the transport was closed as soon as it opened");
        transport_opened_for_nat_ = true;
    }
    const om_address bound = transport_->local_address();
    std::vector<ice::InterfaceAddress> none;
    const auto& interfaces = proto::is_unspecified(bound) ? interface_addresses() : none;
    std::vector<pice::Candidate> out = ice::host_candidates(bound, interfaces, config_.exclude_interfaces);
    // Server-reflexive: what NAT discovery saw of this very socket (RFC 8445 §5.1.1.2).
    if (nat_->latest() && nat_->latest()->status == OM_OK && nat_->latest()->report.mapped_address[0]) {
        om_address mapped{};
        if (proto::parse_address(nat_->latest()->report.mapped_address, 0, mapped)) {
            bool known = std::any_of(out.begin(), out.end(), [&](const pice::Candidate& c) { return proto::same_address(c.address, mapped); });
            auto base = std::find_if(out.begin(), out.end(), [&](const pice::Candidate& c) { return c.address.family == mapped.family; });
            if (!known && base != out.end()) out.push_back(pice::make_server_reflexive(mapped, base->address));
        }
    }
    // Relayed (RFC 8445 §5.1.1.2): the agent's TURN allocation, when there is one. One that is
    // still being made trickles its candidate when it is done (on_turn_allocated).
    start_turn();
    if (auto relayed = relayed_candidate()) out.push_back(*relayed);
    counters_.add("ice.candidates_gathered", out.size());
    return out;
}

bool has_global_ipv6(const std::vector<pice::Candidate>& candidates)
{
    // Global unicast (2000::/3): reachable without NAT, unlike loopback, link-local and ULA.
    return std::any_of(candidates.begin(), candidates.end(), [](const pice::Candidate& c) {
        return c.type == pice::CandidateType::Host && c.address.family == 6 && (c.address.bytes[0] & 0xE0) == 0x20;
    });
}

std::vector<pice::Candidate> parse_candidates(const std::vector<std::string>& lines)
{
    std::vector<pice::Candidate> out;
    for (const auto& line : lines) {
        pice::Candidate c;
        if (pice::parse(line, c)) out.push_back(std::move(c));
    }
    return out;
}

std::vector<std::string> Agent::start_direct(const std::string& peer_id, PeerRecord& peer, pice::Role role,
                                             std::vector<pice::Candidate> local)
{
    stop_direct(peer);
    ice::SessionConfig config;
    config.role = role;
    config.tie_breaker = proto::random_u64();
    config.local_ufrag = random_ice_string(8);
    config.local_pwd = random_ice_string(24);
    config.checks_per_pair = static_cast<uint32_t>(std::max(config_.raw.nat_punch_retries, 1));
    config.check_interval_ms = static_cast<uint32_t>(config_.raw.nat_punch_interval_ms);
    if (role == pice::Role::Controlled) {
        // The requester opens its NAT when the response reaches it, half a signaling round trip
        // from now: retry a little after a whole one (the keep-alive pings measure it), 1-20 ms.
        double rtt = signaling_ ? signaling_->last_rtt_ms() : 0;
        config.first_retry_ms = static_cast<uint32_t>(std::clamp(1.5 * rtt + 0.5, 1.0, 20.0));
    }
    // The whole attempt, from the request on, fits in ConnectionTimeoutMs.
    uint64_t elapsed_ms = (EventLoop::now_us() - peer.connect_started_us) / 1000;
    uint64_t timeout_ms = uint64_t(config_.raw.connection_timeout_ms);
    config.budget_ms = static_cast<uint32_t>(timeout_ms > elapsed_ms ? timeout_ms - elapsed_ms : 1);
    // RFC 7675 §5.1: consent every few seconds; at least three tries before it expires. Consent
    // expires at half of DisconnectTimeoutMs, the delivery session's idle timeout, so that a
    // dead direct path moves to the relay before the session itself gives up.
    config.consent_timeout_ms = static_cast<uint32_t>(std::max(1, config_.raw.disconnect_timeout_ms / 2));
    config.consent_interval_ms = static_cast<uint32_t>(
        std::max(1, std::min(config_.raw.keep_alive_interval_ms, config_.raw.disconnect_timeout_ms / 6)));
    config.socket_address = transport_->local_address();
    config.relay_only = peer.via == OM_TRANSPORT_TURN;
    config.direct_only = peer.via == OM_TRANSPORT_P2P;  // no relay at either end

    peer.p2p = P2PLink{};
    peer.p2p.local_ufrag = config.local_ufrag;
    peer.p2p.local_pwd = config.local_pwd;
    const bool direct_only = config.direct_only;
    if (direct_only)
        local.erase(std::remove_if(local.begin(), local.end(),
                                   [](const pice::Candidate& c) { return c.type == pice::CandidateType::Relayed; }),
                    local.end());
    std::vector<std::string> lines;
    for (const auto& c : local) lines.push_back(pice::format(c));
    auto send = [this](const om_address& to, std::span<const uint8_t> bytes) {
        om_datagram d{};
        d.data = bytes.data();
        d.len = bytes.size();
        d.peer = to;
        if (send_through_transport(d) != OM_OK) counters_.add("ice.send_failures", 1);
    };
    auto count = [this](const char* what) { counters_.add(std::string("ice.") + what, 1); };
    peer.p2p.session = std::make_unique<ice::Session>(std::move(config), std::move(local), send, count);
    // Checks of the relayed base go through the TURN allocation (RFC 8445 §7.2.4: to the peer's
    // address, as a Send indication or ChannelData).
    if (!direct_only) {
        peer.p2p.session->set_relay_send([this](const om_address& to, std::span<const uint8_t> bytes) {
            if (send_through_turn(to, bytes.data(), bytes.size()) != OM_OK) counters_.add("ice.relay_send_failures", 1);
        });
        // The allocation is still being made: its candidate will trickle in (on_turn_allocated).
        if (turn_.state == TurnLink::State::Allocating) peer.p2p.session->set_relay_pending(true);
    }
    log_message(OM_LOG_DEBUG, "ice: " + peer_id + ": " + std::to_string(lines.size()) + " local candidates");
    return lines;
}

bool Agent::candidates_pending(const PeerRecord& peer) const
{
    return peer.p2p.session && peer.via != OM_TRANSPORT_P2P && turn_.state == TurnLink::State::Allocating;
}

void Agent::accept_remote(const std::string& peer_id, PeerRecord& peer, const std::string& ufrag, const std::string& pwd,
                          const std::vector<std::string>& candidates, bool more_coming)
{
    ice::Session* session = peer.p2p.session.get();
    if (!session) return;
    session->set_remote_credentials(ufrag, pwd);
    if (more_coming) session->set_remote_pending(true);  // the peer's relayed candidate trickles later
    const uint64_t now = EventLoop::now_us();
    for (const auto& line : candidates) {
        pice::Candidate c;
        std::string why;
        if (!pice::parse(line, c, &why)) {
            counters_.add("ice.candidates_malformed", 1);
            log_message(OM_LOG_DEBUG, "ice: " + peer_id + ": ignored candidate \"" + line + "\": " + why);
            continue;
        }
        session->add_remote_candidate(c, now);
    }
    order_pairs(peer);
    session->start(now);
    ice_progress(peer_id, peer);
}

void Agent::order_pairs(PeerRecord& peer)
{
    // The strategy plugin's candidate-pair order (optional slot): the session checks in it.
    PluginInstance* plugin = strategy_plugin();
    ice::Session* session = peer.p2p.session.get();
    if (!plugin || !session || session->pairs().empty()) return;
    auto vtbl = plugin->library->vtable<om_strategy_vtbl>();
    if (!vtbl->order_pairs) return;
    std::vector<om_candidate_pair_info> pairs;
    for (const auto& p : session->pairs())
        pairs.push_back({p.local.address, p.remote.address, static_cast<int32_t>(p.local.type),
                         static_cast<int32_t>(p.remote.type), p.priority});
    om_strategy_input input{};
    input.struct_size = sizeof input;
    input.local_nat = local_nat_type();
    input.remote_nat = peer.remote_nat;
    input.prefer_p2p = 1;
    input.fallback_to_relay = config_.raw.fallback_to_relay;
    input.initiator = peer.initiator ? 1 : 0;
    int32_t status = guarded_call(*plugin->ctx, "order_pairs",
                                  [&] { return vtbl->order_pairs(plugin->instance, &input, pairs.data(), pairs.size()); });
    if (status != OM_OK) {
        counters_.add("strategy.failures", 1);
        return;  // RFC 8445 priority order stays
    }
    for (size_t i = 0; i < pairs.size(); ++i) session->set_rank(pairs[i].remote, static_cast<uint32_t>(i));
    counters_.add("strategy.pairs_ordered", pairs.size());
}

void Agent::stop_direct(PeerRecord& peer)
{
    if (peer.p2p.timer) loop_.cancel_timer(peer.p2p.timer);
    peer.p2p.timer = 0;
    // The session stays for its diagnosis, but answers nothing any more.
    if (peer.p2p.session) peer.p2p.session->end("the agent left the direct path");
    peer.p2p.early.clear();
}

void Agent::ice_progress(const std::string& peer_id, PeerRecord& peer)
{
    ice::Session* session = peer.p2p.session.get();
    if (!session) return;
    if (peer.p2p.timer) loop_.cancel_timer(peer.p2p.timer);
    peer.p2p.timer = 0;
    switch (session->state()) {
        case ice::SessionState::Checking: break;
        case ice::SessionState::Connected:
            // The first pair, the peer nominated another one, or the checks of an ICE restart
            // found the way back; not merely because the session is on the relay for a while.
            if (!has_direct_path(peer, session->selected()->remote.address, session->selected()->base == ice::Base::Relay) ||
                !proto::same_address(session->selected()->remote.address, peer.p2p.remote))
                p2p_connected(peer_id, peer);
            break;
        case ice::SessionState::Failed:
            if (!peer.p2p.early.empty()) {
                counters_.add("delivery.packets_discarded", peer.p2p.early.size());
                peer.p2p.early.clear();
            }
            if (peer.status == OM_PEER_CONNECTING && peer.transport == OM_TRANSPORT_NONE && !peer.pending_request)
                next_step(peer_id, peer, "no direct path: " + session->diagnosis());
            else if (peer.status == OM_PEER_CONNECTED && peer.transport != OM_TRANSPORT_P2P)
                schedule_direct_retry(peer_id, peer);  // an ICE restart found nothing (yet)
            return;
        case ice::SessionState::Expired: {
            // The selected pair's path (direct or through a TURN allocation) is dead.
            if (peer.transport != OM_TRANSPORT_P2P && peer.transport != OM_TRANSPORT_TURN) return;
            direct_path_lost(peer_id, peer, session->diagnosis());
            return;
        }
    }
    uint64_t wake = session->next_wakeup_us();
    if (!wake) return;
    uint64_t now = EventLoop::now_us();
    peer.p2p.timer = loop_.add_timer(wake > now ? wake - now : 0, 0, [this, peer_id](uint64_t) {
        PeerRecord* p = peers_.find(peer_id);
        if (!p || !p->p2p.session) return;
        p->p2p.timer = 0;
        p->p2p.session->tick(EventLoop::now_us());
        ice_progress(peer_id, *p);
    });
}

void Agent::p2p_connected(const std::string& peer_id, PeerRecord& peer)
{
    const ice::Pair* pair = peer.p2p.session->selected();
    const bool moved = peer.transport == OM_TRANSPORT_P2P;
    if (peer.timeout_timer) loop_.cancel_timer(peer.timeout_timer);
    peer.timeout_timer = 0;
    peer.pending_request = 0;
    // The plan's direct step (after an ICE restart the plan had moved on to the relay).
    auto step = std::find_if(peer.steps.begin(), peer.steps.end(), is_direct);
    peer.strategy = step == peer.steps.end() ? OM_STRATEGY_UDP_HOLE_PUNCH : *step;
    peer.restart_attempts = 0;
    peer.p2p.remote = pair->remote.address;
    peer.local_candidate = pice::format(pair->local);
    peer.remote_candidate = pice::format(pair->remote);
    peer.diagnosis.clear();
    if (!moved) counters_.add("peers.p2p_connected", 1);
    log_message(OM_LOG_INFO, "p2p: " + peer_id + " connected over " + peer.local_candidate + " -> " + peer.remote_candidate);
    // The session's first RTT comes from the checks (a QUIC default of 333 ms would stall it).
    const uint64_t rtt_us = pair->rtt_ms > 0 ? uint64_t(pair->rtt_ms * 1000.0) : 0;
    // A relayed candidate at either end makes it a TURN path (the peer's relay, or ours when the
    // pair's base is our allocation).
    const bool via_relay = pair->base == ice::Base::Relay;
    const bool relayed = via_relay || pair->remote.type == pice::CandidateType::Relayed;
    if (relayed) peer.strategy = OM_STRATEGY_TURN_RELAY;
    const uint32_t path_id = attach_direct_path(peer, pair->remote.address, rtt_us, via_relay,
                                                relayed ? OM_TRANSPORT_TURN : OM_TRANSPORT_P2P);
    path_connected(peer_id, peer, path_id, moved ? "the peer nominated " + peer.remote_candidate : "checks succeeded");
    if (!peer.delivery) return;
    std::vector<P2PLink::EarlyPacket> early;
    early.swap(peer.p2p.early);
    for (const auto& packet : early) {
        if (!peer.delivery) break;
        if (proto::same_address(packet.from, peer.p2p.remote)) peer.delivery->on_packet(path_id, packet.data.data(), packet.data.size());
        else counters_.add("delivery.packets_unexpected_source", 1);
    }
}

void Agent::next_step(const std::string& peer_id, PeerRecord& peer, const std::string& why)
{
    std::string diagnosis = why;
    // Past the direct step(s): the relays in the plan's order.
    while (peer.step < peer.steps.size() && is_direct(peer.steps[peer.step])) ++peer.step;
    for (; peer.step < peer.steps.size(); ++peer.step) {
        om_strategy s = peer.steps[peer.step];
        if (s == OM_STRATEGY_TURN_RELAY) {
            // Relayed candidates are checked with the others (RFC 8445 §5.1.1.2): when the checks
            // ran with one and failed, TURN failed with them.
            const auto& local = peer.p2p.session ? peer.p2p.session->local_candidates() : std::vector<pice::Candidate>{};
            const bool checked = std::any_of(local.begin(), local.end(),
                                             [](const pice::Candidate& c) { return c.type == pice::CandidateType::Relayed; });
            const std::string reason = turn_unavailable_reason();
            diagnosis += checked ? "; TURN: the relayed candidate's checks failed too"
                                 : "; TURN: " + (reason.empty() ? std::string("the peer took no part in the checks") : reason);
            continue;
        }
        if (s == OM_STRATEGY_SERVER_RELAY) {
            if (!signaling_ || !signaling_->registered()) {
                diagnosis += "; the server relay is down";
                continue;
            }
            relay_connected(peer_id, peer, diagnosis);
            return;
        }
    }
    if (peer.via == OM_TRANSPORT_NONE && !config_.raw.fallback_to_relay) diagnosis += "; fallback_to_relay is off";
    fail_connect(peer_id, peer, OM_ERR_UNREACHABLE, diagnosis);
}

bool Agent::route_ice(const om_datagram& datagram, ice::Base base)
{
    std::span<const uint8_t> bytes(datagram.data, datagram.len);
    // Only well-formed STUN (header, length, magic cookie) is a check: anything else that merely
    // starts with 0..3 stays the application's datagram.
    if (!stun::looks_like_stun(bytes)) return false;
    const uint16_t type = uint16_t(bytes[0] << 8 | bytes[1]);
    if (type == 0x0011) {  // Binding indication: a keep-alive (RFC 8445 §11, RFC 7675), never answered
        counters_.add("ice.indications_received", 1);
        return true;
    }
    const uint64_t now = EventLoop::now_us();
    if (type == 0x0001) {  // Binding request: only connectivity checks are answered here
        pice::ReceivedCheck check;
        std::string owner;
        auto lookup = [this](std::string_view ufrag) -> std::optional<std::string> {
            for (auto& [id, peer] : peers_.all())
                if (peer.p2p.session && peer.p2p.session->live() && peer.p2p.session->local_ufrag() == ufrag)
                    return peer.p2p.session->local_pwd();
            return std::nullopt;
        };
        auto verdict = pice::verify_check_request(bytes, lookup, check, &owner);
        if (verdict == pice::CheckVerdict::NotACheck) return false;
        if (verdict != pice::CheckVerdict::Ok) {
            counters_.add(std::string("ice.checks_dropped.") + pice::verdict_name(verdict), 1);
            return true;
        }
        counters_.add("ice.checks_received", 1);
        for (auto& [id, peer] : peers_.all()) {
            if (!peer.p2p.session || !peer.p2p.session->live() || peer.p2p.session->local_ufrag() != owner) continue;
            peer.p2p.session->on_request(check, datagram.peer, now, base);
            ice_progress(id, peer);
            return true;
        }
        return true;
    }
    if ((type & 0x0110) == 0x0100 || (type & 0x0110) == 0x0110) {  // a response (§5 class bits)
        auto id = pice::peek_response_id(bytes);
        if (!id) return false;
        for (auto& [peer_id, peer] : peers_.all()) {
            if (!peer.p2p.session || !peer.p2p.session->owns_transaction(*id)) continue;
            peer.p2p.session->on_response(bytes, datagram.peer, now, base);
            ice_progress(peer_id, peer);
            return true;
        }
    }
    return false;  // NAT discovery's, or nobody's
}

void Agent::on_trickled_candidate(sig::Candidate& candidate)
{
    if (!candidate.from) return;
    PeerRecord* peer = peers_.find(*candidate.from);
    if (!peer || !peer->p2p.session || peer->p2p.session->state() != ice::SessionState::Checking) {
        counters_.add("ice.trickled_ignored", 1);
        return;
    }
    if (candidate.candidate.empty()) {  // end-of-candidates (RFC 8838 §13): the checks may conclude
        peer->p2p.session->set_remote_pending(false);
        peer->p2p.session->tick(EventLoop::now_us());
        ice_progress(*candidate.from, *peer);
        return;
    }
    pice::Candidate c;
    if (!pice::parse(candidate.candidate, c)) {
        counters_.add("ice.candidates_malformed", 1);
        return;
    }
    counters_.add("ice.candidates_trickled_in", 1);
    if (c.type == pice::CandidateType::Relayed) peer->p2p.session->set_remote_pending(false);  // what it promised
    peer->p2p.session->add_remote_candidate(c, EventLoop::now_us());
    peer->p2p.session->tick(EventLoop::now_us());
    ice_progress(*candidate.from, *peer);
}

void Agent::trickle_srflx()
{
    // NAT discovery finished while checks run: the new server-reflexive candidate trickles.
    if (!signaling_ || !nat_->latest() || nat_->latest()->status != OM_OK) return;
    om_address mapped{};
    if (!proto::parse_address(nat_->latest()->report.mapped_address, 0, mapped)) return;
    for (auto& [id, peer] : peers_.all()) {
        ice::Session* session = peer.p2p.session.get();
        if (!session || session->state() != ice::SessionState::Checking) continue;
        const auto& local = session->local_candidates();
        if (std::any_of(local.begin(), local.end(), [&](const pice::Candidate& c) { return proto::same_address(c.address, mapped); }))
            continue;
        auto base = std::find_if(local.begin(), local.end(), [&](const pice::Candidate& c) { return c.address.family == mapped.family; });
        if (base == local.end()) continue;
        sig::Candidate message;
        message.to = id;
        message.candidate = pice::format(pice::make_server_reflexive(mapped, base->address));
        if (signaling_->send(message) == OM_OK) counters_.add("ice.candidates_trickled_out", 1);
    }
}

std::string Agent::peer_pairs_json(const std::string& peer_id)
{
    std::string out;
    on_loop([&] {
        Poco::JSON::Array pairs;
        PeerRecord* peer = peers_.find(peer_id);
        if (peer && peer->p2p.session) {
            const ice::Session& s = *peer->p2p.session;
            std::vector<const ice::Pair*> sorted;
            for (const auto& p : s.pairs()) sorted.push_back(&p);
            std::stable_sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->priority > b->priority; });
            for (const ice::Pair* p : sorted) {
                Poco::JSON::Object o;
                o.set("local", pice::format(p->local));
                o.set("remote", pice::format(p->remote));
                o.set("priority", p->priority);
                o.set("state", std::string(ice::pair_state_name(p->state)));
                o.set("nominated", p->nominated);
                o.set("checks_sent", p->checks_sent);
                o.set("responses", p->responses);
                if (p->rtt_ms >= 0) o.set("rtt_ms", p->rtt_ms);
                else o.set("rtt_ms", Poco::Dynamic::Var());
                o.set("why", p->why);
                pairs.add(o);
            }
        }
        std::ostringstream text;
        Poco::JSON::Stringifier::condense(pairs, text);
        out = text.str();
    });
    return out;
}

void Agent::set_peer_status(const std::string& peer_id, PeerRecord& peer, om_peer_status status, const std::string& why)
{
    peer.status = status;
    sync_outbound(peer_id, peer);  // before the event: its callback may send
    emit_peer(OM_EVENT_PEER_STATE_CHANGED, peer_id, peer, why);
}

void Agent::emit_peer(om_event_type type, const std::string& peer_id, const PeerRecord& peer, const std::string& message)
{
    emit(type, nullptr, nullptr, 0, OM_OK, message.c_str(), peer_id.c_str(), 0, &peer);
}

} // namespace om
