// Typed readers for the non-address attributes (§14.3-§14.14, RFC 5780 §7) and the §6.3.1
// list of comprehension-required attributes nobody here understands.
#include "proto/stun.h"
#include "proto/stun_wire.h"

#include <Poco/UTF8Encoding.h>

#include <algorithm>

namespace om::proto::stun {
namespace {

template <typename T, class Text>
std::optional<T> fail(std::string* why, Text&& text)
{
    wire::explain(why, std::forward<Text>(text));
    return std::nullopt;
}

std::string size_text(const Attribute& a)
{
    return attr::name(a.type) + " is " + std::to_string(a.value.size()) + " bytes";
}

struct TextLimits {
    size_t max_bytes;
    size_t max_chars;
};

// §14.3 USERNAME: RFC 5389 allowed fewer than 513 bytes (RFC 8489 says 509; old clients are
// accepted). §14.8-§14.10, §14.14: fewer than 128 characters, at most 763 bytes. §14.16: < 255
// bytes. Other types: only the message bounds them.
TextLimits limits_of(uint16_t type)
{
    constexpr size_t kUnbounded = kMaxMessageSize;
    switch (type) {
    case attr::Username: return {512, kUnbounded};
    case attr::Realm:
    case attr::Nonce:
    case attr::Software:
    case attr::ErrorCode: return {763, 127};
    case attr::AlternateDomain: return {254, kUnbounded};
    default: return {kUnbounded, kUnbounded};
    }
}

// Checks UTF-8 (RFC 3629, via Poco) and the §14 length limits of `type`; counts characters.
bool check_text(uint16_t type, std::span<const uint8_t> text, std::string* why)
{
    static const Poco::UTF8Encoding utf8;
    const TextLimits limits = limits_of(type);
    if (text.size() > limits.max_bytes) {
        if (why)
            *why = attr::name(type) + " text is " + std::to_string(text.size()) + " bytes, more than " +
                   std::to_string(limits.max_bytes);
        return false;
    }
    size_t chars = 0;
    for (size_t pos = 0; pos < text.size(); ++chars) {
        const auto* p = text.data() + pos;
        const int remaining = static_cast<int>(text.size() - pos);
        const int n = utf8.sequenceLength(p, remaining);
        if (n <= 0 || n > remaining || !Poco::UTF8Encoding::isLegal(p, n)) {
            if (why) *why = attr::name(type) + " text is not valid UTF-8 at byte " + std::to_string(pos);
            return false;
        }
        pos += static_cast<size_t>(n);
    }
    if (chars > limits.max_chars) {
        if (why)
            *why = attr::name(type) + " text is " + std::to_string(chars) + " characters, more than " +
                   std::to_string(limits.max_chars);
        return false;
    }
    return true;
}

std::string_view as_text(std::span<const uint8_t> bytes)
{
    return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

}  // namespace

std::optional<uint32_t> read_u32(const Attribute& a, std::string* why)
{
    if (a.value.size() != 4) return fail<uint32_t>(why, [&] { return std::string(size_text(a) + ", expected 4"); });
    return wire::get32(a.value.data());
}

// RFC 5780 §7.5: a 16-bit port followed by two bytes of padding.
std::optional<uint16_t> read_response_port(const Attribute& a, std::string* why)
{
    if (a.value.size() != 4) return fail<uint16_t>(why, [&] { return std::string(size_text(a) + ", expected 4 (RFC 5780 §7.5)"); });
    return wire::get16(a.value.data());
}

// §14.8: 21 reserved bits (ignored), a 3-bit class 3..6, a number 0..99, a UTF-8 reason.
std::optional<ErrorCodeValue> read_error_code(const Attribute& a, std::string* why)
{
    const auto v = a.value;
    if (v.size() < 4) return fail<ErrorCodeValue>(why, [&] { return std::string(size_text(a) + ", shorter than 4 (§14.8)"); });
    const unsigned cls = v[2] & 0x07;
    const unsigned number = v[3];
    if (cls < 3 || cls > 6)
        return fail<ErrorCodeValue>(why, [&] { return std::string("ERROR-CODE class " + std::to_string(cls) + " is not 3..6 (§14.8)"); });
    if (number > 99)
        return fail<ErrorCodeValue>(why, [&] { return std::string("ERROR-CODE number " + std::to_string(number) + " is not 0..99 (§14.8)"); });
    const auto reason = v.subspan(4);
    if (!check_text(attr::ErrorCode, reason, why)) return std::nullopt;
    return ErrorCodeValue{static_cast<uint16_t>(cls * 100 + number), std::string(as_text(reason))};
}

// §14.13: a list of 16-bit attribute types.
std::optional<std::vector<uint16_t>> read_unknown_attributes(const Attribute& a, std::string* why)
{
    if (a.value.size() % 2 != 0)
        return fail<std::vector<uint16_t>>(why, [&] { return size_text(a) + ", not a whole number of 16-bit types (§14.13)"; });
    std::vector<uint16_t> types;
    types.reserve(a.value.size() / 2);
    for (size_t i = 0; i < a.value.size(); i += 2) types.push_back(wire::get16(a.value.data() + i));
    return types;
}

std::optional<std::string_view> read_text(const Attribute& a, std::string* why)
{
    if (!check_text(a.type, a.value, why)) return std::nullopt;
    return as_text(a.value);
}

std::vector<uint16_t> unknown_required(const Message& m, std::span<const uint16_t> known)
{
    std::vector<uint16_t> unknown;
    for (const auto& a : m.all()) {
        if (!attr::comprehension_required(a.type) || wire::known_by_default(a.type)) continue;
        if (std::find(known.begin(), known.end(), a.type) != known.end()) continue;
        if (std::find(unknown.begin(), unknown.end(), a.type) == unknown.end()) unknown.push_back(a.type);
    }
    return unknown;
}

}  // namespace om::proto::stun
