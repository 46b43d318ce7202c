#include "stun/rate_limiter.hpp"

#include <algorithm>
#include <cstring>
#include <random>

namespace om::server {
namespace {

constexpr uint64_t kMicro = 1'000'000; // one token

// splitmix64's finaliser: spreads the bits of a word.
uint64_t mix(uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

} // namespace

RateLimiter::RateLimiter(uint32_t rate, size_t sets) : rate_(rate), capacity_(2ULL * rate * kMicro) {
    if (rate == 0) return;
    size_t n = 1;
    while (n < sets) n <<= 1;
    set_mask_ = n - 1;
    entries_.resize(n * kWays);
    // A secret seed, so a sender cannot pick addresses that collide in one set on purpose.
    seed_ = (uint64_t{std::random_device{}()} << 32) | std::random_device{}();
}

uint64_t RateLimiter::hash(const om_address& source) const {
    uint64_t words[2] = {};
    std::memcpy(words, source.bytes, source.family == 4 ? 4 : 16);
    return mix(mix(words[0] ^ seed_) ^ words[1] ^ source.family);
}

bool RateLimiter::allow(const om_address& source, uint64_t now_us) {
    if (rate_ == 0) return true;
    const size_t ip_len = source.family == 4 ? 4 : 16;
    Entry* set = &entries_[(hash(source) & set_mask_) * kWays];
    Entry* entry = nullptr;
    Entry* victim = set;
    for (int i = 0; i < kWays; ++i) {
        Entry& e = set[i];
        if (e.family == source.family && std::memcmp(e.ip.data(), source.bytes, ip_len) == 0) {
            entry = &e;
            break;
        }
        if (e.family == 0 || (victim->family != 0 && e.last_us < victim->last_us)) victim = &e;
    }
    if (!entry) {
        entry = victim;
        entry->family = static_cast<uint8_t>(source.family);
        entry->ip = {};
        std::memcpy(entry->ip.data(), source.bytes, ip_len);
        entry->micro_tokens = capacity_;
        entry->last_us = now_us;
    }
    if (now_us > entry->last_us) {
        uint64_t refill = (now_us - entry->last_us) * rate_; // micro-tokens: us x tokens/s
        entry->micro_tokens = std::min(capacity_, entry->micro_tokens + refill);
        entry->last_us = now_us;
    }
    if (entry->micro_tokens < kMicro) return false;
    entry->micro_tokens -= kMicro;
    return true;
}

} // namespace om::server
