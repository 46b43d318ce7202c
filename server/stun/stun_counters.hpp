// The STUN server's counters (docs/server.md). Each receive thread tallies into plain integers
// and adds them to the shared atomics once per batch, before the batch's answers are sent (so a
// client that got its answer reads a counter that already includes it).
#pragma once

#include "hub/server_metrics.hpp"

#include <array>
#include <atomic>
#include <cstdint>
#include <string_view>

namespace om::server {

enum class StunCounter : uint8_t {
    Requests,       // Binding requests (RFC 8489 and classic) that passed the rate limit
    Responses,      // answers sent, success and error
    Malformed,      // dropped: not a valid STUN message
    RateLimited,    // dropped: the source is over stun_rate_limit
    Errors,         // error responses (400, 420)
    ChangeRequests, // requests with a CHANGE-REQUEST flag set (RFC 5780)
    Classic,        // RFC 3489 requests (no magic cookie)
    Indications,    // Binding indications (never answered)
    Unsupported,    // dropped: other methods, response classes, or an answer over budget
    SendErrors,     // answers the kernel refused to send
    Count
};

inline constexpr std::array<std::string_view, static_cast<size_t>(StunCounter::Count)> kStunCounterNames = {
    "stun.requests",    "stun.responses", "stun.malformed",   "stun.rate_limited",  "stun.errors",
    "stun.change_requests", "stun.classic", "stun.indications", "stun.unsupported", "stun.send_errors",
};

// The shared atomics, looked up once (ServerMetrics keeps them at fixed addresses).
class StunCounters {
public:
    explicit StunCounters(ServerMetrics& metrics) {
        for (size_t i = 0; i < shared_.size(); ++i) shared_[i] = &metrics.counter(kStunCounterNames[i]);
    }
    std::atomic<uint64_t>& shared(StunCounter c) { return *shared_[static_cast<size_t>(c)]; }

private:
    std::array<std::atomic<uint64_t>*, static_cast<size_t>(StunCounter::Count)> shared_{};
};

class StunTally {
public:
    void add(StunCounter c, uint64_t n = 1) { local_[static_cast<size_t>(c)] += n; }
    void flush_into(StunCounters& counters) {
        for (size_t i = 0; i < local_.size(); ++i) {
            if (local_[i] == 0) continue;
            counters.shared(static_cast<StunCounter>(i)).fetch_add(local_[i], std::memory_order_relaxed);
            local_[i] = 0;
        }
    }

private:
    std::array<uint64_t, static_cast<size_t>(StunCounter::Count)> local_{};
};

} // namespace om::server
