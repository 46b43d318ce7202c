// Builder: writes a message into the caller's buffer attribute by attribute, keeping the
// header length current (§5) and the §14.5-§14.7 order. No heap allocation except inside the
// HMAC engines of add_message_integrity*().
#include "proto/stun.h"
#include "proto/stun_integrity.h"
#include "proto/stun_wire.h"

#include <algorithm>
#include <cstring>

namespace om::proto::stun {
namespace {

constexpr size_t kMaxBodySize = 0xFFFF;  // §5: 16-bit length

void write_header(std::span<uint8_t> out, uint16_t method, Class cls, uint32_t cookie, const TransactionId& id)
{
    wire::put16(out.data(), wire::encode_type(method, cls));
    wire::put16(out.data() + wire::kLengthOffset, 0);
    wire::put32(out.data() + wire::kCookieOffset, cookie);
    std::copy(id.begin(), id.end(), out.begin() + 8);
}

// §14.5-§14.7: after MESSAGE-INTEGRITY only MESSAGE-INTEGRITY-SHA256 and FINGERPRINT may
// follow, after MESSAGE-INTEGRITY-SHA256 only FINGERPRINT, after FINGERPRINT nothing.
bool allowed_after(uint16_t type, bool after_integrity, bool after_integrity_sha256)
{
    if (after_integrity_sha256) return type == attr::Fingerprint;
    if (after_integrity) return type == attr::Fingerprint || type == attr::MessageIntegritySha256;
    return true;
}

}  // namespace

Builder::Builder(std::span<uint8_t> out, uint16_t method, Class cls, const TransactionId& id)
    : out_(out)
{
    if (out.size() < kHeaderSize || method > wire::kMaxMethod) {
        failed_ = true;
        return;
    }
    write_header(out, method, cls, cookie_, id);
    size_ = kHeaderSize;
}

Builder Builder::classic(std::span<uint8_t> out, uint16_t method, Class cls, uint32_t classic_cookie,
                         const TransactionId& id)
{
    Builder b(out, method, cls, id);
    if (b.failed_) return b;
    b.cookie_ = classic_cookie;
    wire::put32(out.data() + wire::kCookieOffset, classic_cookie);
    return b;
}

void Builder::set_length(size_t body_len) { wire::put16(out_.data() + wire::kLengthOffset, static_cast<uint16_t>(body_len)); }

uint8_t* Builder::reserve(uint16_t type, size_t value_len)
{
    const size_t total = wire::kAttributeHeaderSize + wire::padded(value_len);
    if (failed_ || sealed_ || !allowed_after(type, after_integrity_, after_integrity_sha256_) ||
        value_len > 0xFFFF || total > out_.size() - size_ || size_ + total - kHeaderSize > kMaxBodySize) {
        failed_ = true;
        return nullptr;
    }
    uint8_t* at = out_.data() + size_;
    wire::put16(at, type);
    wire::put16(at + 2, static_cast<uint16_t>(value_len));
    std::fill(at + wire::kAttributeHeaderSize + value_len, at + total, padding_byte_);
    size_ += total;
    set_length(size_ - kHeaderSize);
    if (type == attr::MessageIntegrity) after_integrity_ = true;
    if (type == attr::MessageIntegritySha256) after_integrity_sha256_ = true;
    if (type == attr::Fingerprint) sealed_ = true;
    return at + wire::kAttributeHeaderSize;
}

bool Builder::add_bytes(uint16_t type, std::span<const uint8_t> value)
{
    uint8_t* at = reserve(type, value.size());
    if (!at) return false;
    if (!value.empty()) std::memcpy(at, value.data(), value.size());
    return true;
}

bool Builder::add_text(uint16_t type, std::string_view text)
{
    return add_bytes(type, {reinterpret_cast<const uint8_t*>(text.data()), text.size()});
}

bool Builder::add_u32(uint16_t type, uint32_t value)
{
    uint8_t* at = reserve(type, 4);
    if (at) wire::put32(at, value);
    return at != nullptr;
}

bool Builder::add_address(uint16_t type, const om_address& address)
{
    const size_t len = wire::address_value_size(address);
    if (len == 0) {
        failed_ = true;
        return false;
    }
    uint8_t* at = reserve(type, len);
    if (at) wire::encode_address(at, address);
    return at != nullptr;
}

bool Builder::add_xor_address(uint16_t type, const om_address& address)
{
    om_address xored = address;
    if (!failed_ && xored.family != 0) wire::xor_address(xored, out_.first(kHeaderSize));
    return add_address(type, xored);
}

bool Builder::add_error_code(uint16_t code, std::string_view reason)
{
    if (code < 300 || code > 699) {  // §14.8: class 3..6
        failed_ = true;
        return false;
    }
    uint8_t* at = reserve(attr::ErrorCode, 4 + reason.size());
    if (!at) return false;
    at[0] = 0;
    at[1] = 0;
    at[2] = static_cast<uint8_t>(code / 100);
    at[3] = static_cast<uint8_t>(code % 100);
    if (!reason.empty()) std::memcpy(at + 4, reason.data(), reason.size());
    return true;
}

bool Builder::add_unknown_attributes(std::span<const uint16_t> types)
{
    uint8_t* at = reserve(attr::UnknownAttributes, types.size() * 2);
    if (!at) return false;
    for (size_t i = 0; i < types.size(); ++i) wire::put16(at + 2 * i, types[i]);
    return true;
}

bool Builder::add_change_request(bool change_ip, bool change_port)
{
    return add_u32(attr::ChangeRequest, (change_ip ? kChangeIp : 0) | (change_port ? kChangePort : 0));
}

bool Builder::add_response_port(uint16_t port)
{
    return add_u32(attr::ResponsePort, uint32_t{port} << 16);  // RFC 5780 §7.5: port, 2 bytes padding
}

bool Builder::add_padding(size_t bytes)
{
    uint8_t* at = reserve(attr::Padding, bytes);
    if (at) std::memset(at, 0, bytes);
    return at != nullptr;
}

// §14.5/§14.6: the header length already counts the integrity attribute when the HMAC is taken
// over everything before it.
bool Builder::add_message_integrity(std::span<const uint8_t> key)
{
    const size_t offset = size_;
    uint8_t* at = reserve(attr::MessageIntegrity, wire::kSha1Size);
    if (!at) return false;
    detail::integrity_hmac(detail::Hmac::Sha1, key, out_.first(offset), static_cast<uint16_t>(size_ - kHeaderSize), at);
    return true;
}

bool Builder::add_message_integrity_sha256(std::span<const uint8_t> key)
{
    const size_t offset = size_;
    uint8_t* at = reserve(attr::MessageIntegritySha256, wire::kSha256Size);
    if (!at) return false;
    detail::integrity_hmac(detail::Hmac::Sha256, key, out_.first(offset), static_cast<uint16_t>(size_ - kHeaderSize), at);
    return true;
}

// §14.7: CRC-32 of everything before FINGERPRINT, the header length already counting it.
bool Builder::add_fingerprint()
{
    const size_t offset = size_;
    uint8_t* at = reserve(attr::Fingerprint, 4);
    if (!at) return false;
    wire::put32(at, fingerprint_of(out_.first(offset)));
    return true;
}

}  // namespace om::proto::stun
