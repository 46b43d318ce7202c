// The TURN codec (libs/proto/turn.cpp): ChannelData framing over UDP and streams (RFC 8656 §12.4,
// §12.5), the RFC 5766 channel range a server accepts, PASSWORD-ALGORITHMS (RFC 8489 §14.11),
// the SHA-256 long-term key and the nonce cookie (§9.2), and coturn's REST credentials checked
// against an independent HMAC-SHA1 (Python's hmac module gave the expected value).
#include "proto/stun.h"
#include "proto/turn.h"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

namespace turn = om::proto::turn;
namespace stun = om::proto::stun;

namespace {
std::span<const uint8_t> bytes_of(const std::string& s) { return {reinterpret_cast<const uint8_t*>(s.data()), s.size()}; }
}

TEST_CASE("ChannelData: written and read back, padded on streams, strict about channels and length", "[turn][codec]")
{
    std::vector<uint8_t> out(64);
    const size_t n = turn::write_channel_data(out, 0x4001, bytes_of("hello"));
    REQUIRE(n == 4 + 5);
    CHECK(out[0] == 0x40);
    CHECK(out[1] == 0x01);
    CHECK(out[3] == 5);
    auto frame = turn::read_channel_data(std::span<const uint8_t>(out.data(), n));
    REQUIRE(frame);
    CHECK(frame->channel == 0x4001);
    CHECK(std::string(frame->payload.begin(), frame->payload.end()) == "hello");
    // §12.5: over TCP the message is padded to 4 bytes, and the framing length says so.
    const size_t padded = turn::write_channel_data(out, 0x4001, bytes_of("hello"), true);
    CHECK(padded == 12);
    CHECK(turn::stream_frame_size(std::span<const uint8_t>(out.data(), 4)) == size_t{12});
    CHECK(turn::stream_frame_size(std::span<const uint8_t>(out.data(), 3)) == size_t{0});  // not yet
    const uint8_t garbage[] = {0x99, 0, 0, 0};
    CHECK_FALSE(turn::stream_frame_size(garbage).has_value());

    std::string why;
    const uint8_t short_frame[] = {0x40, 0x00, 0x00, 0x10, 1, 2};
    CHECK_FALSE(turn::read_channel_data(short_frame, &why));
    CHECK_THAT(why, Catch::Contains("exceeds"));
    const uint8_t legacy[] = {0x7F, 0xFE, 0x00, 0x01, 42};
    CHECK_FALSE(turn::read_channel_data(legacy, &why));  // RFC 8656: 0x4000-0x4FFF only
    CHECK_THAT(why, Catch::Contains("0x4FFF"));
    CHECK(turn::read_channel_data(legacy, nullptr, true));  // a server takes RFC 5766's numbers
    CHECK(turn::write_channel_data(out, 0x5000, bytes_of("x")) == 0);
    CHECK(turn::write_channel_data(out, 0x3FFF, bytes_of("x")) == 0);
    CHECK(turn::write_channel_data(std::span<uint8_t>(out.data(), 6), 0x4000, bytes_of("hello")) == 0);  // no room
}

TEST_CASE("coturn's REST credentials match an independent HMAC-SHA1, and carry their expiry", "[turn][codec]")
{
    // The expected password was computed by Python's hmac and base64 modules, independently.
    CHECK(turn::rest_password("north", "1433895918506:my_username") == "Gx/rOncp1ZXBdeBo0S3RrYQnHDA=");
    auto c = turn::rest_credentials("north", "my_username", 1433895918506ull);
    CHECK(c.username == "1433895918506:my_username");
    CHECK(c.password == "Gx/rOncp1ZXBdeBo0S3RrYQnHDA=");
    CHECK(turn::rest_expiry("1700000000:alice") == uint64_t{1700000000});
    CHECK(turn::rest_expiry("1700000000") == uint64_t{1700000000});
    CHECK_FALSE(turn::rest_expiry("alice"));
    CHECK_FALSE(turn::rest_expiry(":alice"));
    CHECK_FALSE(turn::rest_expiry("17x:alice"));
}

TEST_CASE("PASSWORD-ALGORITHMS, the SHA-256 key and the nonce cookie (RFC 8489 §9.2)", "[turn][codec]")
{
    const uint16_t both[] = {1, 2};
    auto value = turn::password_algorithms_value(both);
    stun::Attribute a{stun::attr::PasswordAlgorithms, 0, value};
    auto list = turn::read_password_algorithms(a);
    REQUIRE(list);
    CHECK(*list == std::vector<uint16_t>{1, 2});
    const uint8_t truncated[] = {0, 2, 0, 8, 1, 2};
    stun::Attribute bad{stun::attr::PasswordAlgorithms, 0, truncated};
    std::string why;
    CHECK_FALSE(turn::read_password_algorithms(bad, &why));
    CHECK_FALSE(why.empty());

    auto md5 = turn::long_term_key(turn::PasswordAlgorithm::Md5, "user", "realm", "pass");
    CHECK(md5 == stun::long_term_key("user", "realm", "pass"));
    auto sha = turn::long_term_key(turn::PasswordAlgorithm::Sha256, "user", "realm", "pass");
    REQUIRE(sha.size() == 32);
    CHECK(sha[0] == 0x07);
    CHECK(sha[1] == 0xe9);  // sha256("user:realm:pass") = 07e93411…

    CHECK(turn::nonce_offers_password_algorithms("obMatJos2gAAA-rest-of-nonce"));   // 'g' = 0b100000
    CHECK_FALSE(turn::nonce_offers_password_algorithms("obMatJos2AAAA-rest"));
    CHECK_FALSE(turn::nonce_offers_password_algorithms("ordinary-nonce"));
}
