// What a reactor tells the layer above (the hub) about its connections. Called on the
// connection's reactor thread; must not block.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>

namespace om::server {

class Connection;

class ConnectionEvents {
public:
    virtual ~ConnectionEvents() = default;
    // One complete WebSocket data message (binary or text).
    virtual void on_message(const std::shared_ptr<Connection>& connection, std::span<const uint8_t> message) = 0;
    // The connection is gone; it accepts no more sends.
    virtual void on_closed(const std::shared_ptr<Connection>& connection) = 0;
    // About twice a second, for deadlines (registration, keep-alive).
    virtual void on_tick(const std::shared_ptr<Connection>& connection, std::chrono::steady_clock::time_point now) = 0;
};

} // namespace om::server
