// Per-source-IP token buckets (`rate` requests/s, bursting to 2 x rate) in a fixed table: memory
// is bounded whatever the number of sources. The table is 4-way set-associative; a new source in
// a full set takes the place of the set's least recently seen one (which then starts again with a
// full bucket: spoofed floods can make the limit more lenient, never stricter). One limiter per
// receive thread, no locks; the kernel steers a source IP to one thread (reuseport_steering).
#pragma once

#include <orbitmesh/plugin.h>

#include <array>
#include <cstdint>
#include <vector>

namespace om::server {

class RateLimiter {
public:
    // rate 0: every request is allowed and no table is kept. sets: rounded up to a power of two.
    explicit RateLimiter(uint32_t rate, size_t sets = 2048);

    // Takes one token from the source's bucket; false when it is empty. now_us: a monotonic clock.
    bool allow(const om_address& source, uint64_t now_us);

private:
    static constexpr int kWays = 4;
    struct Entry {
        std::array<uint8_t, 16> ip{};
        uint8_t family = 0; // 0: free
        uint64_t micro_tokens = 0;
        uint64_t last_us = 0;
    };
    uint64_t hash(const om_address& source) const;

    uint64_t rate_ = 0;
    uint64_t capacity_ = 0; // micro-tokens
    uint64_t seed_ = 0;
    size_t set_mask_ = 0;
    std::vector<Entry> entries_;
};

} // namespace om::server
