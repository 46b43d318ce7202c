// RFC 3489 "classic" STUN: no magic cookie, a 128-bit transaction id. Refused by default,
// parsed with ParseOptions.allow_classic, and answered with Builder::classic().
#include "proto/address.h"
#include "proto/stun.h"
#include "test_stun_support.h"

#include <catch2/catch.hpp>

namespace stun = om::proto::stun;
namespace attr = om::proto::stun::attr;
using test::stun::hex;

namespace {

// RFC 3489 §11.1 Binding Request (type 0x0001) with CHANGE-REQUEST (change IP and port) and a
// 128-bit id; the first four id bytes are not the magic cookie.
std::vector<uint8_t> classic_request()
{
    return hex("00 01 00 08 a1 b2 c3 d4 01 02 03 04 05 06 07 08 09 0a 0b 0c"
               "00 03 00 04 00 00 00 06");
}

}  // namespace

TEST_CASE("a classic request is refused unless allowed", "[stun][classic]")
{
    const auto bytes = classic_request();
    stun::Message m;
    std::string why;
    CHECK_FALSE(stun::parse(bytes, m, &why));
    CHECK_THAT(why, Catch::Contains("magic cookie is 0xA1B2C3D4"));
    CHECK_FALSE(stun::looks_like_stun(bytes));

    REQUIRE(stun::parse(bytes, m, &why, {.allow_classic = true}));
    CHECK(stun::looks_like_stun(bytes, true));
    CHECK(m.classic);
    CHECK(m.classic_cookie == 0xA1B2C3D4u);
    CHECK(m.method == stun::method::Binding);
    CHECK(m.cls == stun::Class::Request);
    CHECK(m.transaction_id == stun::TransactionId{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12});
    const auto flags = stun::read_u32(*m.find(attr::ChangeRequest));
    REQUIRE(flags);
    CHECK(*flags == (stun::kChangeIp | stun::kChangePort));
}

TEST_CASE("a modern message parses the same with allow_classic", "[stun][classic]")
{
    const auto bytes = test::stun::sample_request();
    stun::Message m;
    REQUIRE(stun::parse(bytes, m, nullptr, {.allow_classic = true}));
    CHECK_FALSE(m.classic);
    CHECK(m.classic_cookie == 0);
    CHECK(m.has_fingerprint);
}

TEST_CASE("a classic response echoes the 128-bit id with the RFC 3489 address attributes", "[stun][classic]")
{
    stun::Message request;
    const auto request_bytes = classic_request();
    REQUIRE(stun::parse(request_bytes, request, nullptr, {.allow_classic = true}));

    om_address mapped{}, source{}, changed{};
    REQUIRE(om::proto::parse_address("198.51.100.7:40000", 0, mapped));
    REQUIRE(om::proto::parse_address("192.0.2.10:3478", 0, source));
    REQUIRE(om::proto::parse_address("192.0.2.11:3479", 0, changed));
    std::vector<uint8_t> out(128);
    auto b = stun::Builder::classic(out, stun::method::Binding, stun::Class::SuccessResponse, request.classic_cookie,
                                    request.transaction_id);
    REQUIRE(b.add_address(attr::MappedAddress, mapped));
    REQUIRE(b.add_address(attr::SourceAddress, source));
    REQUIRE(b.add_address(attr::ChangedAddress, changed));
    out.resize(b.finish());

    // Byte for byte what RFC 3489 §11.1/§11.2 lay out.
    CHECK(out == hex("01 01 00 24 a1 b2 c3 d4 01 02 03 04 05 06 07 08 09 0a 0b 0c"
                     "00 01 00 08 00 01 9c 40 c6 33 64 07"
                     "00 04 00 08 00 01 0d 96 c0 00 02 0a"
                     "00 05 00 08 00 01 0d 97 c0 00 02 0b"));
    stun::Message response;
    std::string why;
    REQUIRE(stun::parse(out, response, &why, {.allow_classic = true}));
    CHECK(response.classic);
    CHECK(response.classic_cookie == request.classic_cookie);
    CHECK(response.transaction_id == request.transaction_id);
    CHECK(om::proto::format_address(*stun::mapped_address(response)) == "198.51.100.7:40000");
    CHECK(om::proto::format_address(*stun::read_address(*response.find(attr::ChangedAddress))) == "192.0.2.11:3479");
}

TEST_CASE("a classic error response carries the RFC 3489 error layout", "[stun][classic]")
{
    std::vector<uint8_t> out(64);
    auto b = stun::Builder::classic(out, stun::method::Binding, stun::Class::ErrorResponse, 0x01020304, {});
    REQUIRE(b.add_error_code(400, "Bad Request"));
    out.resize(b.finish());
    CHECK(((out[0] << 8) | out[1]) == 0x0111);  // RFC 3489 Binding Error Response
    stun::Message m;
    REQUIRE(stun::parse(out, m, nullptr, {.allow_classic = true}));
    const auto error = stun::read_error_code(*m.find(attr::ErrorCode));
    REQUIRE(error);
    CHECK(error->code == 400);
    CHECK(error->reason == "Bad Request");
}
