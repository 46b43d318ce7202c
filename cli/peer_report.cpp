#include "peer_report.hpp"

#include <csignal>

namespace om_cli {
namespace {

volatile std::sig_atomic_t g_stop = 0;

extern "C" void on_stop_signal(int) { g_stop = 1; }

} // namespace

std::string peer_status_name(om_peer_status status) {
    switch (status) {
    case OM_PEER_CONNECTING: return "Connecting";
    case OM_PEER_CONNECTED: return "Connected";
    case OM_PEER_FAILED: return "Failed";
    default: return "Disconnected";
    }
}

std::optional<std::string> transport_name(om_transport_type transport) {
    switch (transport) {
    case OM_TRANSPORT_P2P: return "P2P";
    case OM_TRANSPORT_SERVER_RELAY: return "ServerRelay";
    case OM_TRANSPORT_TURN: return "TurnRelay";
    default: return std::nullopt;
    }
}

std::optional<std::string> strategy_name(om_strategy strategy) {
    switch (strategy) {
    case OM_STRATEGY_DIRECT_CONNECT: return "DirectConnect";
    case OM_STRATEGY_UDP_HOLE_PUNCH: return "UdpHolePunch";
    case OM_STRATEGY_TURN_RELAY: return "TurnRelay";
    case OM_STRATEGY_SERVER_RELAY: return "ServerRelay";
    default: return std::nullopt;
    }
}

std::optional<std::string> nat_name(om_nat_type nat) {
    if (nat == OM_NAT_UNKNOWN) return std::nullopt;
    return std::string(om_nat_type_name(nat));
}

om_delivery_mode delivery_mode_from_name(const std::string& name) {
    if (name == "reliable-unordered") return OM_DELIVERY_RELIABLE_UNORDERED;
    if (name == "unreliable") return OM_DELIVERY_UNRELIABLE;
    if (name == "sequenced") return OM_DELIVERY_SEQUENCED;
    return OM_DELIVERY_RELIABLE_ORDERED;
}

std::string delivery_mode_name(om_delivery_mode mode) {
    switch (mode) {
    case OM_DELIVERY_RELIABLE_UNORDERED: return "reliable-unordered";
    case OM_DELIVERY_UNRELIABLE: return "unreliable";
    case OM_DELIVERY_SEQUENCED: return "sequenced";
    default: return "reliable-ordered";
    }
}

bool is_reliable(om_delivery_mode mode) {
    return mode == OM_DELIVERY_RELIABLE_ORDERED || mode == OM_DELIVERY_RELIABLE_UNORDERED;
}

void set_or_null(Poco::JSON::Object::Ptr object, const std::string& key,
                 const std::optional<std::string>& value) {
    if (value) object->set(key, *value);
    else object->set(key, Poco::Dynamic::Var());
}

void set_session_metrics(Poco::JSON::Object::Ptr out, const om_peer_state& s) {
    auto text = [](const char* t) { return t[0] ? std::optional<std::string>(t) : std::nullopt; };
    out->set("rtt_var_ms", s.rtt_var_ms);
    out->set("min_rtt_ms", s.min_rtt_ms);
    out->set("cwnd", s.cwnd);
    out->set("bytes_in_flight", s.bytes_in_flight);
    out->set("packets_sent", s.packets_sent);
    out->set("packets_received", s.packets_received);
    out->set("packets_lost", s.packets_lost);
    out->set("retransmits", s.retransmits);
    out->set("send_queue_bytes", s.send_queue_bytes);
    set_or_null(out, "congestion_control", text(s.congestion_control));
    set_or_null(out, "cipher_suite", text(s.cipher_suite));
    set_or_null(out, "local_fingerprint", text(s.local_fingerprint));
    set_or_null(out, "remote_fingerprint", text(s.remote_fingerprint));
}

void install_stop_signals() {
    struct sigaction action {};
    action.sa_handler = on_stop_signal;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, nullptr);
    sigaction(SIGTERM, &action, nullptr);
}

bool stop_requested() { return g_stop != 0; }

} // namespace om_cli
