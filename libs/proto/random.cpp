#include "proto/random.h"

#include <sys/random.h>

#include <cerrno>
#include <system_error>

namespace om::proto {

// Requests of up to 256 bytes are never cut short once the CSPRNG is seeded, but a signal may
// interrupt the wait for seeding at boot.
void random_bytes(std::span<uint8_t> out)
{
    size_t filled = 0;
    while (filled < out.size()) {
        const ssize_t n = getrandom(out.data() + filled, out.size() - filled, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw std::system_error(errno, std::generic_category(), "getrandom");
        }
        filled += static_cast<size_t>(n);
    }
}

uint64_t random_u64()
{
    uint8_t bytes[8];
    random_bytes(bytes);
    uint64_t value = 0;
    for (uint8_t b : bytes) value = (value << 8) | b;
    return value;
}

} // namespace om::proto
