// One netsim instance: a transport decorator that runs the traffic of one direction (or both)
// through a Model. Datagrams the model delays are copied into a PendingQueue and released by a
// one-shot host timer that is always armed for the earliest release.
#pragma once

#include "netsim_model.h"
#include "netsim_settings.h"
#include "pending_queue.h"

#include <orbitmesh/plugin.h>
#include <orbitmesh_plugin_support/host_services.h>

#include <cstdint>
#include <span>

namespace om::netsim {

struct NetsimCounters {
    uint64_t passed = 0;         // simulated datagrams handed on (to inner send or to the sink)
    uint64_t dropped_loss = 0;
    uint64_t dropped_queue = 0;  // queue_limit reached
    uint64_t duplicated = 0;
    uint64_t reordered = 0;
    uint64_t delayed = 0;        // held back for any reason (delay, jitter, reorder, rate)
    uint64_t rate_limited = 0;   // had to wait for the link to finish earlier packets
};

class NetsimTransport {
public:
    // Throws PluginError (a bad setting, no inner transport, a host without timers).
    explicit NetsimTransport(const om_transport_create_args& args);
    ~NetsimTransport();
    NetsimTransport(const NetsimTransport&) = delete;
    NetsimTransport& operator=(const NetsimTransport&) = delete;

    // Forwarded to the inner transport.
    int32_t open(const char* bind_address);
    void close() noexcept;
    int32_t poll_fd() const noexcept;
    int32_t drain(size_t max, size_t* out_count);
    int32_t local_address(om_address* out);
    uint32_t mtu() const noexcept;

    // Through the model when `direction` covers the traffic, straight through otherwise.
    int32_t send(const om_datagram* batch, size_t count, size_t* out_sent);
    void inner_received(const om_datagram& datagram);

    const NetsimCounters& counters() const noexcept { return counters_; }
    // Both directions. Throws PluginError outside 0..1.
    void set_loss(double loss);

    void report_error(const char* message) const noexcept { host_.set_error(message); }
    void log(int32_t level, const char* message) const noexcept { host_.log(level, message); }
    // Adds the counter increments since the last call to the host's counters.
    void publish_counters() noexcept;

private:
    // Runs one datagram through model: counts its fate, hands copies due now to forward_now
    // and queues the rest.
    template <class ForwardNow>
    void admit(Path path, Model& model, const om_datagram& datagram, uint64_t now_us, const ForwardNow& forward_now);
    // One inner send of all datagrams. A full socket buffer queues the unsent ones for a retry;
    // a failure returns its status with failed_at = the index of the datagram that failed.
    int32_t send_inner(std::span<const om_datagram> datagrams, uint64_t now_us, size_t& failed_at);
    void deliver_inbound(const om_datagram& datagram);
    // Passes an inner status through, naming the failed operation.
    int32_t forwarded(const char* operation, int32_t status) const noexcept;

    void release_due();
    void arm_timer();
    void cancel_timer() noexcept;
    static void on_timer(void* user_data, uint64_t timer_id);
    // Timer context: nobody to return an error to, so failures go to the log.
    template <class Work>
    void run_logged(const Work& work) noexcept;

    plugin::HostServices host_;
    om_datagram_sink_fn sink_;
    void* sink_user_data_;
    om_transport_ref inner_;
    Settings settings_;
    Model send_model_;
    Model recv_model_;
    PendingQueue pending_;
    uint64_t timer_id_ = 0;  // 0: no timer armed
    uint64_t timer_due_us_ = 0;
    NetsimCounters counters_;
    NetsimCounters published_;
};

}  // namespace om::netsim
