// RFC 6455 §4 client handshake: the request we send and the checks on the server's answer.
#include "proto/ws_handshake.h"

#include <catch2/catch.hpp>

using namespace om::proto::ws;

TEST_CASE("the accept key matches the RFC 6455 section 1.3 example", "[ws][handshake]")
{
    CHECK(accept_key_for("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST_CASE("client keys are 16 random bytes in base64 and differ each time", "[ws][handshake]")
{
    auto a = make_client_key(), b = make_client_key();
    CHECK(a.size() == 24);
    CHECK(a.substr(22) == "==");
    CHECK(a != b);
}

TEST_CASE("the upgrade request carries the section 4.1 headers", "[ws][handshake]")
{
    auto r = make_upgrade_request("127.0.0.1:8080", "/v1/signal", "KEY");
    CHECK(r.rfind("GET /v1/signal HTTP/1.1\r\n", 0) == 0);
    for (const char* h : {"Host: 127.0.0.1:8080\r\n", "Upgrade: websocket\r\n", "Connection: Upgrade\r\n",
                          "Sec-WebSocket-Key: KEY\r\n", "Sec-WebSocket-Version: 13\r\n"})
        CHECK(r.find(h) != std::string::npos);
    CHECK(r.substr(r.size() - 4) == "\r\n\r\n");
}

TEST_CASE("server answers are checked: status, upgrade headers and accept key", "[ws][handshake]")
{
    const std::string key = "dGhlIHNhbXBsZSBub25jZQ==";
    const std::string good = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: WebSocket\r\nconnection: keep-alive, Upgrade\r\n"
                             "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
    CHECK(response_header_end(good) == good.size());
    CHECK(response_header_end(good.substr(0, good.size() - 1)) == std::string::npos);
    CHECK(check_upgrade_response(good, key).empty());
    CHECK(check_upgrade_response("HTTP/1.1 404 Not Found\r\n\r\n", key).find("404 Not Found") != std::string::npos);
    std::string wrong_accept = good;
    wrong_accept.replace(wrong_accept.find("s3pP"), 4, "AAAA");
    CHECK(check_upgrade_response(wrong_accept, key).find("Accept") != std::string::npos);
    CHECK_FALSE(check_upgrade_response("HTTP/1.1 101 OK\r\nConnection: Upgrade\r\n\r\n", key).empty());
}

TEST_CASE("a header of the server's answer is found by name, whatever its case", "[ws][handshake]")
{
    const std::string headers = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                                "x-orbitmesh-stun-port:  3478 \r\nConnection: Upgrade\r\n\r\n";
    CHECK(om::proto::ws::header_value(headers, "X-OrbitMesh-Stun-Port") == std::optional<std::string>("3478"));
    CHECK(om::proto::ws::header_value(headers, "Upgrade") == std::optional<std::string>("websocket"));
    CHECK_FALSE(om::proto::ws::header_value(headers, "X-Missing"));
    // The status line is not a header.
    CHECK_FALSE(om::proto::ws::header_value(headers, "HTTP/1.1 101 Switching Protocols"));
}
