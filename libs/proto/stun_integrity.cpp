// §14.5 MESSAGE-INTEGRITY (HMAC-SHA1), §14.6 MESSAGE-INTEGRITY-SHA256, §14.7 FINGERPRINT (CRC-32)
// and the §9.2.2 long-term key (MD5), all computed by Poco.
#include "proto/stun.h"
#include "proto/stun_integrity.h"
#include "proto/stun_wire.h"

#include <Poco/Checksum.h>
#include <Poco/HMACEngine.h>
#include <Poco/MD5Engine.h>
#include <Poco/SHA1Engine.h>
#include <Poco/SHA2Engine.h>

#include <algorithm>

namespace om::proto::stun {
namespace {

// Poco's HMACEngine wants BLOCK_SIZE/DIGEST_SIZE, which SHA2Engine (1.11) does not declare.
class Sha256Engine : public Poco::SHA2Engine {
public:
    enum { BLOCK_SIZE = 64, DIGEST_SIZE = 32 };
    Sha256Engine() : Poco::SHA2Engine(SHA_256) {}
};

template <typename Engine>
void hmac(std::span<const uint8_t> key, std::span<const uint8_t> prefix, uint16_t length_field, uint8_t* out)
{
    Poco::HMACEngine<Engine> engine(reinterpret_cast<const char*>(key.data()), key.size());
    uint8_t length[2];
    wire::put16(length, length_field);
    engine.update(prefix.data(), wire::kLengthOffset);
    engine.update(length, sizeof length);
    engine.update(prefix.data() + wire::kCookieOffset, prefix.size() - wire::kCookieOffset);
    const auto& digest = engine.digest();
    std::copy(digest.begin(), digest.end(), out);
}

// §14.5/§14.6: the HMAC covers the message up to the attribute, with the header length
// pointing at the attribute's end; compares the first `carried` bytes (SHA-256 may be truncated).
bool verify(detail::Hmac algorithm, const Message& m, uint32_t offset, std::span<const uint8_t> key)
{
    if (offset == 0 || offset + wire::kAttributeHeaderSize > m.bytes.size()) return false;
    const size_t carried = wire::get16(m.bytes.data() + offset + 2);
    if (offset + wire::kAttributeHeaderSize + carried > m.bytes.size()) return false;
    const size_t full = algorithm == detail::Hmac::Sha1 ? wire::kSha1Size : wire::kSha256Size;
    if (carried > full || carried == 0) return false;
    uint8_t computed[wire::kSha256Size];
    const auto length_field = static_cast<uint16_t>(offset + wire::kAttributeHeaderSize + wire::padded(carried) - kHeaderSize);
    detail::integrity_hmac(algorithm, key, m.bytes.first(offset), length_field, computed);
    // Constant time: an attacker learns nothing from how long the comparison took.
    uint8_t difference = 0;
    const uint8_t* value = m.bytes.data() + offset + wire::kAttributeHeaderSize;
    for (size_t i = 0; i < carried; ++i) difference |= static_cast<uint8_t>(computed[i] ^ value[i]);
    return difference == 0;
}

}  // namespace

void detail::integrity_hmac(Hmac algorithm, std::span<const uint8_t> key, std::span<const uint8_t> prefix,
                            uint16_t length_field, uint8_t* out)
{
    if (algorithm == Hmac::Sha1)
        hmac<Poco::SHA1Engine>(key, prefix, length_field, out);
    else
        hmac<Sha256Engine>(key, prefix, length_field, out);
}

bool verify_integrity(const Message& m, std::span<const uint8_t> key)
{
    return verify(detail::Hmac::Sha1, m, m.integrity_offset, key);
}

bool verify_integrity_sha256(const Message& m, std::span<const uint8_t> key)
{
    return verify(detail::Hmac::Sha256, m, m.integrity_sha256_offset, key);
}

uint32_t fingerprint_of(std::span<const uint8_t> message_prefix)
{
    Poco::Checksum crc(Poco::Checksum::TYPE_CRC32);
    crc.update(reinterpret_cast<const char*>(message_prefix.data()), static_cast<unsigned>(message_prefix.size()));
    return crc.checksum() ^ kFingerprintXor;
}

std::vector<uint8_t> long_term_key(std::string_view username, std::string_view realm, std::string_view password)
{
    Poco::MD5Engine md5;
    md5.update(username.data(), username.size());
    md5.update(':');
    md5.update(realm.data(), realm.size());
    md5.update(':');
    md5.update(password.data(), password.size());
    const auto& digest = md5.digest();
    return {digest.begin(), digest.end()};
}

}  // namespace om::proto::stun
