// A token bucket over bytes: `rate` bytes per second, bursts up to one second's worth.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>

namespace om::server {

class TokenBucket {
public:
    using Clock = std::chrono::steady_clock;

    explicit TokenBucket(uint64_t bytes_per_s = 0)
        : rate_(bytes_per_s), tokens_(static_cast<double>(bytes_per_s)), last_(Clock::now()) {}

    // Takes n bytes if the bucket holds them; a rate of 0 means unlimited.
    bool take(uint64_t n, Clock::time_point now = Clock::now()) {
        if (rate_ == 0) return true;
        double elapsed = std::chrono::duration<double>(now - last_).count();
        last_ = now;
        tokens_ = std::min(static_cast<double>(rate_), tokens_ + elapsed * static_cast<double>(rate_));
        if (tokens_ < static_cast<double>(n)) return false;
        tokens_ -= static_cast<double>(n);
        return true;
    }

private:
    uint64_t rate_;
    double tokens_;
    Clock::time_point last_;
};

} // namespace om::server
