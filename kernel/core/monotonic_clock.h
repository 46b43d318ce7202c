// Microseconds of the monotonic clock, header-only (the server's STUN and TURN threads and the
// fuzz targets that compile their sources alone use it without the event loop).
#pragma once

#include <chrono>
#include <cstdint>

namespace om {

inline uint64_t monotonic_us()
{
    return static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now().time_since_epoch())
            .count());
}

} // namespace om
