#include "agent/nat_discovery.h"

#include "core/error.h"
#include "core/log.h"
#include "plugin_host/guarded_call.h"
#include "proto/address.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

namespace om {
namespace {

// A plugin gets this long past its budget before the kernel gives up on it.
constexpr int kGraceMs = 500;

void copy_text(char* out, size_t cap, const std::string& text)
{
    size_t n = std::min(text.size(), cap - 1);
    std::memcpy(out, text.data(), n);
    out[n] = '\0';
}

bool to_sockaddr(const om_address& a, sockaddr_storage& out, socklen_t& len)
{
    std::memset(&out, 0, sizeof out);
    if (a.family == 4) {
        auto* sin = reinterpret_cast<sockaddr_in*>(&out);
        sin->sin_family = AF_INET;
        sin->sin_port = htons(a.port);
        std::memcpy(&sin->sin_addr, a.bytes, 4);
        len = sizeof *sin;
        return true;
    }
    if (a.family == 6) {
        auto* sin6 = reinterpret_cast<sockaddr_in6*>(&out);
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(a.port);
        sin6->sin6_scope_id = a.scope_id;
        std::memcpy(&sin6->sin6_addr, a.bytes, 16);
        len = sizeof *sin6;
        return true;
    }
    return false;
}

} // namespace

struct NatDiscovery::Run {
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
    sockaddr_storage to{};
    socklen_t to_len = 0;
    if (!to_sockaddr(server, to, to_len)) return out;
    int fd = ::socket(to.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return out;
    sockaddr_storage local{};
    socklen_t local_len = sizeof local;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&to), to_len) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_len) == 0) {
        if (local.ss_family == AF_INET && server.family == 4) {
            std::memcpy(out.bytes, &reinterpret_cast<sockaddr_in*>(&local)->sin_addr, 4);
            out.family = 4;
        } else if (local.ss_family == AF_INET6 && server.family == 6) {
            std::memcpy(out.bytes, &reinterpret_cast<sockaddr_in6*>(&local)->sin6_addr, 16);
            out.family = 6;
        }
    }
    ::close(fd);
    return out;
}

NatDiscovery::NatDiscovery(EventLoop& loop, Counters& counters) : loop_(loop), counters_(counters) {}

NatDiscovery::~NatDiscovery()
{
    *alive_ = false;
    if (!run_) return;
    if (run_->guard_timer) loop_.cancel_timer(run_->guard_timer);
    try {
        guarded_call(*run_->plugin->ctx, "cancel", [&] { run_->vtbl->cancel(run_->plugin->instance); });
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
    run->plugin = &plugin;
    run->vtbl = plugin.library->vtable<om_nat_discovery_vtbl>();
    run->waiters.push_back(std::move(done));
    run->started_us = EventLoop::now_us();
    run->base.struct_size = sizeof run->base;
    run->base.hairpin = -1;
    copy_text(run->base.stun_server, sizeof run->base.stun_server, proto::format_address(server));
    copy_text(run->base.local_address, sizeof run->base.local_address, proto::format_address(local));
    if (!run->vtbl) {
        // Kept as a task so that done is never called from inside run().
        run_ = std::move(run);
        loop_.post([this, alive = alive_] {
            if (*alive && run_) finish({OM_ERR_INTERNAL, "the nat-discovery plugin has no vtable", run_->base});
        });
        return;
    }
    om_nat_request request{};
    request.struct_size = sizeof request;
    request.server = server;
    request.timeout_ms = budget_ms;
    request.done = &NatDiscovery::on_plugin_done;
    request.done_user_data = this;
    request.local_address = local;
    run_ = std::move(run);
    counters_.add("nat.runs", 1);
    run_->guard_timer = loop_.add_timer(uint64_t(budget_ms + kGraceMs) * 1000, 0, [this, budget_ms](uint64_t) {
        if (!run_) return;
        run_->guard_timer = 0;
        counters_.add("nat.plugin_overran", 1);
        try {
            guarded_call(*run_->plugin->ctx, "cancel", [&] { run_->vtbl->cancel(run_->plugin->instance); });
        } catch (const Error& e) {
            log_message(OM_LOG_ERROR, e.what());
        }
        finish({OM_ERR_TIMEOUT, "plugin " + run_->plugin->ctx->plugin_name + " did not finish within " +
                                    std::to_string(budget_ms) + " ms", run_->base});
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
    run_->in_start = false;
    if (status != OM_OK) {
        loop_.post([this, alive = alive_, status, error] {
            if (*alive && run_) finish({status, error, run_->base});
        });
    } else if (run_->early) {
        loop_.post([this, alive = alive_] {
            if (*alive && run_ && run_->early) finish(*run_->early);
        });
    }
}

void NatDiscovery::on_plugin_done(void* user_data, int32_t status, const om_nat_info* info)
{
    auto* self = static_cast<NatDiscovery*>(user_data);
    if (!self->run_) {
        self->counters_.add("nat.late_answers", 1);  // after a cancel: the plugin broke its contract
        return;
    }
    NatResult result{status, {}, self->run_->base};
    om_nat_report& r = result.report;
    if (info && info->struct_size >= sizeof(om_nat_info)) {
        r.nat_type = info->nat_type >= OM_NAT_UNKNOWN && info->nat_type <= OM_NAT_SYMMETRIC ? info->nat_type : OM_NAT_UNKNOWN;
        r.mapping = info->mapping;
        r.filtering = info->filtering;
        r.hairpin = info->hairpin;
        r.server_ips_used = info->server_ips_used;
        if (info->mapped_address.family)
            copy_text(r.mapped_address, sizeof r.mapped_address, proto::format_address(info->mapped_address));
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
    if (!run_) return;
    try {
        guarded_call(*run_->plugin->ctx, "cancel", [&] { run_->vtbl->cancel(run_->plugin->instance); });
    } catch (const Error& e) {
        log_message(OM_LOG_ERROR, e.what());
    }
    finish({status, why, run_->base});
}

void NatDiscovery::finish(NatResult result)
{
    std::unique_ptr<Run> run = std::move(run_);
    if (run->guard_timer) loop_.cancel_timer(run->guard_timer);
    result.report.duration_ms = double(EventLoop::now_us() - run->started_us) / 1000.0;
    counters_.add(result.status == OM_OK ? "nat.successes" : "nat.failures", 1);
    if (result.status == OM_OK)
        log_message(OM_LOG_INFO, std::string("NAT discovery: ") + proto::nat_type_name(result.report.nat_type) + ", mapped " +
                                     result.report.mapped_address + " via " + result.report.stun_server);
    else
        log_message(OM_LOG_WARNING, "NAT discovery failed: " + result.error);
    // Keep a successful result; a failure replaces it only when nothing better is known.
    if (result.status == OM_OK || !latest_ || latest_->status != OM_OK) latest_ = result;
    for (auto& w : run->waiters) w(result);
}

} // namespace om
