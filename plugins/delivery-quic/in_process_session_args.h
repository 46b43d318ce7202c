// Arguments for two delivery-quic sessions wired to each other inside one process, with no
// kernel (the unit tests, the session fuzz target and bench/delivery/quic_floor): side 0 is the
// client, side 1 the server; both reliable and unreliable delivery are on.
#pragma once

#include <orbitmesh/plugin.h>

#include <cstdint>

namespace om::quic {

struct InProcessOutputs {
    decltype(om_delivery_session_args::send_packets) send_packets;
    decltype(om_delivery_session_args::deliver_message) deliver_message;
    decltype(om_delivery_session_args::session_event) session_event;
};

inline om_delivery_session_args in_process_session_args(int side, void* io_user_data, const char* remote_fingerprint,
                                                        const InProcessOutputs& outputs, uint32_t idle_timeout_ms,
                                                        uint64_t path_rtt_us = 2000)
{
    om_delivery_session_args a{};
    a.struct_size = sizeof a;
    a.mtu = 1400;
    a.io_user_data = io_user_data;
    a.peer_id = side == 0 ? "server" : "client";
    a.role = side == 0 ? OM_DELIVERY_ROLE_CLIENT : OM_DELIVERY_ROLE_SERVER;
    a.path = {1, 1400, path_rtt_us};
    a.idle_timeout_ms = idle_timeout_ms;
    a.enable_reliable = 1;
    a.enable_unreliable = 1;
    a.send_packets = outputs.send_packets;
    a.deliver_message = outputs.deliver_message;
    a.session_event = outputs.session_event;
    a.remote_fingerprint = remote_fingerprint;
    return a;
}

}  // namespace om::quic
