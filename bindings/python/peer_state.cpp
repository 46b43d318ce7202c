#include "peer_state.hpp"

#include "bindings.hpp"
#include "enums.hpp"

namespace orbitmesh::python {
namespace {

py::object text_or_none(const char* text)
{
    return text[0] ? py::object(py::str(text)) : py::object(py::none());
}

std::string enum_text(py::object value)
{
    return py::str(value).cast<std::string>();
}

std::string describe(const PeerStateSnapshot& p)
{
    const om_peer_state& s = p.state;
    std::string out = "PeerConnectionState(peer_id=" + py::repr(py::str(p.peer_id)).cast<std::string>();
    out += ", status=" + enum_text(py::cast(static_cast<PeerConnectionStatus::Value>(s.status)));
    out += ", active_transport=" + enum_text(py::cast(static_cast<Transport::Value>(s.active_transport)));
    out += ", strategy=" + enum_text(py::cast(static_cast<Strategy::Value>(s.strategy)));
    if (s.planned_strategy != s.strategy)
        out += ", planned_strategy=" + enum_text(py::cast(static_cast<Strategy::Value>(s.planned_strategy)));
    out += ", connect_ms=" + std::to_string(s.connect_ms);
    if (s.diagnosis[0]) out += ", diagnosis=" + py::repr(py::str(s.diagnosis)).cast<std::string>();
    return out + ")";
}

} // namespace

void register_peer_state(py::module_& m)
{
    using M = MetricsSnapshot;
    py::class_<M>(m, "ConnectionMetrics", "Measurements of one peer connection (seed: Metrics).")
        .def_property_readonly("round_trip_time_ms", [](const M& x) { return x.state.rtt_ms; },
                               "Latest round trip on the active path; 0 when not measured yet.")
        .def_property_readonly("rtt_ms", [](const M& x) { return x.state.rtt_ms; })
        .def_property_readonly("bytes_sent", [](const M& x) { return x.state.bytes_sent; })
        .def_property_readonly("bytes_received", [](const M& x) { return x.state.bytes_received; })
        .def_property_readonly("messages_sent", [](const M& x) { return x.state.messages_sent; })
        .def_property_readonly("messages_received", [](const M& x) { return x.state.messages_received; })
        .def_property_readonly("packet_loss_rate", [](const M& x) { return x.state.packet_loss; }, "0..1")
        // Added in 0.4: the delivery session (QUIC) above the path; 0 / None before it exists.
        .def_property_readonly("rtt_var_ms", [](const M& x) { return x.state.rtt_var_ms; }, "RFC 9002 rttvar.")
        .def_property_readonly("min_rtt_ms", [](const M& x) { return x.state.min_rtt_ms; })
        .def_property_readonly("cwnd", [](const M& x) { return x.state.cwnd; }, "Congestion window, bytes.")
        .def_property_readonly("bytes_in_flight", [](const M& x) { return x.state.bytes_in_flight; })
        .def_property_readonly("packets_sent", [](const M& x) { return x.state.packets_sent; })
        .def_property_readonly("packets_received", [](const M& x) { return x.state.packets_received; })
        .def_property_readonly("packets_lost", [](const M& x) { return x.state.packets_lost; })
        .def_property_readonly("retransmits", [](const M& x) { return x.state.retransmits; })
        .def_property_readonly("send_queue_bytes", [](const M& x) { return x.state.send_queue_bytes; },
                               "Accepted, not yet acknowledged by the peer.")
        .def_property_readonly("congestion_control", [](const M& x) { return text_or_none(x.state.congestion_control); },
                               "\"cubic\", \"reno\", \"bbr\" or \"bbr2\"; None before the session exists.")
        .def_property_readonly("cipher_suite", [](const M& x) { return text_or_none(x.state.cipher_suite); },
                               "TLS 1.3 suite of the end-to-end encryption.")
        .def_property_readonly("local_fingerprint", [](const M& x) { return text_or_none(x.state.local_fingerprint); })
        .def_property_readonly("remote_fingerprint", [](const M& x) { return text_or_none(x.state.remote_fingerprint); })
        .def("__repr__", [](const M& x) {
            return "ConnectionMetrics(round_trip_time_ms=" + std::to_string(x.state.rtt_ms) +
                   ", bytes_sent=" + std::to_string(x.state.bytes_sent) +
                   ", bytes_received=" + std::to_string(x.state.bytes_received) +
                   ", packet_loss_rate=" + std::to_string(x.state.packet_loss) +
                   ", cwnd=" + std::to_string(x.state.cwnd) + ", retransmits=" + std::to_string(x.state.retransmits) + ")";
        });

    using P = PeerStateSnapshot;
    py::class_<P>(m, "PeerConnectionState",
                  "A snapshot of one peer connection (seed: PeerConnectionState).")
        .def_property_readonly("peer_id", [](const P& p) { return p.peer_id; })
        .def_property_readonly("status", [](const P& p) { return static_cast<PeerConnectionStatus::Value>(p.state.status); })
        .def_property_readonly("active_transport", [](const P& p) { return static_cast<Transport::Value>(p.state.active_transport); })
        .def_property_readonly("strategy", [](const P& p) { return static_cast<Strategy::Value>(p.state.strategy); })
        .def_property_readonly("local_candidate", [](const P& p) { return text_or_none(p.state.local_candidate); },
                               "RFC 8839 candidate text of the local end, None when there is none.")
        .def_property_readonly("remote_candidate", [](const P& p) { return text_or_none(p.state.remote_candidate); })
        .def_property_readonly("local_nat_info", [](const P& p) { return static_cast<NatType::Value>(p.state.local_nat); })
        .def_property_readonly("local_nat", [](const P& p) { return static_cast<NatType::Value>(p.state.local_nat); })
        .def_property_readonly("remote_nat", [](const P& p) { return static_cast<NatType::Value>(p.state.remote_nat); })
        .def_property_readonly("connect_ms", [](const P& p) { return p.state.connect_ms; },
                               "From the request to Connected, in milliseconds.")
        .def_property_readonly("diagnosis", [](const P& p) { return text_or_none(p.state.diagnosis); },
                               "Why the path is not direct (None when it is, or nothing is known).")
        .def_property_readonly("planned_strategy", [](const P& p) { return static_cast<Strategy::Value>(p.state.planned_strategy); },
                               "What the strategy plugin chose (the seed's matrix); strategy is the "
                               "step that made the connection.")
        .def_property_readonly("pairs_checked", [](const P& p) { return p.state.pairs_checked; },
                               "Candidate pairs that got a connectivity check.")
        .def_property_readonly("checks_sent", [](const P& p) { return p.state.checks_sent; },
                               "STUN connectivity checks and consent requests sent.")
        .def_property_readonly("checks_received", [](const P& p) { return p.state.checks_received; },
                               "Authenticated checks received from the peer.")
        .def_property_readonly("last_heard_ms", [](const P& p) { return p.state.last_heard_ms; },
                               "Milliseconds since the peer was last heard on the active path.")
        .def_property_readonly("cipher_suite", [](const P& p) { return text_or_none(p.state.cipher_suite); },
                               "TLS 1.3 suite of the end-to-end encryption (None before the session exists).")
        .def_property_readonly("local_fingerprint", [](const P& p) { return text_or_none(p.state.local_fingerprint); },
                               "Our certificate's SHA-256, as Agent.fingerprint() gives it.")
        .def_property_readonly("remote_fingerprint", [](const P& p) { return text_or_none(p.state.remote_fingerprint); },
                               "The peer's certificate SHA-256, as it presented it (its Agent.fingerprint()).")
        .def_property_readonly("congestion_control", [](const P& p) { return text_or_none(p.state.congestion_control); })
        .def_property_readonly("metrics", [](const P& p) { return MetricsSnapshot{p.state}; })
        .def_property_readonly("is_connected", [](const P& p) { return p.state.status == OM_PEER_CONNECTED; })
        .def("__repr__", &describe);
}

} // namespace orbitmesh::python
