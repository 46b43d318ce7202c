// One turn-client instance: an Allocation bound to the host API. Its datagrams go to the TURN
// server through host->send_datagram (the agent's own socket, so the server-reflexive address
// the Allocate answer carries is this socket's mapping); one host timer is kept armed for the
// allocation's next wakeup; done and on_event run from a timer of their own, never inside a
// call from the kernel.
#pragma once

#include "allocation.h"
#include "tcp_link.h"

#include <orbitmesh/plugin.h>
#include <orbitmesh_plugin_support/host_services.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>

namespace om::turnclient {

class TurnClientInstance {
public:
    // Reads the settings (rto_ms, lifetime_s, max_peers, channels). Throws PluginError.
    explicit TurnClientInstance(const om_plugin_create_args& args);
    ~TurnClientInstance();
    TurnClientInstance(const TurnClientInstance&) = delete;
    TurnClientInstance& operator=(const TurnClientInstance&) = delete;

    // OM_ERR_STATE while an allocation exists or is being made (release it first).
    int32_t allocate(const om_turn_request& request);
    int32_t create_permission(const om_address& peer);
    int32_t send(const om_datagram& datagram);
    // 1 when the datagram came from the TURN server and was ours, else 0.
    int32_t on_datagram(const om_datagram& datagram);
    void release() noexcept;
    int32_t reflexive_address(om_address& out) const;

    void report_error(const char* message) const noexcept { host_.set_error(message); }
    void publish_counters() noexcept;

private:
    enum class Transport : uint8_t { Udp, Tcp, Auto };  // the setting "transport"
    // Makes the allocation over UDP (the agent's socket) or TCP (a connection of ours).
    void begin(bool stream, uint32_t timeout_ms);
    Allocation::Io make_io(bool stream);
    static void on_tcp_wake(void* user_data) noexcept;
    void tcp_wake();
    void schedule();
    void notify(std::function<void()> call);
    static void on_step_timer(void* user_data, uint64_t timer_id) noexcept;
    static void on_notify_timer(void* user_data, uint64_t timer_id) noexcept;

    plugin::HostServices host_;
    Settings settings_;
    om_turn_request request_{};
    Transport transport_ = Transport::Auto;
    uint32_t auto_udp_ms_ = 2000;  // with "auto": UDP this long, then TCP
    uint64_t deadline_us_ = 0;     // the whole allocate() budget
    std::string username_, password_;
    bool stream_ = false;          // the allocation in use is over TCP
    std::unique_ptr<TcpLink> tcp_;
    bool tcp_allocation_started_ = false;
    std::optional<Allocation> allocation_;
    Counters published_;
    uint64_t step_timer_ = 0;
    uint64_t step_due_us_ = 0;
    uint64_t notify_timer_ = 0;
    std::deque<std::function<void()>> notifications_;
};

}  // namespace om::turnclient
