// The agent's NAT discovery (seed "Register + Get NAT Info"): which STUN server to ask, running
// the nat-discovery plugin on the agent's own socket before registering, and om_agent_nat_info.
#include "agent/agent.h"

#include "agent/resolve_host.h"
#include "agent/signaling_socket.h"
#include "core/error.h"
#include "core/log.h"
#include "proto/address.h"

namespace om {
namespace {

namespace sig = proto::signaling;

// Registration waits for discovery at most this share of connection_timeout_ms.
constexpr int kRegisterBudgetDivisor = 2;

sig::NatInfo to_signal(const om_nat_report& report)
{
    sig::NatInfo nat;
    nat.type = proto::nat_type_name(report.nat_type);
    if (report.mapped_address[0]) nat.mapped_address = std::string(report.mapped_address);
    nat.mapping = proto::nat_behavior_name(report.mapping);
    nat.filtering = proto::nat_behavior_name(report.filtering);
    return nat;
}

} // namespace

std::optional<sig::NatInfo> Agent::nat_for_signal() const
{
    if (!nat_->latest() || nat_->latest()->status != OM_OK) return std::nullopt;
    return to_signal(nat_->latest()->report);
}

om_nat_type Agent::local_nat_type() const
{
    return nat_->latest() && nat_->latest()->status == OM_OK ? nat_->latest()->report.nat_type : OM_NAT_UNKNOWN;
}

PluginInstance* Agent::nat_plugin()
{
    for (auto& k : kind_instances_)
        if (k.instance && k.library->vtable<om_nat_discovery_vtbl>()) return &k;
    return nullptr;
}

std::optional<om_address> Agent::configured_stun_server() const
{
    return resolve_configured(config_.stun_server, config_.raw.stun_port);
}

std::optional<om_address> Agent::configured_turn_server() const
{
    return resolve_configured(config_.turn_server, config_.raw.turn_port);
}

std::optional<om_address> Agent::resolve_configured(const std::string& host, int32_t port) const
{
    if (host.empty()) return std::nullopt;
    om_address bind{};
    proto::parse_address(config_.resolved_bind, 0, bind);  // the socket's family first
    return resolve_host(host, static_cast<uint16_t>(port), bind.family);
}

void Agent::run_nat_discovery(const om_address& server, int budget_ms, NatDiscovery::Done done)
{
    PluginInstance* plugin = nat_plugin();
    if (!plugin) fail(OM_ERR_NOT_SUPPORTED, "no nat-discovery plugin is loaded (nat_discovery_plugin)");
    if (!transport_) {
        // Discovery tests the socket peer-to-peer traffic will use, so it opens it; an
        // application that calls om_agent_open_transport afterwards simply takes it over.
        open_transport_on_loop();
        if (!transport_) fail(OM_ERR_CLOSED, "the transport was closed as soon as it opened");
        transport_opened_for_nat_ = true;
    }
    om_address local = route_local_address(transport_->local_address(), server);
    // A new server-reflexive address also reaches peers whose checks are under way (trickle).
    nat_->run(*plugin, server, local, budget_ms, [this, done = std::move(done)](const NatResult& result) {
        done(result);
        trickle_srflx();
    });
}

void Agent::before_register(const SignalingClient::ServerHello& hello, SignalingClient::SendRegister send)
{
    if (hello.stun) announced_stun_ = hello.stun;
    if (auto known = nat_for_signal(); known && !nat_->running()) {
        send(std::move(known));  // a reconnection keeps what it learnt
        return;
    }
    std::optional<om_address> server = configured_stun_ ? configured_stun_ : announced_stun_;
    if (!server || !nat_plugin()) {
        send(std::nullopt);
        return;
    }
    try {
        run_nat_discovery(*server, std::max(config_.raw.connection_timeout_ms / kRegisterBudgetDivisor, 1),
                          [send](const NatResult& result) {
                              send(result.status == OM_OK ? std::optional(to_signal(result.report)) : std::nullopt);
                          });
    } catch (const Error& e) {
        log_message(OM_LOG_WARNING, std::string("NAT discovery before registration: ") + e.what());
        send(std::nullopt);
    }
}

NatResult Agent::nat_info(bool refresh)
{
    if (loop_.in_loop_thread()) {
        // An event callback must not wait for a discovery that needs this very thread.
        std::optional<NatResult> known;
        on_loop([&] { known = nat_->latest(); });
        if (!refresh && known && known->status == OM_OK) return *known;
        fail(OM_ERR_STATE, "om_agent_nat_info from the agent's own callback can only read a result already known "
                           "(call it from another thread, or use OM_EVENTS_DISPATCH)");
    }
    // Names are resolved here, off the loop thread.
    std::optional<om_address> configured = configured_stun_server();
    std::optional<om_address> from_url;
    if (!configured && !config_.server_url.empty()) {
        try {
            om_address bind{};
            proto::parse_address(config_.resolved_bind, 0, bind);
            from_url = resolve_host(ServerUrl::parse(config_.server_url).host,
                                    static_cast<uint16_t>(config_.raw.stun_port), bind.family);
        } catch (const Error& e) {
            log_message(OM_LOG_DEBUG, std::string("no STUN server from the server URL: ") + e.what());
        }
    }
    auto result = std::make_shared<NatResult>();
    auto done = std::make_shared<Completion>();
    on_loop([&] {
        configured_stun_ = configured;
        if (!refresh && !nat_->running() && nat_->latest() && nat_->latest()->status == OM_OK) {
            *result = *nat_->latest();
            done->complete(OM_OK, {});
            return;
        }
        std::optional<om_address> server = configured ? configured : announced_stun_ ? announced_stun_ : from_url;
        if (!server || server->port == 0)
            fail(OM_ERR_STATE, "no STUN server is known: set stun_server, or server_url and stun_port");
        run_nat_discovery(*server, config_.raw.connection_timeout_ms, [result, done](const NatResult& r) {
            *result = r;
            done->complete(r.status, r.error);
        });
    });
    // The discovery's own guard timer ends it; the margin only covers a stalled loop.
    if (!done->wait(config_.raw.connection_timeout_ms + 2000))
        fail(OM_ERR_TIMEOUT, "NAT discovery did not finish within " + std::to_string(config_.raw.connection_timeout_ms) + " ms");
    return *result;
}

} // namespace om
