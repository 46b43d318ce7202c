// What the running server needs from om_server_options, copied into owned C++ values.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace om::server {

struct ServerConfig {
    std::string bind = "0.0.0.0";
    int http_port = 8080; // 0: a free port
    std::string secret;   // HS256 key for agent and admin tokens; empty only with open
    bool open = false;    // accept agents without tokens
    bool replace_existing_id = false;
    size_t max_frame_bytes = 65536;
    uint64_t relay_bytes_per_s = 16u << 20; // per agent, 0 = unlimited
    size_t send_queue_bytes = 1u << 20;     // per connection
    int reactor_threads = 0;                // 0: one per core
    int http_threads = 4;
    std::chrono::milliseconds register_timeout{10000};
    std::chrono::milliseconds keepalive{15000}; // told to agents in "registered"
    std::chrono::milliseconds http_timeout{5000}; // an unfinished HTTP request is dropped after it
    // Time-limited TURN credentials in "registered" (coturn's use-auth-secret scheme).
    std::string turn_secret;            // empty: none handed out
    uint32_t turn_credential_ttl_s = 86400;
    std::string turn_address;           // IP:PORT; the server's own relay when empty (set at start)
    bool turn_relay_enabled = false;
};

} // namespace om::server
