// A test-only WebSocket client over a plain blocking-with-timeout TCP socket to 127.0.0.1:
// the RFC 6455 handshake and framing come from libs/proto, so tests can also send raw,
// half or broken frames on purpose.
#pragma once

#include "proto/signal_message.h"
#include "proto/ws_frame.h"

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace om::test {

namespace ws = om::proto::ws;
namespace sig = om::proto::signaling;
using namespace std::chrono_literals;

// A TCP connection to 127.0.0.1:port; throws on failure.
int connect_loopback(int port);

class TestClient {
public:
    explicit TestClient(int port); // connects and completes the upgrade to /v1/signal
    ~TestClient();
    TestClient(const TestClient&) = delete;
    TestClient& operator=(const TestClient&) = delete;

    void send_raw(std::span<const uint8_t> bytes);
    void send_frame(ws::Opcode opcode, std::span<const uint8_t> payload, bool fin = true); // masked
    void send(const sig::Message& message);

    // The next WebSocket message of any kind (pings from the server are answered and skipped).
    std::optional<ws::Message> next_frame(std::chrono::milliseconds timeout = 3s);
    // The next data message, decoded; nullopt on timeout, close or a frame that does not decode.
    std::optional<sig::Message> receive(std::chrono::milliseconds timeout = 3s);
    template <class T>
    std::optional<T> receive_as(std::chrono::milliseconds timeout = 3s) {
        auto m = receive(timeout);
        if (m && std::holds_alternative<T>(*m)) return std::get<T>(*m);
        return std::nullopt;
    }
    // Reads until the server's Close frame or EOF; returns the close code (1006 for a bare EOF)
    // or nullopt if the connection is still open at the deadline.
    std::optional<uint16_t> wait_closed(std::chrono::milliseconds timeout = 3s);

    // register -> registered; throws with the server's error otherwise.
    sig::Registered register_as(const std::string& id, const std::optional<std::string>& token = std::nullopt);
    // After register: an `error` answer (nullopt if something else came).
    std::optional<sig::Error> register_expecting_error(const std::string& id, const std::optional<std::string>& token);

    bool eof() const { return eof_; }
    // The server's handshake answer (status line and headers).
    const std::string& upgrade_response() const { return upgrade_response_; }

private:
    std::string upgrade_response_;
    bool read_some(std::chrono::steady_clock::time_point deadline);

    int fd_ = -1;
    ws::Decoder decoder_{ws::DecoderOptions{ws::Role::Client, 8u << 20, false}};
    std::deque<ws::Message> ready_;
    bool eof_ = false;
};

} // namespace om::test
