// parse(): the §5 header and §14 attribute framing checks, FINGERPRINT verification (§14.7)
// and the §14.5/§14.6 "attributes after the integrity are ignored" rule. No heap allocation
// unless `why` is given and the message is refused.
#include "proto/stun.h"
#include "proto/stun_wire.h"

#include <algorithm>
#include <cstdio>
#include <string>

namespace om::proto::stun {
namespace {

template <class Text>
bool fail(std::string* why, Text&& text)
{
    wire::explain(why, std::forward<Text>(text));
    return false;
}

std::string hex32(uint32_t value)
{
    char text[12];
    std::snprintf(text, sizeof text, "0x%08X", value);
    return text;
}

// Which attributes still count after the integrity attributes seen so far (§14.5, §14.6).
bool counts_after_integrity(uint16_t type, const Message& m)
{
    if (m.integrity_sha256_offset != 0) return type == attr::Fingerprint;
    if (m.integrity_offset != 0) return type == attr::Fingerprint || type == attr::MessageIntegritySha256;
    return true;
}

// The checks specific to the integrity attributes and FINGERPRINT; records where they sit.
bool check_special(const Attribute& a, size_t next, Message& m, std::string* why)
{
    const size_t len = a.value.size();
    switch (a.type) {
    case attr::Fingerprint: {
        if (next != m.bytes.size()) return fail(why, "FINGERPRINT is not the last attribute (§14.7)");
        if (len != 4) return fail(why, [&] { return std::string("FINGERPRINT length " + std::to_string(len) + ", expected 4 (§14.7)"); });
        const uint32_t carried = wire::get32(a.value.data());
        const uint32_t computed = fingerprint_of(m.bytes.first(a.offset));
        if (carried != computed)
            return fail(why, [&] { return std::string("FINGERPRINT mismatch: carried " + hex32(carried) + ", computed " + hex32(computed) +
                                 " (§14.7)"); });
        m.has_fingerprint = true;
        return true;
    }
    case attr::MessageIntegrity:
        if (len != wire::kSha1Size)
            return fail(why, [&] { return std::string("MESSAGE-INTEGRITY length " + std::to_string(len) + ", expected 20 (§14.5)"); });
        m.integrity_offset = a.offset;
        return true;
    case attr::MessageIntegritySha256:
        if (len < wire::kMinSha256Size || len > wire::kSha256Size || len % 4 != 0)
            return fail(why, [&] { return std::string("MESSAGE-INTEGRITY-SHA256 length " + std::to_string(len) +
                                 ", expected 16..32 in steps of 4 (§14.6)"); });
        m.integrity_sha256_offset = a.offset;
        return true;
    default: return true;
    }
}

bool parse_header(std::span<const uint8_t> bytes, Message& out, std::string* why, ParseOptions options)
{
    if (bytes.size() < kHeaderSize)
        return fail(why, [&] { return std::string("shorter than the 20-byte header (" + std::to_string(bytes.size()) + " bytes)"); });
    if (bytes.size() > kMaxMessageSize)
        return fail(why, [&] { return std::string("longer than a STUN message can be (" + std::to_string(bytes.size()) + " bytes)"); });
    const uint16_t type = wire::get16(bytes.data());
    if ((type & 0xC000) != 0) return fail(why, "the two most significant bits of the header are not zero (§5)");
    const uint16_t length = wire::get16(bytes.data() + wire::kLengthOffset);
    if (length % 4 != 0) return fail(why, [&] { return std::string("message length " + std::to_string(length) + " is not a multiple of 4 (§5)"); });
    if (kHeaderSize + length != bytes.size())
        return fail(why, [&] { return std::string("message length field says " + std::to_string(length) + " bytes but " +
                             std::to_string(bytes.size() - kHeaderSize) + " follow the header (§5)"); });
    const uint32_t cookie = wire::get32(bytes.data() + wire::kCookieOffset);
    out.classic = cookie != kMagicCookie;
    if (out.classic && !options.allow_classic)
        return fail(why, [&] { return std::string("magic cookie is " + hex32(cookie) + ", not 0x2112A442 (§5; an RFC 3489 message?)"); });
    out.classic_cookie = out.classic ? cookie : 0;
    out.method = wire::method_of(type);
    out.cls = wire::class_of(type);
    std::copy_n(bytes.data() + 8, out.transaction_id.size(), out.transaction_id.begin());
    out.bytes = bytes;
    return true;
}

}  // namespace

const Attribute* Message::find(uint16_t type) const
{
    for (const auto& a : all())
        if (a.type == type) return &a;
    return nullptr;
}

bool looks_like_stun(std::span<const uint8_t> bytes, bool allow_classic)
{
    if (bytes.size() < kHeaderSize || bytes[0] > 3) return false;  // RFC 7983 §7: first byte 0..3
    const uint16_t length = wire::get16(bytes.data() + wire::kLengthOffset);
    if (length % 4 != 0 || kHeaderSize + length != bytes.size()) return false;
    return allow_classic || wire::get32(bytes.data() + wire::kCookieOffset) == kMagicCookie;
}

bool parse(std::span<const uint8_t> bytes, Message& out, std::string* why, ParseOptions options)
{
    out = Message{};
    if (!parse_header(bytes, out, why, options)) return false;

    size_t tlvs = 0;
    size_t pos = kHeaderSize;
    while (pos < bytes.size()) {
        if (++tlvs > kMaxAttributes)
            return fail(why, [&] { return std::string("more than " + std::to_string(kMaxAttributes) + " attributes"); });
        // The body length is a multiple of 4 and so is pos: a 4-byte TLV header always fits.
        const uint16_t type = wire::get16(bytes.data() + pos);
        const size_t len = wire::get16(bytes.data() + pos + 2);
        const size_t next = pos + wire::kAttributeHeaderSize + wire::padded(len);
        if (next > bytes.size())
            return fail(why, [&] { return std::string(attr::name(type) + " at offset " + std::to_string(pos) + ": length " +
                                 std::to_string(len) + " overruns the message (§14)"); });
        // §14: the padding bytes' content is ignored.
        const Attribute a{type, static_cast<uint32_t>(pos), bytes.subspan(pos + wire::kAttributeHeaderSize, len)};
        if (counts_after_integrity(type, out)) {
            if (!check_special(a, next, out, why)) return false;
            out.attributes[out.attribute_count++] = a;
        }
        pos = next;
    }
    return true;
}

}  // namespace om::proto::stun
