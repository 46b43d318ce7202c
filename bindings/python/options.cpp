#include "options.hpp"

#include "bindings.hpp"
#include "options_class.hpp"

#include <limits>

namespace orbitmesh::python {
namespace {

constexpr int64_t kInt32Max = std::numeric_limits<int32_t>::max();
constexpr IntRange kPort{1, 65535};
constexpr IntRange kPortOrOff{0, 65535};
constexpr IntRange kNonNegative{0, kInt32Max};
constexpr IntRange kMtu{68, 65535};
constexpr IntRange kBusyPoll{0, 10000};

void set_optional(const std::optional<std::string>& value,
                  orbitmesh::AgentOptions& (orbitmesh::AgentOptions::*setter)(std::string),
                  orbitmesh::AgentOptions& options)
{
    if (value) (options.*setter)(*value);
}

} // namespace

void apply_p2p_options(const P2POptions& p2p, orbitmesh::AgentOptions& options)
{
    om_agent_options& raw = options.raw();
    raw.prefer_p2p = p2p.prefer_p2p;
    raw.fallback_to_relay = p2p.fallback_to_relay;
    set_optional(p2p.stun_server, &orbitmesh::AgentOptions::stun_server, options);
    raw.stun_port = p2p.stun_port;
    set_optional(p2p.turn_server, &orbitmesh::AgentOptions::turn_server, options);
    raw.turn_port = p2p.turn_port;
    set_optional(p2p.turn_username, &orbitmesh::AgentOptions::turn_username, options);
    set_optional(p2p.turn_password, &orbitmesh::AgentOptions::turn_password, options);
    raw.connection_timeout_ms = p2p.connection_timeout_ms;
    raw.nat_punch_retries = p2p.nat_punch_retries;
    raw.nat_punch_interval_ms = p2p.nat_punch_interval_ms;
    raw.keep_alive_interval_ms = p2p.keep_alive_interval_ms;
    raw.disconnect_timeout_ms = p2p.disconnect_timeout_ms;
    raw.max_mtu = p2p.max_mtu;
    raw.enable_unreliable_delivery = p2p.enable_unreliable_delivery;
    raw.enable_reliable_delivery = p2p.enable_reliable_delivery;
    set_optional(p2p.bind_address, &orbitmesh::AgentOptions::bind_address, options);
    if (!p2p.exclude_interfaces.empty()) options.exclude_interfaces(p2p.exclude_interfaces);
    raw.identity_file = p2p.identity_file ? p2p.identity_file->c_str() : nullptr;
    raw.busy_poll_us = p2p.busy_poll_us;
}

void register_options(py::module_& m)
{
    using P = P2POptions;
    OptionsClass<P>(m, "P2POptions",
                    "Agent-side P2P settings (seed: P2POptions), keyword arguments only.")
        .boolean("prefer_p2p", &P::prefer_p2p, "Prefer a direct path over a relay.")
        .boolean("fallback_to_relay", &P::fallback_to_relay, "Fall back to a relay when P2P fails.")
        .text("stun_server", &P::stun_server, "STUN server host; None = the server's embedded STUN.")
        .integer("stun_port", &P::stun_port, kPort, "STUN server port.")
        .text("turn_server", &P::turn_server, "TURN server host, for Symmetric NATs.")
        .integer("turn_port", &P::turn_port, kPort, "TURN server port.")
        .text("turn_username", &P::turn_username, "TURN user name.")
        .text("turn_password", &P::turn_password, "TURN password.")
        .integer("connection_timeout_ms", &P::connection_timeout_ms, kNonNegative,
                 "Time allowed to connect to a peer (and to open the transport).")
        .integer("nat_punch_retries", &P::nat_punch_retries, kNonNegative, "Hole-punch attempts.")
        .integer("nat_punch_interval_ms", &P::nat_punch_interval_ms, kNonNegative,
                 "Time between hole-punch attempts.")
        .integer("keep_alive_interval_ms", &P::keep_alive_interval_ms, kNonNegative,
                 "Keep-alive period of an idle peer connection.")
        .integer("disconnect_timeout_ms", &P::disconnect_timeout_ms, kNonNegative,
                 "Silence after which a peer counts as disconnected.")
        .integer("max_mtu", &P::max_mtu, kMtu, "Largest datagram the agent sends.")
        .boolean("enable_unreliable_delivery", &P::enable_unreliable_delivery,
                 "Allow the Unreliable and Sequenced delivery modes.")
        .boolean("enable_reliable_delivery", &P::enable_reliable_delivery,
                 "Allow the reliable delivery modes.")
        .text("bind_address", &P::bind_address,
              "Local address of the agent's UDP socket, \"ip\" or \"ip:port\"; None = the "
              "library's choice (127.0.0.1 without a server or with a loopback server).")
        .name_list("exclude_interfaces", &P::exclude_interfaces,
                   "Interfaces whose addresses are not offered as host candidates when bound to the "
                   "wildcard: a list of names or one str separated by ','; a trailing '*' matches a "
                   "prefix (\"docker*\"). Loopback is always left out then.")
        .text("identity_file", &P::identity_file,
              "A PEM file with the agent's key and certificate, the identity peers pin (its "
              "SHA-256 is Agent.fingerprint()). Created (mode 0600) when missing, so the identity "
              "survives restarts; None = a new identity each time the agent is created.")
        .integer("busy_poll_us", &P::busy_poll_us, kBusyPoll,
                 "Microseconds (0..10000) the agent's thread polls its sockets without sleeping "
                 "after a wake-up, so a quick answer is read without a wake-up's delay; costs up "
                 "to that much CPU per wake-up. 0 = sleep at once.")
        .finish();

    using S = P2PServerOptions;
    OptionsClass<S>(m, "P2PServerOptions",
                    "Server-side P2P settings (seed: P2PServerOptions), keyword arguments only.")
        .integer("stun_port", &S::stun_port, kPortOrOff, "Embedded STUN server port; 0 = off.")
        .boolean("enable_turn_relay", &S::enable_turn_relay, "Run the embedded TURN relay.")
        .text("turn_realm", &S::turn_realm, "TURN realm; None = the server's default.")
        .finish();
}

} // namespace orbitmesh::python
