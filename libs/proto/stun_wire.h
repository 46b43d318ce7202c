// Internal to the STUN codec: big-endian fields, the §5 message-type interleave and the §14
// padding rule, shared by the parser, the typed readers and the Builder.
#pragma once

#include "proto/stun.h"

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <type_traits>
#include <utility>

namespace om::proto::stun::wire {

// Sets *why to text: a string, or a callable returning one, which runs only when the caller
// asked why. A flood of malformed datagrams then costs no allocation (the server passes no why).
template <class Text>
void explain(std::string* why, Text&& text)
{
    if (!why) return;
    if constexpr (std::is_invocable_v<Text>) *why = text();
    else *why = std::forward<Text>(text);
}

inline uint16_t get16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
inline uint32_t get32(const uint8_t* p)
{
    return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}
inline void put16(uint8_t* p, uint16_t v)
{
    p[0] = static_cast<uint8_t>(v >> 8);
    p[1] = static_cast<uint8_t>(v);
}
inline void put32(uint8_t* p, uint32_t v)
{
    put16(p, static_cast<uint16_t>(v >> 16));
    put16(p + 2, static_cast<uint16_t>(v));
}

// §14: values are padded to a multiple of 4 bytes.
inline constexpr size_t padded(size_t n) { return (n + 3) & ~size_t{3}; }

inline constexpr size_t kAttributeHeaderSize = 4;
inline constexpr uint16_t kMaxMethod = 0x0FFF;  // §5: 12 bits
inline constexpr size_t kSha1Size = 20;          // §14.5
inline constexpr size_t kSha256Size = 32;        // §14.6
inline constexpr size_t kMinSha256Size = 16;     // §14.6: may be truncated to 16 bytes
inline constexpr size_t kCookieOffset = 4;       // §5; also where the §14.2 XOR key starts
inline constexpr size_t kLengthOffset = 2;

// §5 figure 3: M11..M7 C1 M6..M4 C0 M3..M0.
inline constexpr uint16_t encode_type(uint16_t method, Class cls)
{
    const auto c = static_cast<uint16_t>(cls);
    return static_cast<uint16_t>((method & 0x000F) | ((method & 0x0070) << 1) | ((method & 0x0F80) << 2) |
                                 ((c & 0x1) << 4) | ((c & 0x2) << 7));
}
inline constexpr uint16_t method_of(uint16_t type)
{
    return static_cast<uint16_t>((type & 0x000F) | ((type & 0x00E0) >> 1) | ((type & 0x3E00) >> 2));
}
// §14.1/§14.2 address values (stun_address.cpp). address_value_size() is 0 for a family other
// than 4 and 6; encode_address() writes that many bytes.
size_t address_value_size(const om_address& address);
void encode_address(uint8_t* out, const om_address& address);
// XORs port and address with header bytes 4..19 (§14.2); the same call encodes and decodes.
void xor_address(om_address& address, std::span<const uint8_t> header);

// Whether unknown_required() counts the type as understood (stun_attribute_table.cpp).
bool known_by_default(uint16_t type);

inline constexpr Class class_of(uint16_t type) { return static_cast<Class>(((type >> 4) & 0x1) | ((type >> 7) & 0x2)); }

}  // namespace om::proto::stun::wire
