// What the embedded TURN relay needs from om_server_options, copied into owned values.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace om::server {

struct TurnConfig {
    bool enabled = false;
    std::string realm = "orbitmesh";
    std::vector<std::pair<std::string, std::string>> users;  // static long-term credentials
    std::string secret;              // coturn's static-auth-secret scheme (time-limited users)
    int min_port = 49152, max_port = 65535;  // relayed ports
    bool allow_loopback_peers = false;       // tests only: also private ranges
    uint32_t max_allocations = 10000;
    uint32_t user_quota = 100;
    uint64_t bytes_per_s = 0;        // per allocation and direction, 0 = no limit
    uint32_t max_lifetime_s = 3600;  // RFC 8656 §7.2
    uint32_t max_permissions = 64;   // per allocation (peer IPs)
    uint32_t max_channels = 64;      // per allocation
};

} // namespace om::server
