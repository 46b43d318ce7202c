// Malformed STUN input: each case is refused, and `why` names the rule it broke.
#include "proto/stun.h"
#include "test_stun_support.h"

#include <catch2/catch.hpp>

namespace stun = om::proto::stun;
namespace attr = om::proto::stun::attr;

namespace {

using Bytes = std::vector<uint8_t>;

void put16(Bytes& b, uint16_t v)
{
    b.push_back(static_cast<uint8_t>(v >> 8));
    b.push_back(static_cast<uint8_t>(v));
}

// One TLV; `declared` overrides the length field, padding is `pad` bytes.
Bytes tlv(uint16_t type, const Bytes& value, int declared = -1, uint8_t pad = 0)
{
    Bytes b;
    put16(b, type);
    put16(b, static_cast<uint16_t>(declared < 0 ? value.size() : static_cast<size_t>(declared)));
    b.insert(b.end(), value.begin(), value.end());
    while (b.size() % 4 != 0) b.push_back(pad);
    return b;
}

// A Binding request header (cookie, fixed id) followed by body; `declared` overrides the length.
Bytes message(const Bytes& body, int declared = -1, uint32_t cookie = stun::kMagicCookie, uint16_t type = 0x0001)
{
    Bytes b;
    put16(b, type);
    put16(b, static_cast<uint16_t>(declared < 0 ? body.size() : static_cast<size_t>(declared)));
    put16(b, static_cast<uint16_t>(cookie >> 16));
    put16(b, static_cast<uint16_t>(cookie));
    for (uint8_t i = 0; i < 12; ++i) b.push_back(i);
    b.insert(b.end(), body.begin(), body.end());
    return b;
}

Bytes concat(std::initializer_list<Bytes> parts)
{
    Bytes out;
    for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
}

// Seals `m` with a correct FINGERPRINT (to test what comes before it).
Bytes with_fingerprint(Bytes m)
{
    const uint16_t length = static_cast<uint16_t>(m.size() - stun::kHeaderSize + 8);
    m[2] = static_cast<uint8_t>(length >> 8);
    m[3] = static_cast<uint8_t>(length);
    const uint32_t crc = stun::fingerprint_of(m);
    put16(m, attr::Fingerprint);
    put16(m, 4);
    put16(m, static_cast<uint16_t>(crc >> 16));
    put16(m, static_cast<uint16_t>(crc));
    return m;
}

struct Case {
    const char* what;
    Bytes bytes;
    const char* reason;  // a part of `why`
};

}  // namespace

TEST_CASE("malformed messages are refused with the reason", "[stun]")
{
    Bytes many;
    for (int i = 0; i < 33; ++i) many = concat({many, tlv(attr::Software, {'x'})});
    Bytes many_after_integrity = tlv(attr::MessageIntegrity, Bytes(20));
    for (int i = 0; i < 32; ++i) many_after_integrity = concat({many_after_integrity, tlv(attr::Software, {'x'})});
    const Bytes fp_after_mi_then_more =
        concat({tlv(attr::MessageIntegrity, Bytes(20)), tlv(attr::Fingerprint, Bytes(4)), tlv(attr::Software, {})});
    Bytes wrong_fp = with_fingerprint(message({}));
    wrong_fp.back() ^= 0x01;
    Bytes short_fp = message(tlv(attr::Fingerprint, {1, 2}));
    Bytes header_only = message({});
    header_only.pop_back();

    const Case cases[] = {
        {"empty", {}, "shorter than the 20-byte header"},
        {"19 bytes", header_only, "shorter than the 20-byte header"},
        {"top bits set", message({}, -1, stun::kMagicCookie, 0x8001), "two most significant bits"},
        {"top bit 14 set", message({}, -1, stun::kMagicCookie, 0x4001), "two most significant bits"},
        {"length not a multiple of 4", message({1, 2, 3}), "not a multiple of 4"},
        {"length longer than the datagram", message(Bytes(4), 8), "says 8 bytes but 4 follow"},
        {"trailing bytes after the length", message(Bytes(4), 0), "says 0 bytes but 4 follow"},
        {"no magic cookie", message({}, -1, 0x2112A443), "magic cookie"},
        {"attribute overruns", message(tlv(attr::Software, Bytes(4), 8)), "SOFTWARE at offset 20: length 8 overruns"},
        {"padding overruns", message(concat({tlv(attr::Software, Bytes(4)), Bytes{0, 0x22, 0, 1}})), "overruns"},
        {"unknown attribute overruns", message(tlv(0x7777, Bytes(4), 5)), "0x7777 at offset 20"},
        {"33 attributes", message(many), "more than 32 attributes"},
        {"33 TLVs, 32 of them ignored", message(many_after_integrity), "more than 32 attributes"},
        {"FINGERPRINT not last", message(concat({tlv(attr::Fingerprint, Bytes(4)), tlv(attr::Software, {})})),
         "FINGERPRINT is not the last attribute"},
        {"FINGERPRINT not last after MESSAGE-INTEGRITY", message(fp_after_mi_then_more), "FINGERPRINT is not the last"},
        {"FINGERPRINT too short", short_fp, "FINGERPRINT length 2, expected 4"},
        {"FINGERPRINT too long", message(tlv(attr::Fingerprint, Bytes(8))), "FINGERPRINT length 8, expected 4"},
        {"FINGERPRINT wrong", wrong_fp, "FINGERPRINT mismatch"},
        {"MESSAGE-INTEGRITY short", message(tlv(attr::MessageIntegrity, Bytes(16))), "MESSAGE-INTEGRITY length 16, expected 20"},
        {"MESSAGE-INTEGRITY long", message(tlv(attr::MessageIntegrity, Bytes(32))), "MESSAGE-INTEGRITY length 32"},
        {"MESSAGE-INTEGRITY-SHA256 12 bytes", message(tlv(attr::MessageIntegritySha256, Bytes(12))), "16..32"},
        {"MESSAGE-INTEGRITY-SHA256 18 bytes", message(tlv(attr::MessageIntegritySha256, Bytes(18))), "16..32"},
        {"MESSAGE-INTEGRITY-SHA256 36 bytes", message(tlv(attr::MessageIntegritySha256, Bytes(36))), "16..32"},
    };
    for (const auto& c : cases) {
        INFO(c.what);
        stun::Message m;
        std::string why;
        CHECK_FALSE(stun::parse(c.bytes, m, &why));
        CHECK_THAT(why, Catch::Contains(c.reason));
        CHECK_FALSE(stun::parse(c.bytes, m));  // without `why` too
    }
}

TEST_CASE("malformed attribute values are refused by the typed readers with the reason", "[stun]")
{
    struct ValueCase {
        const char* what;
        uint16_t type;
        Bytes value;
        const char* reason;
    };
    const ValueCase cases[] = {
        {"address too short", attr::MappedAddress, {0, 1, 0}, "too short"},
        {"address family 0", attr::MappedAddress, {0, 0, 0, 1, 1, 2, 3, 4}, "address family 0"},
        {"address family 3", attr::OtherAddress, {0, 3, 0, 1, 1, 2, 3, 4}, "address family 3"},
        {"IPv4 address too long", attr::ResponseOrigin, Bytes{0, 1, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8}, "expected 8"},
        {"IPv6 address too short", attr::MappedAddress, Bytes{0, 2, 0, 1, 1, 2, 3, 4}, "expected 20"},
        {"XOR IPv4 too long", attr::XorMappedAddress, Bytes{0, 1, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8}, "expected 8"},
        {"XOR IPv6 too short", attr::XorMappedAddress, Bytes{0, 2, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8}, "expected 20"},
        {"XOR family 9", attr::XorPeerAddress, Bytes{0, 9, 0, 1, 1, 2, 3, 4}, "address family 9"},
        {"u32 too short", attr::ChangeRequest, {0, 0, 4}, "expected 4"},
        {"u32 too long", attr::Lifetime, Bytes(8), "expected 4"},
        {"RESPONSE-PORT 2 bytes", attr::ResponsePort, {0x0d, 0x96}, "expected 4"},
        {"ERROR-CODE too short", attr::ErrorCode, {0, 0, 4}, "shorter than 4"},
        {"ERROR-CODE class 2", attr::ErrorCode, {0, 0, 2, 0}, "class 2 is not 3..6"},
        {"ERROR-CODE class 7", attr::ErrorCode, {0, 0, 7, 0}, "class 7 is not 3..6"},
        {"ERROR-CODE class 0", attr::ErrorCode, {0, 0, 0, 0}, "class 0 is not 3..6"},
        {"ERROR-CODE number 100", attr::ErrorCode, {0, 0, 4, 100}, "number 100 is not 0..99"},
        {"ERROR-CODE reason not UTF-8", attr::ErrorCode, {0, 0, 4, 0, 'B', 0xff}, "not valid UTF-8 at byte 1"},
        {"ERROR-CODE reason 128 characters", attr::ErrorCode, concat({{0, 0, 4, 0}, Bytes(128, 'x')}), "128 characters"},
        {"UNKNOWN-ATTRIBUTES odd", attr::UnknownAttributes, {0, 1, 0}, "not a whole number"},
        {"USERNAME 513 bytes", attr::Username, Bytes(513, 'u'), "513 bytes, more than 512"},
        {"SOFTWARE 128 characters", attr::Software, Bytes(128, 's'), "128 characters, more than 127"},
        {"REALM 764 bytes", attr::Realm, Bytes(764, 'r'), "764 bytes, more than 763"},
        {"NONCE invalid byte", attr::Nonce, {'n', 0xff}, "not valid UTF-8"},
        {"REALM overlong NUL", attr::Realm, {0xc0, 0x80}, "not valid UTF-8 at byte 0"},
        {"REALM UTF-16 surrogate", attr::Realm, {0xed, 0xa0, 0x80}, "not valid UTF-8"},
        {"REALM above U+10FFFF", attr::Realm, {0xf4, 0x90, 0x80, 0x80}, "not valid UTF-8"},
        {"SOFTWARE cut sequence", attr::Software, {'a', 0xe3, 0x83}, "not valid UTF-8 at byte 1"},
        {"SOFTWARE lone continuation", attr::Software, {'a', 0x80}, "not valid UTF-8 at byte 1"},
        {"ALTERNATE-DOMAIN 255 bytes", attr::AlternateDomain, Bytes(255, 'd'), "more than 254"},
    };
    for (const auto& c : cases) {
        INFO(c.what);
        const Bytes bytes = message(tlv(c.type, c.value));
        stun::Message m;
        REQUIRE(stun::parse(bytes, m));  // framing is fine: only the value is wrong
        const auto& a = m.attributes[0];
        std::string why;
        bool read = false;
        switch (attr::value_kind(c.type)) {
        case stun::ValueKind::Address: read = stun::read_address(a, &why).has_value(); break;
        case stun::ValueKind::XorAddress: read = stun::read_xor_address(a, m, &why).has_value(); break;
        case stun::ValueKind::U32: read = stun::read_u32(a, &why).has_value(); break;
        case stun::ValueKind::ResponsePort: read = stun::read_response_port(a, &why).has_value(); break;
        case stun::ValueKind::ErrorCode: read = stun::read_error_code(a, &why).has_value(); break;
        case stun::ValueKind::UnknownList: read = stun::read_unknown_attributes(a, &why).has_value(); break;
        case stun::ValueKind::Text: read = stun::read_text(a, &why).has_value(); break;
        default: FAIL("no reader for " << attr::name(c.type));
        }
        CHECK_FALSE(read);
        CHECK_THAT(why, Catch::Contains(c.reason));
    }
}

TEST_CASE("the limits themselves are accepted", "[stun]")
{
    const Bytes at_limit[] = {
        message(tlv(attr::Username, Bytes(512, 'u'))),
        message(tlv(attr::Software, Bytes(127, 's'))),
        // 127 characters of 3 bytes: 381 bytes, within 763.
        message(tlv(attr::Realm, [] {
            Bytes b;
            for (int i = 0; i < 127; ++i) b.insert(b.end(), {0xe3, 0x83, 0x9e});
            return b;
        }())),
        message(tlv(attr::Nonce, {0xf0, 0x9f, 0x98, 0x80})),  // U+1F600, 4 bytes
        message(tlv(attr::ErrorCode, concat({{0, 0, 6, 99}, Bytes(127, 'x')}))),
    };
    for (const auto& bytes : at_limit) {
        stun::Message m;
        REQUIRE(stun::parse(bytes, m));
        std::string why;
        const auto& a = m.attributes[0];
        const bool ok = a.type == attr::ErrorCode ? stun::read_error_code(a, &why).has_value()
                                                  : stun::read_text(a, &why).has_value();
        CHECK(ok);
        CHECK(why.empty());
    }
}

TEST_CASE("non-zero padding is ignored, as RFC 8489 §14 requires", "[stun]")
{
    const Bytes bytes = message(concat({tlv(attr::Software, {'a', 'b', 'c'}, -1, 0xAA), tlv(attr::Priority, {0, 0, 0, 7})}));
    stun::Message m;
    std::string why;
    REQUIRE(stun::parse(bytes, m, &why));
    CHECK(*stun::read_text(*m.find(attr::Software)) == "abc");
    CHECK(stun::read_u32(*m.find(attr::Priority)) == 7u);
}

TEST_CASE("attributes after the integrity attributes are ignored (§14.5, §14.6)", "[stun]")
{
    const Bytes after_mi = message(concat({tlv(attr::Username, {'u'}), tlv(attr::MessageIntegrity, Bytes(20)),
                                           tlv(attr::Software, {'s'}), tlv(attr::MessageIntegritySha256, Bytes(32)),
                                           tlv(attr::MessageIntegrity, Bytes(20)), tlv(attr::Priority, Bytes(4))}));
    stun::Message m;
    REQUIRE(stun::parse(after_mi, m));
    REQUIRE(m.attribute_count == 3);
    CHECK(m.attributes[0].type == attr::Username);
    CHECK(m.attributes[1].type == attr::MessageIntegrity);
    CHECK(m.attributes[2].type == attr::MessageIntegritySha256);
    CHECK(m.find(attr::Software) == nullptr);
    CHECK(m.find(attr::Priority) == nullptr);
    CHECK(m.integrity_offset == 28);

    const Bytes after_sha256 = with_fingerprint(message(concat(
        {tlv(attr::MessageIntegritySha256, Bytes(16)), tlv(attr::MessageIntegrity, Bytes(20)), tlv(attr::Software, {})})));
    REQUIRE(stun::parse(after_sha256, m));
    REQUIRE(m.attribute_count == 2);
    CHECK(m.attributes[0].type == attr::MessageIntegritySha256);
    CHECK(m.attributes[1].type == attr::Fingerprint);
    CHECK(m.integrity_offset == 0);
    CHECK(m.has_fingerprint);
}

TEST_CASE("looks_like_stun is a cheap pre-check", "[stun]")
{
    CHECK(stun::looks_like_stun(test::stun::sample_request()));
    CHECK_FALSE(stun::looks_like_stun(Bytes{}));
    CHECK_FALSE(stun::looks_like_stun(message({}, -1, stun::kMagicCookie, 0x4001)));  // first byte 0x40
    CHECK_FALSE(stun::looks_like_stun(message(Bytes(4), 8)));
    CHECK_FALSE(stun::looks_like_stun(message({1, 2})));
    CHECK_FALSE(stun::looks_like_stun(message({}, -1, 0x01020304)));
    CHECK(stun::looks_like_stun(message({}, -1, 0x01020304), true));
}
