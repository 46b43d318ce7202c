// Random bytes from the kernel's CSPRNG (getrandom(2)): STUN transaction ids, ICE credentials and
// tie-breakers. One syscall per call, no per-call device open (std::random_device costs ~26 µs
// to construct on these machines, more than a whole loopback connectivity check).
#pragma once

#include <cstdint>
#include <span>

namespace om::proto {

// Fills out; throws std::system_error if the kernel refuses.
void random_bytes(std::span<uint8_t> out);
uint64_t random_u64();

} // namespace om::proto
