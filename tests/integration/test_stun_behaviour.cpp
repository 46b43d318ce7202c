// RFC 5780 behaviour discovery on loopback with an alternate port (one IP: 127.0.0.1):
// OTHER-ADDRESS, RESPONSE-ORIGIN, CHANGE-REQUEST answered from the alternate port, 420 for a
// change the server cannot make, RESPONSE-PORT, and PADDING with RESPONSE-PORT refused.
#include "stun_test_support.hpp"

#include <catch2/catch.hpp>

using namespace om::test;
namespace stun = om::proto::stun;
using std::chrono::milliseconds;

TEST_CASE("with an alternate port: OTHER-ADDRESS, RESPONSE-ORIGIN and CHANGE-REQUEST(port)", "[stun][rfc5780]") {
    ServerProcess server(stun_args({"--stun-alt-port", "-1"}));
    const auto p1 = static_cast<uint16_t>(server.stun_port());
    const auto p2 = static_cast<uint16_t>(server.stun_alt_port());
    REQUIRE(p1 > 0);
    REQUIRE(p2 > 0);
    REQUIRE(p1 != p2);
    StunTestClient client;

    // Test I of §4.3/§4.4: the plain request, answered from (A1,P1), OTHER-ADDRESS (A1,P2).
    client.send(binding_request({}), loopback(p1));
    auto answer = client.receive();
    REQUIRE(answer);
    CHECK(answer->from.port == p1);
    CHECK(text(*answer->address(stun::attr::ResponseOrigin)) == text(loopback(p1)));
    CHECK(text(*answer->address(stun::attr::OtherAddress)) == text(loopback(p2)));

    // Change port: answered from P2, and RESPONSE-ORIGIN says so (§6.1 Table 1, §7.3).
    client.send(binding_request({.change_flags = stun::kChangePort}), loopback(p1));
    answer = client.receive();
    REQUIRE(answer);
    CHECK(answer->message.cls == stun::Class::SuccessResponse);
    CHECK(answer->from.port == p2);
    CHECK(text(*answer->address(stun::attr::ResponseOrigin)) == text(loopback(p2)));
    CHECK(text(*answer->address(stun::attr::XorMappedAddress)) == text(client.local()));

    // Sent to P2: answered from P2, OTHER-ADDRESS names P1; change port there goes back to P1.
    client.send(binding_request({}), loopback(p2));
    answer = client.receive();
    REQUIRE(answer);
    CHECK(answer->from.port == p2);
    CHECK(text(*answer->address(stun::attr::OtherAddress)) == text(loopback(p1)));
    client.send(binding_request({.change_flags = stun::kChangePort}), loopback(p2));
    answer = client.receive();
    REQUIRE(answer);
    CHECK(answer->from.port == p1);

    // Change IP: the server has one IP, so 420 naming CHANGE-REQUEST (RFC 5780 §6, §6.1).
    for (uint32_t flags : {stun::kChangeIp, stun::kChangeIp | stun::kChangePort}) {
        client.send(binding_request({.change_flags = flags}), loopback(p1));
        answer = client.receive();
        REQUIRE(answer);
        CHECK(answer->error_code() == 420);
        CHECK(answer->unknown_attributes() == std::vector<uint16_t>{stun::attr::ChangeRequest});
    }
    // CHANGE-REQUEST with no flag set is a plain request.
    client.send(binding_request({.change_flags = 0}), loopback(p1));
    answer = client.receive();
    REQUIRE(answer);
    CHECK(answer->from.port == p1);
    CHECK(stun_counter(server, "change_requests") == 4);
}

TEST_CASE("without an alternate, CHANGE-REQUEST gets 420 and there is no OTHER-ADDRESS", "[stun][rfc5780]") {
    ServerProcess server(stun_args());
    StunTestClient client;
    client.send(binding_request({.change_flags = stun::kChangePort}), loopback(server.stun_port()));
    auto answer = client.receive();
    REQUIRE(answer);
    CHECK(answer->error_code() == 420);
    CHECK(answer->unknown_attributes() == std::vector<uint16_t>{stun::attr::ChangeRequest});
}

TEST_CASE("RESPONSE-PORT sends the answer to another port of the requesting IP", "[stun][rfc5780]") {
    ServerProcess server(stun_args({"--stun-alt-port", "-1"}));
    StunTestClient sender;
    StunTestClient receiver;
    sender.send(binding_request({.response_port = receiver.local().port}), loopback(server.stun_port()));
    auto answer = receiver.receive();
    REQUIRE(answer);
    CHECK(answer->message.cls == stun::Class::SuccessResponse);
    CHECK(text(*answer->address(stun::attr::XorMappedAddress)) == text(sender.local())); // the request's source
    CHECK_FALSE(sender.receive(milliseconds(200)));

    // RFC 5780 §6.1 / §10: PADDING with RESPONSE-PORT is refused (400), to the source port.
    sender.send(binding_request({.response_port = receiver.local().port, .padding = 64}),
                loopback(server.stun_port()));
    answer = sender.receive();
    REQUIRE(answer);
    CHECK(answer->error_code() == 400);
    CHECK_FALSE(receiver.receive(milliseconds(200)));
}

TEST_CASE("on a wildcard bind, RESPONSE-ORIGIN and OTHER-ADDRESS come from IP_PKTINFO", "[stun][wildcard]") {
    // Listens on 0.0.0.0; the traffic still goes to 127.0.0.1 only.
    ServerProcess server(stun_args({"--stun-alt-port", "-1"}, "0.0.0.0"));
    const auto p1 = static_cast<uint16_t>(server.stun_port());
    const auto p2 = static_cast<uint16_t>(server.stun_alt_port());
    StunTestClient client;
    client.send(binding_request({}), loopback(p1));
    auto answer = client.receive();
    REQUIRE(answer);
    CHECK(text(answer->from) == text(loopback(p1)));
    CHECK(text(*answer->address(stun::attr::ResponseOrigin)) == text(loopback(p1)));
    CHECK(text(*answer->address(stun::attr::OtherAddress)) == text(loopback(p2)));
    client.send(binding_request({.change_flags = stun::kChangePort}), loopback(p1));
    answer = client.receive();
    REQUIRE(answer);
    CHECK(text(answer->from) == text(loopback(p2)));
    CHECK(text(*answer->address(stun::attr::ResponseOrigin)) == text(loopback(p2)));
}
