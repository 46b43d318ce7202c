// One transport-udp instance: the socket, its batch buffers and its counters. Methods throw
// PluginError; plugin.cpp turns that into an om_status at the ABI boundary.
#pragma once

#include "batch_io.h"
#include "udp_options.h"
#include "udp_socket.h"

#include <orbitmesh/plugin.h>
#include <orbitmesh_plugin_support/host_services.h>

#include <cstdint>
#include <string>

namespace om::udp {

struct UdpCounters {
    uint64_t datagrams_sent = 0;
    uint64_t datagrams_received = 0;
    uint64_t bytes_sent = 0;
    uint64_t bytes_received = 0;
    uint64_t send_errors = 0;
    uint64_t recv_errors = 0;
    uint64_t icmp_refused = 0;  // ECONNREFUSED reported by a receive (an earlier ICMP error)
    uint64_t truncated = 0;     // datagrams larger than a receive slot, dropped
    uint64_t batches = 0;       // receive calls that returned at least one datagram
    uint64_t gso_sends = 0;     // GSO messages (two or more datagrams in one) the kernel took
    uint64_t gso_segments = 0;  // datagrams sent inside them
    uint64_t gro_segments = 0;  // datagrams split out of coalesced (GRO) reads
    uint64_t gso_disabled = 0;  // sockets on which the kernel refused GSO, which was then turned off
};

class UdpTransport {
public:
    explicit UdpTransport(const om_transport_create_args& args);

    void open(const char* bind_address);
    void close() noexcept;
    // Sends until done or the socket buffer is full; `sent` says how many left. Other failures
    // throw, with `sent` already updated.
    void send(const om_datagram* batch, size_t count, size_t& sent);
    // Hands up to max datagrams to the sink; returns how many.
    size_t drain(size_t max);

    int poll_fd() const noexcept { return socket_.fd(); }
    om_address local_address() const;
    uint32_t mtu() const noexcept { return mtu_; }

    SocketBuffers socket_buffers() const { return socket_.buffers(); }
    // 0 keeps a size; applies now when open and on every later open.
    void set_socket_buffers(const SocketBuffers& wanted) noexcept;
    const UdpCounters& counters() const noexcept { return counters_; }

    // Host side: the failure detail, and the counter increments since the last call.
    void report_error(const char* message) const noexcept { host_.set_error(message); }
    void publish_counters() noexcept;

private:
    [[noreturn]] void fail_send(const SendOutcome& outcome, const om_datagram& datagram);
    // Counts the datagrams in `slot` (several after a GRO read) and hands each to the sink;
    // returns how many, 0 when the slot was truncated.
    size_t deliver(size_t slot);

    plugin::HostServices host_;
    om_datagram_sink_fn sink_;
    void* sink_user_data_;
    UdpOptions options_;
    UdpSocket socket_;
    BatchSender sender_;
    BatchReceiver receiver_;
    std::string bound_text_;
    uint32_t mtu_;
    UdpCounters counters_;
    UdpCounters published_;
};

}  // namespace om::udp
