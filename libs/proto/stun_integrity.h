// Internal to the STUN codec: the §14.5/§14.6 HMAC over a message prefix whose header length
// field is replaced by `length_field`, shared by the Builder and verify_integrity*().
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace om::proto::stun::detail {

enum class Hmac { Sha1, Sha256 };

// Writes the full HMAC (20 or 32 bytes) of prefix[0..2) + length_field + prefix[4..) to out.
void integrity_hmac(Hmac algorithm, std::span<const uint8_t> key, std::span<const uint8_t> prefix,
                    uint16_t length_field, uint8_t* out);

}  // namespace om::proto::stun::detail
