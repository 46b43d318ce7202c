#include "agent/nat_discovery.h"

#include "core/error.h"
#include "core/log.h"
#include "plugin_host/guarded_call.h"
#include "proto/address.h"
#include "proto/socket_address.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

namespace om {
namespace {

// A plugin gets this long past its budget before the kernel gives up on it.
constexpr int kGraceMs = 500;

} // namespace

struct NatDiscovery::Run {
    uint64_t serial = 0;
    PluginInstance* plugin = nullptr;
    const om_nat_discovery_vtbl* vtbl = nullptr;
    std::vector<Done> waiters;
    om_nat_report base{};  // what the kernel knows before the plugin answers
    uint64_t started_us = 0;
    uint64_t guard_timer = 0;
    bool in_start = false;
    std::optional<NatResult> early;  // a plugin that answered from inside start()
};

om_address route_local_address(const om_address& bound, const om_address& server)
{
    if (!proto::is_unspecified(bound)) return bound;
    // connect() on a UDP socket sends nothing: it only asks the routing table for a source.
    om_address out = bound;
    proto::SocketAddress to;
    if (!proto::to_socket_address(server, server.family == 6 ? AF_INET6 : AF_INET, to)) return out;
    int fd = ::socket(to.family(), SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return out;
    sockaddr_storage local{};
    socklen_t local_len = sizeof local;
    if (::connect(fd, to.get(), to.length) == 0 && ::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_len) == 0) {
        om_address route = proto::from_socket_address(local);
        if (route.family == server.family) {
            std::memcpy(out.bytes, route.bytes, sizeof out.bytes);
            out.family = route.family;
        }
    }
    ::close(fd);
    return out;
}

NatDiscovery::NatDiscovery(EventLoop& loop, Counters& counters) : loop_(loop), counters_(counters) {}

NatDiscovery::~NatDiscovery()
{
    *alive_ = false;
    if (std::unique_ptr<Run> run = take_run()) cancel_plugin(*run);  // nobody is called back
}

std::unique_ptr<NatDiscovery::Run> NatDiscovery::take_run()
{
    std::unique_ptr<Run> run = std::move(run_);
    if (run && run->guard_timer) loop_.cancel_timer(run->guard_timer);
    return run;
}

void NatDiscovery::cancel_plugin(Run& run)
{
    // The run is no longer current: a plugin that answers from inside cancel() is only counted.
    try {
        guarded_call(*run.plugin->ctx, "cancel", [&] { run.vtbl->cancel(run.plugin->instance); });
    } catch (const Error& e) {
        log_message(OM_LOG_ERROR, e.what());
    }
}

void NatDiscovery::run(PluginInstance& plugin, const om_address& server, const om_address& local, int budget_ms,
                       Done done)
{
    if (run_) {
        run_->waiters.push_back(std::move(done));
        return;
    }
    auto run = std::make_unique<Run>();
    run->serial = ++serial_;
    run->plugin = &plugin;
    run->vtbl = plugin.library->vtable<om_nat_discovery_vtbl>();
    run->waiters.push_back(std::move(done));
    run->started_us = EventLoop::now_us();
    run->base.struct_size = sizeof run->base;
    run->base.hairpin = -1;
    std::snprintf(run->base.stun_server, sizeof run->base.stun_server, "%s", proto::format_address(server).c_str());
    std::snprintf(run->base.local_address, sizeof run->base.local_address, "%s", proto::format_address(local).c_str());
    const uint64_t serial = run->serial;
    run_ = std::move(run);
    if (!run_->vtbl) {
        // Kept as a task so that done is never called from inside run().
        post_finish(serial, {OM_ERR_INTERNAL, "the nat-discovery plugin has no vtable", run_->base});
        return;
    }
    // done_user_data names this run, so a late answer is never taken for a later run's.
    tokens_.push_back(DoneToken{this, serial});
    om_nat_request request{};
    request.struct_size = sizeof request;
    request.server = server;
    request.timeout_ms = budget_ms;
    request.done = &NatDiscovery::on_plugin_done;
    request.done_user_data = &tokens_.back();
    request.local_address = local;
    counters_.add("nat.runs", 1);
    run_->guard_timer = loop_.add_timer(uint64_t(budget_ms + kGraceMs) * 1000, 0, [this, budget_ms](uint64_t) {
        if (!run_) return;
        run_->guard_timer = 0;
        counters_.add("nat.plugin_overran", 1);
        std::unique_ptr<Run> late = take_run();
        cancel_plugin(*late);
        complete(*late, {OM_ERR_TIMEOUT, "plugin " + late->plugin->ctx->plugin_name + " did not finish within " +
                                             std::to_string(budget_ms) + " ms", late->base});
    });
    int32_t status = OM_ERR_INTERNAL;
    std::string error;
    run_->in_start = true;
    try {
        status = guarded_call(*run_->plugin->ctx, "start", [&] { return run_->vtbl->start(run_->plugin->instance, &request); });
        if (status != OM_OK) check_plugin_status(*run_->plugin->ctx, "start", status);
    } catch (const Error& e) {
        status = e.status();
        error = e.what();
    }
    if (!current(serial)) return;  // ended while starting (cannot happen today; cheap to check)
    run_->in_start = false;
    if (status != OM_OK) post_finish(serial, {status, error, run_->base});
    else if (run_->early) post_finish(serial, *run_->early);
}

bool NatDiscovery::current(uint64_t serial) const
{
    return run_ && run_->serial == serial;
}

void NatDiscovery::post_finish(uint64_t serial, NatResult result)
{
    loop_.post([this, alive = alive_, serial, result = std::move(result)] {
        if (*alive && current(serial)) finish(result);
    });
}

void NatDiscovery::on_plugin_done(void* user_data, int32_t status, const om_nat_info* info)
{
    const auto* token = static_cast<const DoneToken*>(user_data);
    NatDiscovery* self = token->self;
    if (!self->current(token->serial)) {
        self->counters_.add("nat.late_answers", 1);  // after a cancel or a second time: a broken contract
        return;
    }
    NatResult result{status, {}, self->run_->base};
    om_nat_report& r = result.report;
    if (info && info->struct_size >= sizeof(om_nat_info)) {
        // A plugin's numbers are checked like any input.
        const auto in_range = [](int32_t v, int32_t low, int32_t high, int32_t otherwise) {
            return v >= low && v <= high ? v : otherwise;
        };
        r.nat_type = in_range(info->nat_type, OM_NAT_UNKNOWN, OM_NAT_SYMMETRIC, OM_NAT_UNKNOWN);
        r.mapping = in_range(info->mapping, OM_NAT_BEHAVIOR_UNKNOWN, OM_NAT_BEHAVIOR_ADDRESS_AND_PORT_DEPENDENT,
                             OM_NAT_BEHAVIOR_UNKNOWN);
        r.filtering = in_range(info->filtering, OM_NAT_BEHAVIOR_UNKNOWN, OM_NAT_BEHAVIOR_ADDRESS_AND_PORT_DEPENDENT,
                               OM_NAT_BEHAVIOR_UNKNOWN);
        r.hairpin = in_range(info->hairpin, -1, 1, -1);
        r.server_ips_used = in_range(info->server_ips_used, 0, 2, 0);
        if (info->mapped_address.family == 4 || info->mapped_address.family == 6)
            std::snprintf(r.mapped_address, sizeof r.mapped_address, "%s", proto::format_address(info->mapped_address).c_str());
    } else if (status == OM_OK) {
        result.status = OM_ERR_PLUGIN;
    }
    if (status != OM_OK || result.status != OM_OK) {
        std::string detail = self->run_->plugin->ctx->take_error();
        result.error = "plugin " + self->run_->plugin->ctx->plugin_name + ": " +
                       (detail.empty() ? std::string(om_status_str(result.status)) : detail);
    }
    if (self->run_->in_start) {
        self->run_->early = std::move(result);
        return;
    }
    self->finish(std::move(result));
}

void NatDiscovery::abort(om_status status, const std::string& why)
{
    std::unique_ptr<Run> run = take_run();
    if (!run) return;
    cancel_plugin(*run);
    complete(*run, {status, why, run->base});
}

void NatDiscovery::finish(NatResult result)
{
    std::unique_ptr<Run> run = take_run();
    complete(*run, std::move(result));
}

void NatDiscovery::complete(Run& run, NatResult result)
{
    result.report.duration_ms = double(EventLoop::now_us() - run.started_us) / 1000.0;
    counters_.add(result.status == OM_OK ? "nat.successes" : "nat.failures", 1);
    if (result.status == OM_OK)
        log_message(OM_LOG_INFO, std::string("NAT discovery: ") + proto::nat_type_name(result.report.nat_type) +
                                     ", mapped " + result.report.mapped_address + " via " + result.report.stun_server);
    else
        log_message(OM_LOG_WARNING, "NAT discovery failed: " + result.error);
    // Keep a successful result; a failure replaces it only when nothing better is known.
    if (result.status == OM_OK || !latest_ || latest_->status != OM_OK) latest_ = result;
    for (auto& w : run.waiters) w(result);
}

} // namespace om
