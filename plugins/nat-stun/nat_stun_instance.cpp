#include "nat_stun_instance.h"

#include "classify.h"
#include "proto/nat_names.h"

#include <orbitmesh_plugin_support/counters.h>
#include <orbitmesh_plugin_support/struct_size.h>
#include <orbitmesh_plugin_support/plugin_error.h>

#include <cstddef>
#include <exception>
#include <stdexcept>
#include <string>

namespace om::natstun {

using plugin::PluginError;

namespace {

using plugin::covers;

constexpr plugin::CounterName<DiscoveryCounters> kCounterNames[] = {
    {"runs", &DiscoveryCounters::runs},
    {"requests", &DiscoveryCounters::requests},
    {"retransmits", &DiscoveryCounters::retransmits},
    {"responses", &DiscoveryCounters::responses},
    {"error_responses", &DiscoveryCounters::error_responses},
    {"malformed", &DiscoveryCounters::malformed},
    {"unexpected", &DiscoveryCounters::unexpected},
    {"late", &DiscoveryCounters::late},
    {"send_errors", &DiscoveryCounters::send_errors},
};

Settings read_settings(const plugin::HostServices& host)
{
    try {
        return parse_settings([&](const char* key) { return host.config(key); });
    } catch (const SettingsError& error) {
        throw PluginError(OM_ERR_INVALID_ARGUMENT, error.what());
    }
}


}  // namespace

NatStunInstance::NatStunInstance(const om_plugin_create_args& args)
    : host_(args.host, args.ctx), settings_(read_settings(host_))
{
    // send_datagram is an ABI 1.0 slot, but a host may still leave it NULL.
    if (!host_.can_send_datagram()) throw PluginError(OM_ERR_NOT_SUPPORTED, "the host offers no send_datagram");
    if (!host_.has_clock_and_timers()) throw PluginError(OM_ERR_NOT_SUPPORTED, "the host offers no clock or timers");
}

NatStunInstance::~NatStunInstance() { stop_timers(); }

int32_t NatStunInstance::start(const om_nat_request& request)
{
    if (in_flight_) throw PluginError(OM_ERR_STATE, "a NAT discovery is already running on this agent");
    if (!covers(request, &om_nat_request::done_user_data))
        throw PluginError(OM_ERR_INVALID_ARGUMENT, "om_nat_request.struct_size is too small");
    if (request.done == nullptr) throw PluginError(OM_ERR_INVALID_ARGUMENT, "om_nat_request.done is NULL");
    if (request.timeout_ms <= 0) throw PluginError(OM_ERR_INVALID_ARGUMENT, "om_nat_request.timeout_ms must be positive");

    DiscoveryRequest r;
    r.server = request.server;
    r.timeout_ms = static_cast<uint32_t>(request.timeout_ms);
    if (covers(request, &om_nat_request::local_address)) r.local_address = request.local_address;  // kernel 0.2

    Discovery::Io io;
    io.send = [this](const om_address& to, std::span<const uint8_t> bytes) {
        const om_datagram datagram{bytes.data(), bytes.size(), to};
        return host_.send_datagram(datagram);
    };
    io.log = [this](int32_t level, const std::string& message) { host_.log(level, message.c_str()); };
    stop_timers();
    run_.reset();
    try {
        run_.emplace(settings_, r, std::move(io), counters_);
    } catch (const std::invalid_argument& error) {
        throw PluginError(OM_ERR_INVALID_ARGUMENT, error.what());
    }
    const int32_t status = run_->start(host_.now_us());
    if (status != OM_OK) throw PluginError(status, run_->outcome().error);
    done_ = request.done;
    done_user_data_ = request.done_user_data;
    in_flight_ = true;
    try {
        schedule();
    } catch (...) {
        // No timer, no run: the kernel sees start fail and will not cancel, so undo it here.
        in_flight_ = false;
        done_ = nullptr;
        stop_timers();
        run_.reset();
        throw;
    }
    return OM_OK;
}

int32_t NatStunInstance::on_datagram(const om_datagram& datagram)
{
    if (!run_ || (datagram.data == nullptr && datagram.len != 0)) return 0;
    const bool consumed = run_->on_datagram({datagram.data, datagram.len}, datagram.peer, host_.now_us());
    schedule();
    return consumed ? 1 : 0;
}

void NatStunInstance::cancel() noexcept
{
    if (!in_flight_) return;
    in_flight_ = false;
    done_ = nullptr;
    stop_timers();
    if (run_) run_->cancel();
    publish_counters();
}

void NatStunInstance::publish_counters() noexcept { plugin::publish_counters(host_, kCounterNames, counters_, published_); }

// ----------------------------------------------------------------------------------------------
// Timers

void NatStunInstance::schedule()
{
    if (!in_flight_ || !run_) return;
    if (run_->finished()) {
        if (step_timer_ != 0) host_.timer_cancel(step_timer_);
        step_timer_ = 0;
        // done from a fresh loop turn: never inside start or on_datagram, whose callers may not
        // expect the instance to be destroyed or restarted under them.
        if (complete_timer_ == 0 && host_.timer_start(0, on_complete_timer, this, &complete_timer_) != OM_OK) {
            complete_timer_ = 0;
            complete();  // the loop refused a timer: better late in this turn than never
        }
        return;
    }
    const uint64_t due = *run_->next_wakeup_us();
    if (step_timer_ != 0 && step_due_us_ == due) return;
    if (step_timer_ != 0) host_.timer_cancel(step_timer_);
    step_timer_ = 0;
    const uint64_t now = host_.now_us();
    const int32_t status = host_.timer_start(due > now ? due - now : 0, on_step_timer, this, &step_timer_);
    if (status != OM_OK) {
        step_timer_ = 0;
        throw PluginError(status, "starting a timer failed");
    }
    step_due_us_ = due;
}

void NatStunInstance::stop_timers() noexcept
{
    if (step_timer_ != 0) host_.timer_cancel(step_timer_);
    if (complete_timer_ != 0) host_.timer_cancel(complete_timer_);
    step_timer_ = complete_timer_ = 0;
}

void NatStunInstance::on_step_timer(void* user_data, uint64_t timer_id) noexcept
{
    auto& self = *static_cast<NatStunInstance*>(user_data);
    if (timer_id != self.step_timer_ || !self.run_) return;
    self.step_timer_ = 0;
    try {
        self.run_->on_time(self.host_.now_us());
        self.schedule();
    } catch (const std::exception& error) {
        // Nobody to return an error to: end the run with it rather than leave done uncalled.
        self.run_->fail(OM_ERR_INTERNAL, std::string("NAT discovery failed: ") + error.what());
        self.complete();
        return;
    }
    self.publish_counters();
}

void NatStunInstance::on_complete_timer(void* user_data, uint64_t timer_id) noexcept
{
    auto& self = *static_cast<NatStunInstance*>(user_data);
    if (timer_id != self.complete_timer_) return;
    self.complete_timer_ = 0;
    self.complete();
}

void NatStunInstance::complete() noexcept
{
    if (!in_flight_ || !run_ || done_ == nullptr) return;
    const DiscoveryOutcome& outcome = run_->outcome();
    const om_nat_info info = outcome.info;
    const int32_t status = outcome.status;
    const om_nat_done_fn done = done_;
    void* const user_data = done_user_data_;
    in_flight_ = false;
    done_ = nullptr;
    stop_timers();
    publish_counters();
    try {
        for (const std::string& note : outcome.notes) host_.log(OM_LOG_INFO, note.c_str());
        if (status == OM_OK) {
            const std::string rtt = outcome.rtt_us ? std::to_string(*outcome.rtt_us / 1000.0) + " ms" : "unknown";
            host_.log(OM_LOG_INFO, (std::string(proto::nat_type_name(info.nat_type)) + ": mapping " +
                                    proto::nat_behavior_name(info.mapping) + ", filtering " + proto::nat_behavior_name(info.filtering) +
                                    ", mapped address " + host_.format_address(info.mapped_address) + ", hairpin " +
                                    std::to_string(info.hairpin) + ", server IPs " +
                                    std::to_string(info.server_ips_used) + ", RTT " + rtt)
                                       .c_str());
        } else {
            host_.set_error(outcome.error.c_str());
        }
    } catch (...) {
        // Logging is best effort; done must still run.
    }
    done(user_data, status, &info);  // last: done may destroy this instance or start another run
}

}  // namespace om::natstun
