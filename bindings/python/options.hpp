// The seed's P2POptions and P2PServerOptions as plain structs: every field in snake_case with
// the seed's default (seed/000, "Configuration Options"), plus bind_address.
#pragma once

#include <orbitmesh/orbitmesh.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace orbitmesh::python {

struct P2POptions {
    // Connection behaviour.
    bool prefer_p2p = true;
    bool fallback_to_relay = true;
    // STUN: None = the server's embedded STUN.
    std::optional<std::string> stun_server;
    int32_t stun_port = 3478;
    // TURN, for Symmetric NATs.
    std::optional<std::string> turn_server;
    int32_t turn_port = 3478;
    std::optional<std::string> turn_username;
    std::optional<std::string> turn_password;
    // Timeouts.
    int32_t connection_timeout_ms = 10000;
    int32_t nat_punch_retries = 10;
    int32_t nat_punch_interval_ms = 100;
    // Transport settings.
    int32_t keep_alive_interval_ms = 15000;
    int32_t disconnect_timeout_ms = 30000;
    int32_t max_mtu = 1400;
    // Delivery modes.
    bool enable_unreliable_delivery = true;
    bool enable_reliable_delivery = true;
    // Local address of the agent's UDP socket ("ip" or "ip:port"); None = the library's choice.
    std::optional<std::string> bind_address;
    // Interfaces left out of host candidates when bound to the wildcard ("docker*" = prefix).
    std::vector<std::string> exclude_interfaces;
    // Added in 0.4: a PEM file with the agent's key and certificate (created, mode 0600, when
    // missing), so its fingerprint survives restarts; None = a new identity each time.
    std::optional<std::string> identity_file;
    // Added in 0.4: microseconds the agent's thread polls without sleeping after a wake-up.
    int32_t busy_poll_us = 0;
};

struct P2PServerOptions {
    int32_t stun_port = 3478; // 0 turns the embedded STUN server off
    bool enable_turn_relay = false;
    std::optional<std::string> turn_realm;
};

// Copies every P2POptions field into the C agent options. `p2p` must outlive the agent's
// creation: identity_file points into it (the C++ wrapper has no setter of its own for it).
void apply_p2p_options(const P2POptions& p2p, orbitmesh::AgentOptions& options);

} // namespace orbitmesh::python
