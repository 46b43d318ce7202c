// libFuzzer target for the STUN codec (libs/proto/stun*.cpp). For each input it:
//  - parses in both modes: strict success implies classic-mode success, a refusal always says why;
//  - calls every typed reader on every attribute: a value or a reason, never both, never neither;
//  - rebuilds a parsed message with the Builder from its typed values and checks the rebuilt
//    bytes parse to the same values; rebuilds it from raw values and, when the input padded with
//    zeros and had no ignored attributes, checks the bytes are identical;
//  - adds MESSAGE-INTEGRITY, MESSAGE-INTEGRITY-SHA256 and FINGERPRINT and checks they verify.
// A broken invariant prints what broke and calls abort(), which libFuzzer reports as a crash.
// TURN (RFC 8656) on the same bytes: ChannelData framing (both channel ranges, UDP and stream
// forms) written back and read again identically, the stream framing length, PASSWORD-ALGORITHMS
// lists, and the time-limited username's expiry.
// Built with clang -fsanitize=fuzzer by scripts/fuzz, and with g++ into the corpus replay test.
#include "proto/stun.h"
#include "proto/turn.h"

#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace stun = om::proto::stun;
namespace attr = om::proto::stun::attr;

namespace {

const std::array<uint8_t, 8> kKey{'f', 'u', 'z', 'z', '-', 'k', 'e', 'y'};

[[noreturn]] void broken(const char* what, const std::string& detail = {})
{
    std::fprintf(stderr, "stun_fuzz: invariant broken: %s %s\n", what, detail.c_str());
    std::abort();
}

void expect(bool condition, const char* what, const std::string& detail = {})
{
    if (!condition) broken(what, detail);
}

// A typed reader's answer: a value and no reason, or no value and a reason.
template <typename T>
void expect_answer(const std::optional<T>& value, const std::string& why, const char* reader)
{
    expect(value.has_value() == why.empty(), reader, value ? "returned a value and a reason" : "refused without a reason");
}

bool same(const om_address& a, const om_address& b)
{
    return a.family == b.family && a.port == b.port && a.scope_id == b.scope_id &&
           std::memcmp(a.bytes, b.bytes, sizeof a.bytes) == 0;
}

bool same_bytes(std::span<const uint8_t> a, std::span<const uint8_t> b)
{
    return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size()) == 0);
}

void exercise_readers(const stun::Message& m)
{
    size_t previous_end = stun::kHeaderSize;
    for (const auto& a : m.all()) {
        expect(a.offset >= previous_end && a.value.data() == m.bytes.data() + a.offset + 4 &&
                   a.offset + 4 + a.value.size() <= m.bytes.size(),
               "attribute view outside the message", attr::name(a.type));
        previous_end = a.offset + 4 + a.value.size();
        std::string why;
        expect_answer(stun::read_address(a, &why), why, "read_address");
        why.clear();
        expect_answer(stun::read_xor_address(a, m, &why), why, "read_xor_address");
        why.clear();
        expect_answer(stun::read_u32(a, &why), why, "read_u32");
        why.clear();
        expect_answer(stun::read_response_port(a, &why), why, "read_response_port");
        why.clear();
        expect_answer(stun::read_error_code(a, &why), why, "read_error_code");
        why.clear();
        expect_answer(stun::read_unknown_attributes(a, &why), why, "read_unknown_attributes");
        why.clear();
        expect_answer(stun::read_text(a, &why), why, "read_text");
        expect(!attr::name(a.type).empty(), "attribute without a name");
        expect(m.find(a.type) != nullptr, "find() misses a present attribute");
    }
    std::string why;
    expect_answer(stun::mapped_address(m, &why), why, "mapped_address");
    for (uint16_t type : stun::unknown_required(m))
        expect(attr::comprehension_required(type) && m.find(type), "unknown_required lists a wrong type");
    (void)stun::verify_integrity(m, kKey);
    (void)stun::verify_integrity_sha256(m, kKey);
}

stun::Builder builder_like(const stun::Message& m, std::span<uint8_t> out)
{
    return m.classic ? stun::Builder::classic(out, m.method, m.cls, m.classic_cookie, m.transaction_id)
                     : stun::Builder(out, m.method, m.cls, m.transaction_id);
}

// Adds `a` through the Builder call its type has; raw bytes when its value does not read.
bool add_typed(stun::Builder& b, const stun::Attribute& a, const stun::Message& m)
{
    using K = stun::ValueKind;
    switch (attr::value_kind(a.type)) {
    case K::Address:
        if (auto v = stun::read_address(a)) return b.add_address(a.type, *v);
        break;
    case K::XorAddress:
        if (auto v = stun::read_xor_address(a, m)) return b.add_xor_address(a.type, *v);
        break;
    case K::U32:
        if (auto v = stun::read_u32(a)) return b.add_u32(a.type, *v);
        break;
    case K::ResponsePort:
        if (auto v = stun::read_response_port(a)) return b.add_response_port(*v);
        break;
    case K::ErrorCode:
        if (auto v = stun::read_error_code(a)) return b.add_error_code(v->code, v->reason);
        break;
    case K::UnknownList:
        if (auto v = stun::read_unknown_attributes(a)) return b.add_unknown_attributes(*v);
        break;
    case K::Text:
        if (auto v = stun::read_text(a)) return b.add_text(a.type, *v);
        break;
    case K::Fingerprint: return b.add_fingerprint();
    default: break;
    }
    return b.add_bytes(a.type, a.value);
}

// The typed value of `a` equals that of `b` (raw bytes for types without a reader or values
// that do not read; FINGERPRINT is recomputed, so only its presence counts).
bool same_value(const stun::Attribute& a, const stun::Message& ma, const stun::Attribute& b, const stun::Message& mb)
{
    using K = stun::ValueKind;
    switch (attr::value_kind(a.type)) {
    case K::Address:
        if (auto va = stun::read_address(a)) return stun::read_address(b) && same(*va, *stun::read_address(b));
        break;
    case K::XorAddress:
        if (auto va = stun::read_xor_address(a, ma)) {
            auto vb = stun::read_xor_address(b, mb);
            return vb && same(*va, *vb);
        }
        break;
    case K::U32:
        if (auto va = stun::read_u32(a)) return stun::read_u32(b) == va;
        break;
    case K::ResponsePort:
        if (auto va = stun::read_response_port(a)) return stun::read_response_port(b) == va;
        break;
    case K::ErrorCode:
        if (auto va = stun::read_error_code(a)) {
            auto vb = stun::read_error_code(b);
            return vb && vb->code == va->code && vb->reason == va->reason;
        }
        break;
    case K::UnknownList:
        if (auto va = stun::read_unknown_attributes(a)) return stun::read_unknown_attributes(b) == va;
        break;
    case K::Fingerprint: return true;
    default: break;
    }
    return same_bytes(a.value, b.value);
}

void expect_same_message(const stun::Message& original, const stun::Message& rebuilt, const char* how)
{
    expect(rebuilt.method == original.method && rebuilt.cls == original.cls &&
               rebuilt.transaction_id == original.transaction_id && rebuilt.classic == original.classic &&
               rebuilt.classic_cookie == original.classic_cookie,
           how, "header differs");
    expect(rebuilt.attribute_count == original.attribute_count, how, "attribute count differs");
    expect(rebuilt.has_fingerprint == original.has_fingerprint, how, "FINGERPRINT presence differs");
    expect((rebuilt.integrity_offset != 0) == (original.integrity_offset != 0) &&
               (rebuilt.integrity_sha256_offset != 0) == (original.integrity_sha256_offset != 0),
           how, "integrity presence differs");
    for (size_t i = 0; i < original.attribute_count; ++i) {
        const auto& a = original.attributes[i];
        const auto& b = rebuilt.attributes[i];
        expect(a.type == b.type, how, "attribute type differs at " + std::to_string(i));
        expect(same_value(a, original, b, rebuilt), how, "value differs: " + attr::name(a.type));
    }
}

// Whether every TLV of the input counts and pads with zeros: then a raw rebuild is byte-exact.
bool rebuild_is_exact(const stun::Message& m)
{
    size_t pos = stun::kHeaderSize;
    for (const auto& a : m.all()) {
        if (a.offset != pos) return false;  // an ignored attribute sat in between
        pos = a.offset + 4 + a.value.size();
        for (; pos % 4 != 0; ++pos)
            if (m.bytes[pos] != 0) return false;
    }
    return pos == m.bytes.size();
}

std::array<uint8_t, stun::kMaxMessageSize + 128> buffer;

void rebuild(const stun::Message& m)
{
    std::string why;
    stun::Message rebuilt;

    // 1. From typed values.
    auto typed = builder_like(m, buffer);
    for (const auto& a : m.all()) expect(add_typed(typed, a, m), "typed rebuild refused", attr::name(a.type));
    expect(typed.finish() > 0, "typed rebuild failed");
    expect(stun::parse(std::span(buffer).first(typed.finish()), rebuilt, &why, {.allow_classic = m.classic}),
           "typed rebuild does not parse:", why);
    expect_same_message(m, rebuilt, "typed rebuild:");

    // 2. From raw values (FINGERPRINT recomputed).
    auto raw = builder_like(m, buffer);
    for (const auto& a : m.all()) {
        const bool added = a.type == attr::Fingerprint ? raw.add_fingerprint() : raw.add_bytes(a.type, a.value);
        expect(added, "raw rebuild refused", attr::name(a.type));
    }
    const auto raw_bytes = std::span(buffer).first(raw.finish());
    expect(stun::parse(raw_bytes, rebuilt, &why, {.allow_classic = m.classic}), "raw rebuild does not parse:", why);
    expect_same_message(m, rebuilt, "raw rebuild:");
    if (rebuild_is_exact(m)) expect(same_bytes(raw_bytes, m.bytes), "raw rebuild is not byte-exact");

    // 3. Sealed with our own integrity and fingerprint, when the input had none.
    if (m.integrity_offset || m.integrity_sha256_offset || m.has_fingerprint) return;
    if (m.attribute_count + 3 > stun::kMaxAttributes) return;  // legitimately refused: too many
    auto sealed = builder_like(m, buffer);
    for (const auto& a : m.all()) sealed.add_bytes(a.type, a.value);
    sealed.add_message_integrity(kKey);
    sealed.add_message_integrity_sha256(kKey);
    sealed.add_fingerprint();
    const size_t room_needed = m.bytes.size() + 24 + 36 + 8;
    if (room_needed - stun::kHeaderSize > 0xFFFF) return;  // legitimately refused: too long
    expect(sealed.finish() == room_needed, "sealing failed");
    expect(stun::parse(std::span(buffer).first(sealed.finish()), rebuilt, &why, {.allow_classic = m.classic}),
           "sealed message does not parse:", why);
    expect(rebuilt.has_fingerprint, "sealed FINGERPRINT missing");
    expect(stun::verify_integrity(rebuilt, kKey), "sealed MESSAGE-INTEGRITY does not verify");
    expect(stun::verify_integrity_sha256(rebuilt, kKey), "sealed MESSAGE-INTEGRITY-SHA256 does not verify");
}

}  // namespace

void exercise_turn(std::span<const uint8_t> input)
{
    namespace turn = om::proto::turn;
    for (const bool legacy : {false, true}) {
        std::string why;
        auto frame = turn::read_channel_data(input, &why, legacy);
        expect(frame.has_value() == why.empty(), "read_channel_data: a value and a reason, or neither");
        if (!frame) continue;
        expect(legacy || turn::valid_channel(frame->channel), "read_channel_data: RFC 8656 range broken");
        expect(frame->payload.data() == input.data() + turn::kChannelHeaderSize, "ChannelData payload view moved");
        for (const bool stream : {false, true}) {
            std::vector<uint8_t> out(frame->payload.size() + 8);
            const size_t n = turn::write_channel_data(out, frame->channel, frame->payload, stream, legacy);
            expect(n >= turn::kChannelHeaderSize + frame->payload.size() && n % (stream ? 4 : 1) == 0,
                   "write_channel_data size");
            auto again = turn::read_channel_data(std::span<const uint8_t>(out.data(), n), nullptr, legacy);
            expect(again && again->channel == frame->channel && same_bytes(again->payload, frame->payload),
                   "ChannelData does not survive a round trip");
            auto framed = turn::stream_frame_size(std::span<const uint8_t>(out.data(), n));
            expect(!stream || (framed && *framed == n), "stream_frame_size disagrees with the writer");
        }
    }
    auto framed = turn::stream_frame_size(input);
    expect(!framed || *framed == 0 || *framed >= 4, "stream_frame_size below a header");
}

void exercise_turn_attributes(const stun::Message& m)
{
    namespace turn = om::proto::turn;
    for (const auto& a : m.all()) {
        if (a.type == attr::PasswordAlgorithms || a.type == attr::PasswordAlgorithm) {
            std::string why;
            auto list = turn::read_password_algorithms(a, &why);
            expect(list.has_value() == why.empty(), "read_password_algorithms: a value and a reason, or neither");
            if (list) {
                auto value = turn::password_algorithms_value(*list);
                stun::Attribute copy{a.type, 0, value};
                auto again = turn::read_password_algorithms(copy);
                expect(again && *again == *list, "PASSWORD-ALGORITHMS does not survive a round trip");
            }
        }
        if (a.type == attr::Username || a.type == attr::Nonce) {
            if (auto text = stun::read_text(a)) {
                (void)turn::rest_expiry(*text);
                (void)turn::nonce_offers_password_algorithms(*text);
            }
        }
    }
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    const std::span<const uint8_t> input(data, size);
    exercise_turn(input);
    stun::Message strict;
    stun::Message classic;
    std::string why_strict;
    std::string why_classic;
    const bool strict_ok = stun::parse(input, strict, &why_strict);
    const bool classic_ok = stun::parse(input, classic, &why_classic, {.allow_classic = true});
    expect(strict_ok || !why_strict.empty(), "strict refusal without a reason");
    expect(classic_ok || !why_classic.empty(), "classic-mode refusal without a reason");
    expect(!strict_ok || classic_ok, "strict accepts what classic mode refuses:", why_classic);
    // looks_like_stun is the cheap pre-check: never false for what parse() takes (RFC 7983 first byte 0..3).
    if (strict_ok && size > 0 && data[0] <= 3) expect(stun::looks_like_stun(input), "looks_like_stun refuses a message");
    if (classic_ok && size > 0 && data[0] <= 3)
        expect(stun::looks_like_stun(input, true), "looks_like_stun refuses a classic message");
    if (strict_ok) expect(!strict.classic, "strict parse produced a classic message");
    if (!classic_ok) return 0;
    exercise_readers(classic);
    exercise_turn_attributes(classic);
    rebuild(classic);
    return 0;
}
