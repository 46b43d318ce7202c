// One delivery-quic instance: its settings and TLS identity, the sessions it opened, and the
// host timers that drive each session's next wakeup. The vtable calls (plugin.cpp) land here.
#pragma once

#include "quic_session.h"
#include "tls_identity.h"

#include <orbitmesh/plugin.h>
#include <orbitmesh_plugin_support/host_services.h>

#include <cstdint>
#include <memory>
#include <unordered_set>

namespace om::quic {

// Settings ("delivery-quic.<key>=value"): congestion_control (cubic|reno|bbr|bbr2),
// send_queue_bytes (bytes, at least 65536), identity_file (PEM path, created 0600 when missing).
SessionSettings read_settings(const plugin::HostServices& host);

struct InstanceCounters {
    uint64_t sessions_opened = 0;
    uint64_t sessions_failed = 0;
    uint64_t malformed_packets = 0;
    uint64_t packets_after_close = 0;
    uint64_t malformed_streams = 0;
    uint64_t malformed_datagrams = 0;
    uint64_t stale_sequenced = 0;
    uint64_t datagrams_lost = 0;
    uint64_t datagrams_dropped = 0;
    uint64_t send_blocked = 0;
};

class DeliveryInstance {
public:
    explicit DeliveryInstance(const om_plugin_create_args& args);
    ~DeliveryInstance();

    int32_t session_open(const om_delivery_session_args* args, void** out_session);
    void session_close(void* session) noexcept;
    int32_t send_message(void* session, om_delivery_mode mode, uint32_t channel, const uint8_t* data, size_t len);
    int32_t send_messages(void* session, const om_delivery_message* messages, size_t count, size_t* accepted);
    int32_t on_packet(void* session, uint32_t path_id, const uint8_t* data, size_t len);
    int32_t path_changed(void* session, const om_delivery_path* path);
    int32_t metrics(void* session, om_delivery_metrics* out);
    int32_t local_fingerprint(char* buf, size_t cap) const;
    // ABI 1.0 slots: channel 0, the session's current path.
    int32_t send(void* session, om_delivery_mode mode, const uint8_t* data, size_t len);
    int32_t on_frame(void* session, const uint8_t* frame, size_t len);

    void report_error(const char* message) const noexcept { host_.set_error(message); }
    void publish_counters() noexcept;

    struct Box;  // a session with its timer

private:
    Box& box(void* session);
    void reschedule(Box& box);
    static void on_timer(void* user_data, uint64_t timer_id);
    void add_counters(const SessionCounters& c, InstanceCounters& into) const;

    plugin::HostServices host_;
    SessionSettings settings_;
    TlsIdentity identity_;
    std::unordered_set<Box*> boxes_;
    InstanceCounters retired_;  // counters of closed sessions
    InstanceCounters published_;
    uint64_t sessions_opened_ = 0, sessions_failed_ = 0;
};

}  // namespace om::quic
