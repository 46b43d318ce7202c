// One nat-stun instance: binds a Discovery run to the host API. Datagrams go out through
// host->send_datagram, one host timer is kept armed for the run's next wakeup, and the result
// reaches request->done from a timer of its own, so done never runs inside start or
// on_datagram and runs at most once per start.
#pragma once

#include "discovery.h"
#include "settings.h"

#include <orbitmesh/plugin.h>
#include <orbitmesh_plugin_support/host_services.h>

#include <cstdint>
#include <optional>

namespace om::natstun {

class NatStunInstance {
public:
    // Reads and validates the settings (the kernel refuses keys not read by now). Throws PluginError.
    explicit NatStunInstance(const om_plugin_create_args& args);
    ~NatStunInstance();
    NatStunInstance(const NatStunInstance&) = delete;
    NatStunInstance& operator=(const NatStunInstance&) = delete;

    // OM_ERR_STATE while a run is in flight; on any failure done is never called.
    int32_t start(const om_nat_request& request);
    // 1 when the datagram answered one of our transactions (also when it was rejected), else 0.
    int32_t on_datagram(const om_datagram& datagram);
    // Stops the run; done is not called for it.
    void cancel() noexcept;

    void report_error(const char* message) const noexcept { host_.set_error(message); }
    void publish_counters() noexcept;

private:
    // After every input: arms the step timer for the next wakeup, or the completion timer.
    void schedule();
    void stop_timers() noexcept;
    void complete() noexcept;
    static void on_step_timer(void* user_data, uint64_t timer_id) noexcept;
    static void on_complete_timer(void* user_data, uint64_t timer_id) noexcept;

    plugin::HostServices host_;
    Settings settings_;
    DiscoveryCounters counters_;
    DiscoveryCounters published_;
    // The latest run; kept after it finished so late answers to it are still recognized.
    std::optional<Discovery> run_;
    bool in_flight_ = false;  // started and done not yet called (nor cancelled)
    om_nat_done_fn done_ = nullptr;
    void* done_user_data_ = nullptr;
    uint64_t step_timer_ = 0;  // 0: none armed
    uint64_t step_due_us_ = 0;
    uint64_t complete_timer_ = 0;
};

}  // namespace om::natstun
