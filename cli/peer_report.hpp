// Names and JSON of the signaling commands (listen, connect): enum names as the CONTRACT spells
// them, the delivery-mode table, and SIGINT/SIGTERM as a flag.
#pragma once

#include "json_output.hpp"

#include <orbitmesh/orbitmesh.hpp>

#include <optional>
#include <string>

namespace om_cli {

// "Connected", "ServerRelay", "UdpHolePunch", "Symmetric"; nullopt for "none"/"unknown".
std::string peer_status_name(om_peer_status status);
std::optional<std::string> transport_name(om_transport_type transport);
std::optional<std::string> strategy_name(om_strategy strategy);
std::optional<std::string> nat_name(om_nat_type nat);
// "reliable-ordered" -> OM_DELIVERY_RELIABLE_ORDERED (the names are validated by parse_args).
om_delivery_mode delivery_mode_from_name(const std::string& name);
std::string delivery_mode_name(om_delivery_mode mode);
bool is_reliable(om_delivery_mode mode);

// Sets key to the value, or to null when there is none.
void set_or_null(Poco::JSON::Object::Ptr object, const std::string& key,
                 const std::optional<std::string>& value);

// The delivery session's metrics of om_peer_state (0.4), after the CONTRACT's fields of connect
// and bench: rtt_var_ms, min_rtt_ms, cwnd, bytes_in_flight, packets_sent, packets_received,
// packets_lost, retransmits, send_queue_bytes, congestion_control, cipher_suite,
// local_fingerprint, remote_fingerprint (texts null when the session has not said).
void set_session_metrics(Poco::JSON::Object::Ptr object, const om_peer_state& state);

// Installs SIGINT/SIGTERM handlers that only set a flag; stop_requested() reads it.
void install_stop_signals();
bool stop_requested();

} // namespace om_cli
