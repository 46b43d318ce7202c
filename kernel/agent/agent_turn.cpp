// The agent's TURN half (RFC 8656 through the turn plugin): one allocation per agent on its own
// socket, shared by every peer; its relayed address is a local candidate of every ICE session
// (type preference 0, RFC 8445 §5.1.2.2) whose checks and packets go through the relay; what peers
// send to it comes back through the plugin's sink. A lost allocation moves the peers relayed
// through it to the server relay (when allowed), like a lost direct path.
#include "agent/agent.h"

#include "agent/path/direct_path.h"
#include "core/error.h"
#include "core/log.h"
#include "plugin_host/guarded_call.h"
#include "proto/address.h"
#include "proto/demux.h"

namespace om {
namespace {

namespace pice = proto::ice;

// After a failed or lost allocation, the next attempt waits this long (a server that refuses
// us is not asked on every connection).
constexpr uint64_t kTurnRetryUs = 10'000'000;

} // namespace

PluginInstance* Agent::turn_plugin()
{
    for (auto& k : kind_instances_)
        if (k.instance && k.library->vtable<om_turn_vtbl>()) return &k;
    return nullptr;
}

bool Agent::turn_configured() const
{
    return turn_.server.has_value() && !turn_.username.empty();
}

std::string Agent::turn_unavailable_reason() const
{
    if (!turn_.server)
        return config_.turn_server.empty()
                   ? "TURN is not configured (turn_server, or a server that hands out TURN credentials)"
                   : "the TURN server " + config_.turn_server + " could not be resolved";
    if (turn_.username.empty()) return "no TURN credentials (turn_username, or a server that hands them out)";
    switch (turn_.state) {
        case TurnLink::State::Allocated: return "";
        case TurnLink::State::Allocating: return "the TURN allocation is still under way";
        case TurnLink::State::Failed: return "the TURN allocation failed: " + turn_.error;
        case TurnLink::State::Off: return "no TURN allocation";
    }
    return "no TURN allocation";
}

void Agent::use_server_turn(const proto::signaling::Registered& registered)
{
    // Time-limited credentials from the server, unless the application set its own TURN user.
    if (!registered.turn || !config_.turn_username.empty()) return;
    om_address server{};
    if (!proto::parse_address(registered.turn->address, 0, server) || server.port == 0) {
        counters_.add("turn.server_credentials_malformed", 1);
        log_message(OM_LOG_WARNING, "turn: the server handed out an unusable TURN address");
        return;
    }
    // Each registration brings a new username (its expiry moves on). An allocation keeps the
    // username it was made with (RFC 8656 §5: 441 otherwise), so one that exists on the same
    // server stays; the new credentials serve the next allocation.
    const bool same_server = turn_.server && proto::same_address(*turn_.server, server);
    const bool live = turn_.state == TurnLink::State::Allocating || turn_.state == TurnLink::State::Allocated;
    if (!same_server && live) {
        leave_turn_paths("the server handed out another TURN server");
        release_turn("the server handed out another TURN server");
    }
    turn_.server = server;
    turn_.username = registered.turn->username;
    turn_.password = registered.turn->password;
    if (turn_.state == TurnLink::State::Failed) turn_.state = TurnLink::State::Off;  // new credentials: try again
    counters_.add("turn.server_credentials", 1);
}

void Agent::start_turn()
{
    if (!turn_configured() || turn_.state == TurnLink::State::Allocating || turn_.state == TurnLink::State::Allocated)
        return;
    if (turn_.state == TurnLink::State::Failed && EventLoop::now_us() - turn_.failed_us < kTurnRetryUs) return;
    PluginInstance* plugin = turn_plugin();
    if (!plugin) {
        turn_.state = TurnLink::State::Failed;
        turn_.failed_us = EventLoop::now_us();
        turn_.error = "no TURN plugin is loaded (turn_plugin)";
        return;
    }
    if (!transport_) {
        // The allocation belongs to this socket (its 5-tuple): open it like gathering does.
        open_transport_on_loop();
        if (!transport_) return;
        transport_opened_for_nat_ = true;
    }
    om_turn_request request{};
    request.struct_size = sizeof request;
    request.server = *turn_.server;
    request.username = turn_.username.c_str();
    request.password = turn_.password.c_str();
    request.timeout_ms = config_.raw.connection_timeout_ms;
    request.done = &Agent::turn_allocated_cb;
    request.done_user_data = this;
    request.sink = &Agent::turn_sink;
    request.sink_user_data = this;
    request.on_event = &Agent::turn_event_cb;
    request.event_user_data = this;
    auto vtbl = plugin->library->vtable<om_turn_vtbl>();
    const int32_t status = guarded_call(*plugin->ctx, "allocate", [&] { return vtbl->allocate(plugin->instance, &request); });
    if (status != OM_OK) {
        turn_.state = TurnLink::State::Failed;
        turn_.failed_us = EventLoop::now_us();
        turn_.error = plugin->ctx->take_error();
        counters_.add("turn.allocations_failed", 1);
        log_message(OM_LOG_WARNING, "turn: " + turn_.error);
        return;
    }
    turn_.state = TurnLink::State::Allocating;
    counters_.add("turn.allocations_started", 1);
    log_message(OM_LOG_DEBUG, "turn: allocating on " + proto::format_address(*turn_.server));
}

void Agent::release_turn(const std::string& why)
{
    if (turn_.state == TurnLink::State::Off) return;
    const bool was_allocating = turn_.state == TurnLink::State::Allocating;
    if (PluginInstance* plugin = turn_plugin()) {
        auto vtbl = plugin->library->vtable<om_turn_vtbl>();
        guarded_call(*plugin->ctx, "release", [&] {
            vtbl->release(plugin->instance);
            return OM_OK;
        });
    }
    log_message(OM_LOG_DEBUG, "turn: released (" + why + ")");
    wake_turn_waiters();
    if (was_allocating) no_relayed_candidate();  // done will not come: checks and peers stop waiting
    turn_.state = TurnLink::State::Off;
    turn_.relayed.reset();
    turn_.reflexive.reset();
}

void Agent::no_relayed_candidate()
{
    // Checks that waited for the relayed candidate go on without it, and peers we promised it
    // to hear there is none (end-of-candidates, RFC 8838 §13).
    const uint64_t now = EventLoop::now_us();
    for (auto& [id, peer] : peers_.all()) {
        ice::Session* session = peer.p2p.session.get();
        if (!session || session->state() != ice::SessionState::Checking) continue;
        if (peer.p2p.promised_candidates && signaling_) {
            proto::signaling::Candidate end;
            end.to = id;
            (void)signaling_->send(end);
            peer.p2p.promised_candidates = false;
        }
        session->set_relay_pending(false);
        session->tick(now);
        ice_progress(id, peer);
    }
}

void Agent::wake_turn_waiters()
{
    // They go on with whatever the state now is (connect_peer says why when it is no use).
    std::vector<std::shared_ptr<Completion>> waiters;
    waiters.swap(turn_waiters_);
    for (auto& w : waiters) w->complete(OM_OK, {});
}

void Agent::turn_allocated_cb(void* user_data, int32_t status, const om_address* relayed)
{
    static_cast<Agent*>(user_data)->on_turn_allocated(status, relayed);
}

void Agent::turn_event_cb(void* user_data, om_turn_event_type type, int32_t status, const om_address* peer,
                          const char* message)
{
    auto* self = static_cast<Agent*>(user_data);
    const std::string why = message ? message : "";
    if (type == OM_TURN_EVENT_LOST) {
        self->on_turn_lost(status, why);
    } else if (type == OM_TURN_EVENT_PERMISSION_FAILED) {
        self->counters_.add("turn.permissions_failed", 1);
        log_message(OM_LOG_INFO, "turn: permission for " + (peer ? proto::format_address(*peer) : std::string("?")) +
                                     " refused: " + why);
    }
}

void Agent::turn_sink(void* user_data, const om_datagram* datagram)
{
    auto* self = static_cast<Agent*>(user_data);
    try {
        self->route_relayed(*datagram);
    } catch (const std::exception& e) {
        log_message(OM_LOG_ERROR, std::string("routing a relayed datagram failed: ") + e.what());
        self->counters_.add("turn.route_errors", 1);
    }
}

void Agent::on_turn_allocated(int32_t status, const om_address* relayed)
{
    if (turn_.state != TurnLink::State::Allocating) return;
    if (status != OM_OK || !relayed) {
        turn_.state = TurnLink::State::Failed;
        turn_.failed_us = EventLoop::now_us();
        PluginInstance* plugin = turn_plugin();
        turn_.error = std::string(om_status_str(status)) + (plugin ? ": " + plugin->ctx->take_error() : std::string());
        counters_.add("turn.allocations_failed", 1);
        log_message(OM_LOG_WARNING, "turn: allocation on " + proto::format_address(*turn_.server) + " failed: " + turn_.error);
        wake_turn_waiters();
        no_relayed_candidate();
        return;
    }
    turn_.state = TurnLink::State::Allocated;
    turn_.relayed = *relayed;
    turn_.reflexive.reset();
    if (PluginInstance* plugin = turn_plugin()) {
        auto vtbl = plugin->library->vtable<om_turn_vtbl>();
        om_address mapped{};
        if (vtbl->reflexive_address &&
            guarded_call(*plugin->ctx, "reflexive_address", [&] { return vtbl->reflexive_address(plugin->instance, &mapped); }) == OM_OK)
            turn_.reflexive = mapped;
    }
    counters_.add("turn.allocations", 1);
    log_message(OM_LOG_INFO, "turn: relayed address " + proto::format_address(*relayed) + " on " +
                                 proto::format_address(*turn_.server));
    wake_turn_waiters();
    // Checks already under way get the new candidate, and their peers hear of it (trickle).
    const auto candidate = relayed_candidate();
    const uint64_t now = EventLoop::now_us();
    for (auto& [id, peer] : peers_.all()) {
        ice::Session* session = peer.p2p.session.get();
        if (!session || session->state() != ice::SessionState::Checking || peer.via == OM_TRANSPORT_P2P) continue;
        session->add_local_relayed(*candidate, now);
        peer.p2p.promised_candidates = false;
        session->tick(now);
        ice_progress(id, peer);
        if (!signaling_) continue;
        proto::signaling::Candidate message;
        message.to = id;
        message.candidate = pice::format(*candidate);
        if (signaling_->send(message) == OM_OK) counters_.add("ice.candidates_trickled_out", 1);
    }
}

void Agent::on_turn_lost(int32_t status, const std::string& why)
{
    if (turn_.state != TurnLink::State::Allocated) return;
    turn_.state = TurnLink::State::Failed;
    turn_.failed_us = EventLoop::now_us();
    turn_.error = why + " (" + om_status_str(status) + ")";
    turn_.relayed.reset();
    counters_.add("turn.allocations_lost", 1);
    log_message(OM_LOG_WARNING, "turn: allocation lost: " + turn_.error);
    leave_turn_paths("the TURN allocation was lost: " + why);
}

void Agent::leave_turn_paths(const std::string& why)
{
    // Every path through the allocation is gone: those peers move on like after a lost direct path.
    for (auto& [id, peer] : peers_.all()) {
        const auto it = peer.paths.find(peer.current_path);
        auto* direct = it == peer.paths.end() ? nullptr : dynamic_cast<DirectPath*>(it->second.get());
        if (!direct || !direct->via_relay()) continue;
        stop_direct(peer);
        direct_path_lost(id, peer, why);
    }
}

std::optional<pice::Candidate> Agent::relayed_candidate() const
{
    if (turn_.state != TurnLink::State::Allocated || !turn_.relayed) return std::nullopt;
    pice::Candidate c = pice::make_relayed(*turn_.relayed, proto::format_address(*turn_.server));
    if (turn_.reflexive) c.related = *turn_.reflexive;  // RFC 8839 §5.1: raddr of a relayed one
    return c;
}

om_status Agent::send_through_turn(const om_address& to, const uint8_t* data, size_t len)
{
    PluginInstance* plugin = turn_plugin();
    if (!plugin || turn_.state != TurnLink::State::Allocated) {
        counters_.add("turn.send_without_allocation", 1);
        return OM_ERR_STATE;
    }
    const om_datagram datagram{data, len, to};
    auto vtbl = plugin->library->vtable<om_turn_vtbl>();
    const int32_t status = guarded_call(*plugin->ctx, "send", [&] { return vtbl->send(plugin->instance, &datagram); });
    if (status != OM_OK) counters_.add("turn.send_failures", 1);
    return status;
}

void Agent::route_relayed(const om_datagram& datagram)
{
    counters_.add("turn.datagrams_received", 1);
    const auto cls = proto::classify_datagram(datagram.data, datagram.len);
    if (cls == proto::DatagramClass::Stun && route_ice(datagram, ice::Base::Relay)) return;
    if (cls != proto::DatagramClass::Empty && route_peer_packet(datagram, true)) return;
    // Not a peer's check or packet: nobody else listens on the relayed address.
    counters_.add("turn.datagrams_unclaimed", 1);
}

} // namespace om
