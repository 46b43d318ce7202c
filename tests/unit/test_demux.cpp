// RFC 7983 §7 first-byte ranges.
#include "proto/demux.h"

#include <catch2/catch.hpp>

using om::proto::classify_datagram;
using om::proto::DatagramClass;

TEST_CASE("demux sorts datagrams by their first byte as RFC 7983 says", "[demux]")
{
    auto cls = [](uint8_t first) { return classify_datagram(&first, 1); };
    for (int b = 0; b <= 3; ++b) CHECK(cls(uint8_t(b)) == DatagramClass::Stun);
    for (int b = 16; b <= 19; ++b) CHECK(cls(uint8_t(b)) == DatagramClass::Zrtp);
    for (int b = 20; b <= 63; ++b) CHECK(cls(uint8_t(b)) == DatagramClass::Dtls);
    for (int b = 64; b <= 79; ++b) CHECK(cls(uint8_t(b)) == DatagramClass::TurnChannel);
    for (int b = 128; b <= 191; ++b) CHECK(cls(uint8_t(b)) == DatagramClass::Rtp);
    for (int b : {4, 15, 80, 100, 127, 192, 255}) CHECK(cls(uint8_t(b)) == DatagramClass::Delivery);
}

TEST_CASE("demux treats an empty datagram as nothing to route", "[demux]")
{
    CHECK(classify_datagram(nullptr, 0) == DatagramClass::Empty);
    uint8_t b = 0;
    CHECK(classify_datagram(&b, 0) == DatagramClass::Empty);
    CHECK(std::string(om::proto::datagram_class_name(DatagramClass::TurnChannel)) == "turn_channel");
}
