#include "proto/address.h"

#include <catch2/catch.hpp>

using om::proto::format_address;
using om::proto::parse_address;

TEST_CASE("addresses round-trip through their text form", "[address]")
{
    for (const char* text : {"127.0.0.1:5000", "[::1]:443", "10.0.1.2:0", "[fe80::1%2]:9", "[2001:db8::7]:65535"}) {
        om_address a{};
        REQUIRE(parse_address(text, 0, a));
        CHECK(format_address(a) == text);
    }
}

TEST_CASE("a bare address takes the default port", "[address]")
{
    om_address a{};
    REQUIRE(parse_address("127.0.0.1", 3478, a));
    CHECK(a.family == 4);
    CHECK(a.port == 3478);
    REQUIRE(parse_address("::1", 7, a));
    CHECK(a.family == 6);
    CHECK(format_address(a) == "[::1]:7");
}

TEST_CASE("malformed addresses are rejected with a reason", "[address]")
{
    for (const char* text : {"", "1.2.3.4:", "1.2.3.4:65536", "1.2.3.4:-1", "1.2.3.4:12x", "[::1", "[::1]x",
                             "example.com:80", "300.1.1.1:5", "1.2.3:5"}) {
        om_address a{};
        std::string why;
        INFO(text);
        CHECK_FALSE(parse_address(text, 0, a, &why));
        CHECK_FALSE(why.empty());
    }
}

TEST_CASE("loopback and unspecified addresses are recognised", "[address]")
{
    om_address a{};
    REQUIRE(parse_address("127.8.9.10:1", 0, a));
    CHECK(om::proto::is_loopback(a));
    REQUIRE(parse_address("0.0.0.0:1", 0, a));
    CHECK(om::proto::is_unspecified(a));
    REQUIRE(parse_address("[::]:1", 0, a));
    CHECK(om::proto::is_unspecified(a));
}
