// What the embedded STUN server needs from om_server_options, copied into owned values.
#pragma once

#include "turn/turn_config.hpp"

#include <string>

namespace om::server {

struct StunConfig {
    std::string bind = "0.0.0.0"; // A1; a wildcard only without alt_address
    int port = 3478;              // P1; 0 = STUN off, -1 = a free port
    std::string alt_address;      // A2 (RFC 5780 §6); empty = none
    int alt_port = 0;             // P2; 0 = none, -1 = a free port
    int rate_limit = 100;         // Binding requests per second per source IP (burst 2x); 0 = off
    int threads = 0;              // receive threads on (A1,P1) with SO_REUSEPORT; 0 = one per core
    TurnConfig turn;              // the embedded TURN relay on (A1,P1), when enabled
    bool enabled() const { return port != 0; }
};

} // namespace om::server
