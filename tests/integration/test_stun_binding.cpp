// The embedded STUN server's Binding usage against the real orbitmesh-server: RFC 8489 and
// RFC 3489 classic requests, indications, 420 for unknown comprehension-required attributes,
// malformed datagrams and other methods dropped and counted, a port in use refused at start.
#include "stun_test_support.hpp"
#include "ws_test_client.hpp"

#include <catch2/catch.hpp>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>

using namespace om::test;
namespace stun = om::proto::stun;
using std::chrono::milliseconds;

TEST_CASE("an RFC 8489 Binding request gets its mapped address and the server's origin", "[stun]") {
    ServerProcess server(stun_args());
    REQUIRE(server.stun_port() > 0);
    StunTestClient client;
    stun::TransactionId id{};
    client.send(binding_request({.fingerprint = true}, &id), loopback(server.stun_port()));
    auto answer = client.receive();
    REQUIRE(answer);
    CHECK(answer->message.cls == stun::Class::SuccessResponse);
    CHECK(answer->message.transaction_id == id);
    CHECK_FALSE(answer->message.classic);
    CHECK(text(*answer->address(stun::attr::XorMappedAddress)) == text(client.local()));
    CHECK(text(*answer->address(stun::attr::MappedAddress)) == text(client.local()));
    CHECK(text(*answer->address(stun::attr::ResponseOrigin)) == text(loopback(server.stun_port())));
    CHECK_FALSE(answer->has(stun::attr::OtherAddress)); // no alternate configured
    CHECK(answer->message.has_fingerprint);
    CHECK(stun_counter(server, "requests") == 1);
    CHECK(stun_counter(server, "responses") == 1);

    // Without FINGERPRINT in the request there is none in the answer.
    client.send(binding_request({}), loopback(server.stun_port()));
    answer = client.receive();
    REQUIRE(answer);
    CHECK_FALSE(answer->message.has_fingerprint);
}

TEST_CASE("a classic RFC 3489 request is answered in kind", "[stun][classic]") {
    ServerProcess server(stun_args({"--stun-alt-port", "-1"}));
    StunTestClient client;
    stun::TransactionId id{};
    client.send(binding_request({.classic = true}, &id), loopback(server.stun_port()));
    auto answer = client.receive();
    REQUIRE(answer);
    CHECK(answer->message.classic);
    CHECK(answer->message.classic_cookie == 0x01020304u); // the request's first 32 id bits back
    CHECK(answer->message.transaction_id == id);
    CHECK(text(*answer->address(stun::attr::MappedAddress)) == text(client.local()));
    CHECK(text(*answer->address(stun::attr::SourceAddress)) == text(loopback(server.stun_port())));
    CHECK(text(*answer->address(stun::attr::ChangedAddress)) == text(loopback(server.stun_alt_port())));
    CHECK_FALSE(answer->has(stun::attr::XorMappedAddress));
    CHECK(stun_counter(server, "classic") == 1);
}

TEST_CASE("a Binding indication is counted and never answered", "[stun]") {
    ServerProcess server(stun_args());
    StunTestClient client;
    client.send(binding_request({.cls = stun::Class::Indication}), loopback(server.stun_port()));
    CHECK_FALSE(client.receive(milliseconds(300)));
    CHECK(stun_counter(server, "indications") == 1);
    CHECK(stun_counter(server, "responses") == 0);
}

TEST_CASE("unknown comprehension-required attributes get 420 with UNKNOWN-ATTRIBUTES", "[stun][error]") {
    ServerProcess server(stun_args());
    StunTestClient client;
    client.send(binding_request({.fingerprint = true, .unknown_required = {0x7F01, 0x7F02}}),
                loopback(server.stun_port()));
    auto answer = client.receive();
    REQUIRE(answer);
    CHECK(answer->message.cls == stun::Class::ErrorResponse);
    CHECK(answer->error_code() == 420);
    CHECK(answer->unknown_attributes() == std::vector<uint16_t>{0x7F01, 0x7F02});
    CHECK(answer->message.has_fingerprint);
    // Unknown comprehension-optional attributes are ignored (RFC 8489 §6.3).
    client.send(binding_request({.unknown_required = {0xC0DE}}), loopback(server.stun_port()));
    answer = client.receive();
    REQUIRE(answer);
    CHECK(answer->message.cls == stun::Class::SuccessResponse);
    // RFC 3489 RESPONSE-ADDRESS would make the server a reflector: refused as not understood.
    client.send(binding_request({.unknown_required = {stun::attr::ResponseAddress}}), loopback(server.stun_port()));
    answer = client.receive();
    REQUIRE(answer);
    CHECK(answer->error_code() == 420);
    CHECK(stun_counter(server, "errors") == 2);
}

TEST_CASE("malformed datagrams and other methods are dropped and counted", "[stun][bad_input]") {
    ServerProcess server(stun_args());
    StunTestClient client;
    std::vector<uint8_t> good = binding_request({.fingerprint = true});
    std::vector<std::vector<uint8_t>> malformed = {
        {},                                                   // empty
        {0x00, 0x01, 0x00},                                   // shorter than a header
        std::vector<uint8_t>(good.begin(), good.begin() + 20), // length field says 8 more bytes
        {0x80, 0x01, 0x00, 0x00},                             // RFC 7983: not STUN
    };
    std::vector<uint8_t> bad_fingerprint = good;
    bad_fingerprint.back() ^= 0xFF;
    malformed.push_back(bad_fingerprint);
    std::vector<uint8_t> bad_attribute = binding_request({.unknown_required = {0x7F01}});
    bad_attribute[23] = 0xFF; // the attribute's length runs past the message
    malformed.push_back(bad_attribute);
    for (const auto& datagram : malformed) client.send(datagram, loopback(server.stun_port()));
    client.send(binding_request({.method = stun::method::Allocate}), loopback(server.stun_port()));
    client.send(binding_request({.cls = stun::Class::SuccessResponse}), loopback(server.stun_port()));
    CHECK_FALSE(client.receive(milliseconds(300)));
    CHECK(stun_counter(server, "malformed") == static_cast<double>(malformed.size()));
    CHECK(stun_counter(server, "unsupported") == 2);
    // The server is still serving.
    client.send(good, loopback(server.stun_port()));
    REQUIRE(client.receive());
}

TEST_CASE("a STUN port already in use fails start with a clear error", "[stun][start]") {
    for (bool holder_reuses_port : {false, true}) {
        DYNAMIC_SECTION("the holder " << (holder_reuses_port ? "has" : "has no") << " SO_REUSEPORT") {
            int holder = ::socket(AF_INET, SOCK_DGRAM, 0);
            int on = 1;
            if (holder_reuses_port) ::setsockopt(holder, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on);
            sockaddr_in sa{};
            sa.sin_family = AF_INET;
            sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            REQUIRE(::bind(holder, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
            socklen_t len = sizeof sa;
            ::getsockname(holder, reinterpret_cast<sockaddr*>(&sa), &len);
            const std::string port = std::to_string(ntohs(sa.sin_port));
            try {
                ServerProcess server({"--open", "--stun-port", port});
                FAIL("the server started on a STUN port in use");
            } catch (const std::runtime_error& e) {
                std::string message = e.what();
                CHECK(message.find("exited at start") != std::string::npos);
                CHECK(message.find("127.0.0.1:" + port + " is not available") != std::string::npos);
            }
            ::close(holder);
        }
    }
}

TEST_CASE("the WebSocket upgrade announces the STUN port, only when STUN is on", "[stun][http]") {
    {
        ServerProcess server(stun_args());
        TestClient signal(server.port());
        CHECK(signal.upgrade_response().find("X-OrbitMesh-Stun-Port: " + std::to_string(server.stun_port()) + "\r\n") !=
              std::string::npos);
    }
    ServerProcess server; // --stun-port 0
    TestClient signal(server.port());
    CHECK(signal.upgrade_response().find("X-OrbitMesh-Stun-Port") == std::string::npos);
}
