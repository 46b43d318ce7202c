// Every attribute type through the Builder and back through parse() and its typed reader, plus
// the Builder's order and size rules.
#include "proto/address.h"
#include "proto/stun.h"
#include "proto/stun_integrity.h"
#include "test_stun_support.h"

#include <catch2/catch.hpp>

namespace stun = om::proto::stun;
namespace attr = om::proto::stun::attr;
using test::stun::as_bytes;

namespace {

om_address address_of(const char* text)
{
    om_address a{};
    REQUIRE(om::proto::parse_address(text, 0, a));
    return a;
}

const stun::TransactionId kId{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
const char* const kAddresses[] = {"192.0.2.1:32853", "0.0.0.0:0", "255.255.255.255:65535", "[2001:db8::1]:3478",
                                  "[::]:1", "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535"};

// Builds a message with `fill`, parses it back (classic or not) and returns the message bytes.
template <typename Fill>
std::vector<uint8_t> build(Fill fill, bool classic = false)
{
    std::vector<uint8_t> out(1024);
    auto b = classic ? stun::Builder::classic(out, stun::method::Binding, stun::Class::Request, 0xdeadbeef, kId)
                     : stun::Builder(out, stun::method::Binding, stun::Class::Request, kId);
    fill(b);
    REQUIRE_FALSE(b.failed());
    out.resize(b.finish());
    return out;
}

}  // namespace

TEST_CASE("address attributes round-trip for IPv4 and IPv6", "[stun]")
{
    for (uint16_t type : {attr::MappedAddress, attr::OtherAddress, attr::ResponseOrigin, attr::SourceAddress,
                          attr::ChangedAddress, attr::AlternateServer, attr::ResponseAddress}) {
        REQUIRE(attr::value_kind(type) == stun::ValueKind::Address);
        for (const char* text : kAddresses) {
            INFO(attr::name(type) << " " << text);
            const auto bytes = build([&](stun::Builder& b) { REQUIRE(b.add_address(type, address_of(text))); });
            stun::Message m;
            REQUIRE(stun::parse(bytes, m));
            const auto read = stun::read_address(*m.find(type));
            REQUIRE(read);
            CHECK(om::proto::format_address(*read) == text);
        }
    }
}

TEST_CASE("XOR address attributes round-trip, with the cookie and with a classic id", "[stun]")
{
    for (bool classic : {false, true}) {
        for (uint16_t type : {attr::XorMappedAddress, attr::XorPeerAddress, attr::XorRelayedAddress}) {
            REQUIRE(attr::value_kind(type) == stun::ValueKind::XorAddress);
            for (const char* text : kAddresses) {
                INFO(attr::name(type) << " " << text << " classic " << classic);
                const auto address = address_of(text);
                const auto bytes = build([&](stun::Builder& b) { REQUIRE(b.add_xor_address(type, address)); }, classic);
                stun::Message m;
                REQUIRE(stun::parse(bytes, m, nullptr, {.allow_classic = true}));
                CHECK(m.classic == classic);
                const auto* a = m.find(type);
                REQUIRE(a);
                // The wire form really is XORed: reading it plainly gives another address.
                CHECK_FALSE(om::proto::same_address(*stun::read_address(*a), address));
                const auto read = stun::read_xor_address(*a, m);
                REQUIRE(read);
                CHECK(om::proto::format_address(*read) == text);
            }
        }
    }
}

TEST_CASE("mapped_address prefers XOR-MAPPED-ADDRESS over MAPPED-ADDRESS", "[stun]")
{
    const auto both = build([](stun::Builder& b) {
        REQUIRE(b.add_address(attr::MappedAddress, address_of("10.0.0.1:1")));
        REQUIRE(b.add_xor_address(attr::XorMappedAddress, address_of("10.0.0.2:2")));
    });
    stun::Message m;
    REQUIRE(stun::parse(both, m));
    CHECK(om::proto::format_address(*stun::mapped_address(m)) == "10.0.0.2:2");
    const auto plain = build([](stun::Builder& b) { REQUIRE(b.add_address(attr::MappedAddress, address_of("10.0.0.1:1"))); });
    REQUIRE(stun::parse(plain, m));
    CHECK(om::proto::format_address(*stun::mapped_address(m)) == "10.0.0.1:1");
    const auto none = build([](stun::Builder&) {});
    REQUIRE(stun::parse(none, m));
    std::string why;
    CHECK_FALSE(stun::mapped_address(m, &why));
    CHECK_THAT(why, Catch::Contains("MAPPED-ADDRESS"));
}

TEST_CASE("32-bit attributes, CHANGE-REQUEST and RESPONSE-PORT round-trip", "[stun]")
{
    for (uint16_t type : {attr::ChangeRequest, attr::Lifetime, attr::Priority, attr::ChannelNumber, attr::RequestedTransport}) {
        REQUIRE(attr::value_kind(type) == stun::ValueKind::U32);
        for (uint32_t value : {0u, 1u, 0x80000000u, 0xFFFFFFFFu}) {
            const auto bytes = build([&](stun::Builder& b) { REQUIRE(b.add_u32(type, value)); });
            stun::Message m;
            REQUIRE(stun::parse(bytes, m));
            CHECK(stun::read_u32(*m.find(type)) == value);
        }
    }
    for (bool ip : {false, true}) {
        for (bool port : {false, true}) {
            const auto bytes = build([&](stun::Builder& b) { REQUIRE(b.add_change_request(ip, port)); });
            stun::Message m;
            REQUIRE(stun::parse(bytes, m));
            const auto flags = stun::read_u32(*m.find(attr::ChangeRequest));
            REQUIRE(flags);
            CHECK(((*flags & stun::kChangeIp) != 0) == ip);
            CHECK(((*flags & stun::kChangePort) != 0) == port);
        }
    }
    for (uint16_t port : {0, 1, 3478, 65535}) {
        const auto bytes = build([&](stun::Builder& b) { REQUIRE(b.add_response_port(port)); });
        stun::Message m;
        REQUIRE(stun::parse(bytes, m));
        CHECK(stun::read_response_port(*m.find(attr::ResponsePort)) == port);
    }
}

TEST_CASE("ERROR-CODE round-trips every class and a reason", "[stun]")
{
    for (uint16_t code : {300, 399, 400, 401, 420, 438, 500, 508, 699}) {
        for (std::string reason : {"", "Bad Request", "Unknown Attribute", "\xc3\xa9t\xc3\xa9"}) {
            INFO(code << " " << reason);
            const auto bytes = build([&](stun::Builder& b) { REQUIRE(b.add_error_code(code, reason)); });
            stun::Message m;
            REQUIRE(stun::parse(bytes, m));
            const auto value = stun::read_error_code(*m.find(attr::ErrorCode));
            REQUIRE(value);
            CHECK(value->code == code);
            CHECK(value->reason == reason);
        }
    }
    std::vector<uint8_t> out(64);
    for (uint16_t code : {0, 200, 299, 700, 999}) {
        stun::Builder b(out, stun::method::Binding, stun::Class::ErrorResponse, kId);
        CHECK_FALSE(b.add_error_code(code, "x"));
        CHECK(b.finish() == 0);
    }
}

TEST_CASE("UNKNOWN-ATTRIBUTES round-trips odd and even counts", "[stun]")
{
    for (const std::vector<uint16_t>& types : {std::vector<uint16_t>{}, {0x0002}, {0x0002, 0x7fff}, {1, 2, 3}}) {
        const auto bytes = build([&](stun::Builder& b) { REQUIRE(b.add_unknown_attributes(types)); });
        stun::Message m;
        REQUIRE(stun::parse(bytes, m));
        CHECK(stun::read_unknown_attributes(*m.find(attr::UnknownAttributes)) == types);
    }
}

TEST_CASE("text attributes round-trip", "[stun]")
{
    for (uint16_t type : {attr::Username, attr::Realm, attr::Nonce, attr::Software, attr::AlternateDomain}) {
        REQUIRE(attr::value_kind(type) == stun::ValueKind::Text);
        for (const std::string& text : std::vector<std::string>{"", "a", "abcd", "example.org", std::string(127, 'x'), test::stun::kLongTermUsername}) {
            INFO(attr::name(type) << " " << text.size());
            const auto bytes = build([&](stun::Builder& b) { REQUIRE(b.add_text(type, text)); });
            stun::Message m;
            REQUIRE(stun::parse(bytes, m));
            std::string why;
            const auto read = stun::read_text(*m.find(type), &why);
            REQUIRE(read);
            CHECK(*read == text);
        }
    }
}

TEST_CASE("opaque, empty and PADDING attributes round-trip", "[stun]")
{
    for (size_t n : {0, 1, 3, 4, 5, 100, 1000}) {
        const auto bytes = build([&](stun::Builder& b) { REQUIRE(b.add_padding(n)); });
        stun::Message m;
        REQUIRE(stun::parse(bytes, m));
        CHECK(m.find(attr::Padding)->value.size() == n);
        CHECK(bytes.size() == stun::kHeaderSize + 4 + ((n + 3) / 4) * 4);
    }
    const std::vector<uint8_t> tie_breaker{1, 2, 3, 4, 5, 6, 7, 8};
    const std::vector<uint8_t> odd{9, 8, 7};
    const auto bytes = build([&](stun::Builder& b) {
        REQUIRE(b.add_bytes(attr::IceControlling, tie_breaker));
        REQUIRE(b.add_bytes(attr::UseCandidate, {}));
        REQUIRE(b.add_bytes(0x7123, odd));  // a type this codec does not know
        REQUIRE(b.add_bytes(attr::DataAttr, odd));
    });
    stun::Message m;
    REQUIRE(stun::parse(bytes, m));
    REQUIRE(m.attribute_count == 4);
    CHECK(std::vector<uint8_t>(m.attributes[0].value.begin(), m.attributes[0].value.end()) == tie_breaker);
    CHECK(m.attributes[1].value.empty());
    CHECK(std::vector<uint8_t>(m.attributes[2].value.begin(), m.attributes[2].value.end()) == odd);
    CHECK(m.attributes[3].offset == stun::kHeaderSize + 12 + 4 + 8);
}

TEST_CASE("MESSAGE-INTEGRITY, MESSAGE-INTEGRITY-SHA256 and FINGERPRINT together", "[stun]")
{
    const auto key = as_bytes("s3cret");
    const auto other = as_bytes("s3cres");
    const auto bytes = build([&](stun::Builder& b) {
        REQUIRE(b.add_text(attr::Username, "user"));
        REQUIRE(b.add_message_integrity(key));
        REQUIRE(b.add_message_integrity_sha256(key));
        REQUIRE(b.add_fingerprint());
    });
    stun::Message m;
    std::string why;
    REQUIRE(stun::parse(bytes, m, &why));
    CHECK(m.has_fingerprint);
    CHECK(m.integrity_offset == stun::kHeaderSize + 8);
    CHECK(m.integrity_sha256_offset == stun::kHeaderSize + 8 + 24);
    CHECK(stun::verify_integrity(m, key));
    CHECK(stun::verify_integrity_sha256(m, key));
    CHECK_FALSE(stun::verify_integrity(m, other));
    CHECK_FALSE(stun::verify_integrity_sha256(m, other));

    const auto sha256_only = build([&](stun::Builder& b) { REQUIRE(b.add_message_integrity_sha256(key)); });
    REQUIRE(stun::parse(sha256_only, m));
    CHECK(m.integrity_offset == 0);
    CHECK_FALSE(stun::verify_integrity(m, key));
    CHECK(stun::verify_integrity_sha256(m, key));
}

TEST_CASE("a MESSAGE-INTEGRITY-SHA256 truncated to 16 bytes still verifies", "[stun]")
{
    // §14.6: a sender may truncate the HMAC to its leftmost 16..32 bytes (in steps of 4); the
    // header length then points at the end of the shorter attribute.
    const auto key = as_bytes("k");
    std::vector<uint8_t> bytes(stun::kHeaderSize + 4 + 16);
    stun::Builder b(bytes, stun::method::Binding, stun::Class::Request, kId);
    REQUIRE(b.add_bytes(attr::MessageIntegritySha256, std::vector<uint8_t>(16)));
    uint8_t full[32];
    om::proto::stun::detail::integrity_hmac(om::proto::stun::detail::Hmac::Sha256, key,
                                            std::span(bytes).first(stun::kHeaderSize), 20, full);
    std::copy(full, full + 16, bytes.begin() + stun::kHeaderSize + 4);
    stun::Message m;
    REQUIRE(stun::parse(bytes, m));
    CHECK(stun::verify_integrity_sha256(m, key));
    bytes.back() ^= 1;
    REQUIRE(stun::parse(bytes, m));
    CHECK_FALSE(stun::verify_integrity_sha256(m, key));
}

TEST_CASE("the Builder keeps the §14.5-§14.7 order and refuses what does not fit", "[stun]")
{
    const auto key = as_bytes("k");
    std::vector<uint8_t> out(512);
    {
        stun::Builder b(out, stun::method::Binding, stun::Class::Request, kId);
        REQUIRE(b.add_message_integrity(key));
        CHECK_FALSE(b.add_text(attr::Software, "late"));
        CHECK(b.failed());
        CHECK(b.finish() == 0);
        CHECK_FALSE(b.add_fingerprint());  // stays failed
    }
    {
        stun::Builder b(out, stun::method::Binding, stun::Class::Request, kId);
        REQUIRE(b.add_message_integrity_sha256(key));
        CHECK_FALSE(b.add_message_integrity(key));
    }
    {
        stun::Builder b(out, stun::method::Binding, stun::Class::Request, kId);
        REQUIRE(b.add_fingerprint());
        CHECK_FALSE(b.add_bytes(attr::Padding, {}));
    }
    {
        std::vector<uint8_t> small(stun::kHeaderSize + 8);
        stun::Builder b(small, stun::method::Binding, stun::Class::Request, kId);
        CHECK(b.room() == 8);
        CHECK(b.add_u32(attr::Priority, 1));
        CHECK(b.room() == 0);
        CHECK_FALSE(b.add_fingerprint());
    }
    {
        std::vector<uint8_t> tiny(stun::kHeaderSize - 1);
        stun::Builder b(tiny, stun::method::Binding, stun::Class::Request, kId);
        CHECK(b.failed());
    }
    {
        stun::Builder b(out, 0x1000, stun::Class::Request, kId);  // §5: methods are 12 bits
        CHECK(b.failed());
    }
    {
        std::vector<uint8_t> big(stun::kMaxMessageSize + 100);
        stun::Builder b(big, stun::method::Binding, stun::Class::Request, kId);
        CHECK_FALSE(b.add_padding(0xFFFF));  // header + value over the 16-bit length
        stun::Builder c(big, stun::method::Binding, stun::Class::Request, kId);
        CHECK(c.add_padding(0xFFFF - 4 - 3));  // 65528 + 4 header bytes = 65532
        stun::Message m;
        big.resize(c.finish());
        CHECK(big.size() == stun::kHeaderSize + 65532);
        REQUIRE(stun::parse(big, m));
        CHECK(m.attributes[0].value.size() == 65528);
    }
}

TEST_CASE("message types interleave method and class as RFC 8489 §5 says", "[stun]")
{
    struct Case {
        uint16_t method;
        stun::Class cls;
        uint16_t type;
    };
    for (const auto& c : {Case{stun::method::Binding, stun::Class::Request, 0x0001},
                          Case{stun::method::Binding, stun::Class::Indication, 0x0011},
                          Case{stun::method::Binding, stun::Class::SuccessResponse, 0x0101},
                          Case{stun::method::Binding, stun::Class::ErrorResponse, 0x0111},
                          Case{stun::method::Allocate, stun::Class::SuccessResponse, 0x0103},
                          Case{stun::method::Send, stun::Class::Indication, 0x0016},
                          Case{0x0FFF, stun::Class::ErrorResponse, 0x3FFF}}) {
        std::vector<uint8_t> out(stun::kHeaderSize);
        stun::Builder b(out, c.method, c.cls, kId);
        REQUIRE(b.finish() == stun::kHeaderSize);
        CHECK(((out[0] << 8) | out[1]) == c.type);
        stun::Message m;
        REQUIRE(stun::parse(out, m));
        CHECK(m.method == c.method);
        CHECK(m.cls == c.cls);
        CHECK(stun::looks_like_stun(out) == (out[0] <= 3));  // RFC 7983 §7 demultiplexing
    }
}

TEST_CASE("attribute names", "[stun]")
{
    CHECK(attr::name(attr::XorMappedAddress) == "XOR-MAPPED-ADDRESS");
    CHECK(attr::name(attr::MessageIntegritySha256) == "MESSAGE-INTEGRITY-SHA256");
    CHECK(attr::name(attr::OtherAddress) == "OTHER-ADDRESS");
    CHECK(attr::name(0x7abc) == "0x7ABC");
    CHECK(attr::value_kind(0x7abc) == stun::ValueKind::Unknown);
}

TEST_CASE("unknown_required lists unknown comprehension-required types once", "[stun]")
{
    const auto bytes = build([](stun::Builder& b) {
        REQUIRE(b.add_u32(attr::Priority, 1));            // ICE: not known by default
        REQUIRE(b.add_bytes(0x7001, {}));                 // nobody knows it
        REQUIRE(b.add_bytes(0x7001, {}));                 // listed once
        REQUIRE(b.add_bytes(0xC001, {}));                 // comprehension-optional: ignored
        REQUIRE(b.add_address(attr::ResponseAddress, address_of("1.2.3.4:5")));  // never honoured
        REQUIRE(b.add_u32(attr::ChangeRequest, 0));       // RFC 5780: known
        REQUIRE(b.add_text(attr::Username, "u"));         // RFC 8489: known
    });
    stun::Message m;
    REQUIRE(stun::parse(bytes, m));
    CHECK(stun::unknown_required(m) == std::vector<uint16_t>{attr::Priority, 0x7001, attr::ResponseAddress});
    const uint16_t ice[] = {attr::Priority};
    CHECK(stun::unknown_required(m, ice) == std::vector<uint16_t>{0x7001, attr::ResponseAddress});
}
