// The address attributes: §14.1 MAPPED-ADDRESS layout (also OTHER-ADDRESS, RESPONSE-ORIGIN,
// ALTERNATE-SERVER and the RFC 3489 ones) and its §14.2 XOR form.
#include "proto/stun.h"
#include "proto/stun_wire.h"

#include <cstring>

namespace om::proto::stun {
namespace {

constexpr uint8_t kFamilyIpv4 = 0x01;  // §14.1
constexpr uint8_t kFamilyIpv6 = 0x02;
constexpr size_t kIpv4ValueSize = 8;
constexpr size_t kIpv6ValueSize = 20;

template <class Text>
std::optional<om_address> fail(std::string* why, Text&& text)
{
    wire::explain(why, std::forward<Text>(text));
    return std::nullopt;
}

// §14.1: reserved byte (ignored on receipt), family, port, address.
std::optional<om_address> decode(const Attribute& a, std::string* why)
{
    const auto v = a.value;
    if (v.size() < 4)
        return fail(why, [&] { return std::string(attr::name(a.type) + " is " + std::to_string(v.size()) + " bytes, too short (§14.1)"); });
    om_address out{};
    size_t expected = 0;
    if (v[1] == kFamilyIpv4) {
        out.family = 4;
        expected = kIpv4ValueSize;
    } else if (v[1] == kFamilyIpv6) {
        out.family = 6;
        expected = kIpv6ValueSize;
    } else {
        return fail(why, [&] { return std::string(attr::name(a.type) + " has address family " + std::to_string(v[1]) +
                             ", expected 1 (IPv4) or 2 (IPv6) (§14.1)"); });
    }
    if (v.size() != expected)
        return fail(why, [&] { return std::string(attr::name(a.type) + " for IPv" + std::to_string(out.family) + " is " +
                             std::to_string(v.size()) + " bytes, expected " + std::to_string(expected) + " (§14.1)"); });
    out.port = wire::get16(v.data() + 2);
    std::memcpy(out.bytes, v.data() + 4, expected - 4);
    return out;
}

}  // namespace

namespace wire {
// §14.2: the port is XORed with the cookie's top 16 bits, the address with the cookie (IPv4)
// or the cookie followed by the transaction id (IPv6): together bytes 4..19 of the header.
// A classic message uses its own first 32 bits in place of the cookie.
void xor_address(om_address& address, std::span<const uint8_t> header)
{
    const uint8_t* key = header.data() + kCookieOffset;
    address.port ^= get16(key);
    const size_t n = address.family == 4 ? 4 : 16;
    for (size_t i = 0; i < n; ++i) address.bytes[i] ^= key[i];
}

void encode_address(uint8_t* out, const om_address& address)
{
    out[0] = 0;
    out[1] = address.family == 4 ? kFamilyIpv4 : kFamilyIpv6;
    put16(out + 2, address.port);
    std::memcpy(out + 4, address.bytes, address.family == 4 ? 4 : 16);
}
size_t address_value_size(const om_address& address)
{
    return address.family == 4 ? kIpv4ValueSize : address.family == 6 ? kIpv6ValueSize : 0;
}
}  // namespace wire

std::optional<om_address> read_address(const Attribute& a, std::string* why) { return decode(a, why); }

std::optional<om_address> read_xor_address(const Attribute& a, const Message& m, std::string* why)
{
    auto out = decode(a, why);
    if (!out) return out;
    if (m.bytes.size() < kHeaderSize) return fail(why, "the message has no header to XOR with (§14.2)");
    wire::xor_address(*out, m.bytes);
    return out;
}

std::optional<om_address> mapped_address(const Message& m, std::string* why)
{
    if (const auto* a = m.find(attr::XorMappedAddress)) return read_xor_address(*a, m, why);
    if (const auto* a = m.find(attr::MappedAddress)) return read_address(*a, why);
    return fail(why, "neither XOR-MAPPED-ADDRESS nor MAPPED-ADDRESS is present");
}

}  // namespace om::proto::stun
