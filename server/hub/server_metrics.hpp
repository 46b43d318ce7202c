// The server's counters, by dotted name ("frames.in.relay", "auth.failures.expired"), and
// their Prometheus text exposition (https://prometheus.io/docs/instrumenting/exposition_formats/).
// Any thread may count; hot paths keep the reference that counter() returns.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace om::server {

class ServerMetrics {
public:
    std::atomic<uint64_t>& counter(std::string_view name);
    void add(std::string_view name, uint64_t n = 1) { counter(name).fetch_add(n, std::memory_order_relaxed); }
    void sub(std::string_view name, uint64_t n = 1) { counter(name).fetch_sub(n, std::memory_order_relaxed); }
    uint64_t get(std::string_view name) const;
    std::vector<std::pair<std::string, uint64_t>> snapshot() const; // sorted by name
    std::string prometheus_text() const;

private:
    mutable std::mutex mutex_;
    std::map<std::string, std::atomic<uint64_t>, std::less<>> values_; // nodes never move
};

// Counter names shared by the hub, the reactors and the HTTP routes.
namespace metric {
inline constexpr std::string_view agents_connected = "agents.connected"; // a gauge
inline constexpr std::string_view connections_open = "connections.open"; // a gauge
inline constexpr std::string_view relay_bytes = "relay.bytes";
inline constexpr std::string_view auth_failures = "auth.failures"; // plus auth.failures.<reason>
inline constexpr std::string_view queue_drops = "queue.drops";
inline constexpr std::string_view rate_limited = "rate_limited";
inline constexpr std::string_view register_timeouts = "register.timeouts";
inline std::string frames_in(std::string_view type) { return "frames.in." + std::string(type); }
inline std::string frames_out(std::string_view type) { return "frames.out." + std::string(type); }
inline std::string errors(std::string_view kind) { return "errors." + std::string(kind); }
} // namespace metric

} // namespace om::server
