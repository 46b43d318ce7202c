#include "ws_test_client.hpp"

#include "proto/ws_handshake.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>
#include <stdexcept>

namespace om::test {

namespace {

ws::MaskKey random_mask() {
    static thread_local std::mt19937 random{std::random_device{}()};
    ws::MaskKey key;
    for (auto& b : key) b = static_cast<uint8_t>(random());
    return key;
}

} // namespace

int connect_loopback(int port) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::runtime_error("socket failed");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        ::close(fd);
        throw std::runtime_error(std::string("connect failed: ") + std::strerror(errno));
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    timeval tv{5, 0}; // no test blocks forever on a send
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    return fd;
}

TestClient::TestClient(int port) : fd_(connect_loopback(port)) {
    std::string key = ws::make_client_key();
    std::string request = ws::make_upgrade_request("127.0.0.1:" + std::to_string(port), "/v1/signal", key);
    send_raw(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(request.data()), request.size()));
    std::string received;
    auto deadline = std::chrono::steady_clock::now() + 5s;
    while (ws::response_header_end(received) == std::string::npos) {
        pollfd p{fd_, POLLIN, 0};
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0)
            throw std::runtime_error("no handshake answer");
        char buf[1024];
        ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
        if (n <= 0) throw std::runtime_error("closed during the handshake");
        received.append(buf, static_cast<size_t>(n));
    }
    size_t end = ws::response_header_end(received);
    std::string problem = ws::check_upgrade_response(std::string_view(received).substr(0, end), key);
    if (!problem.empty()) throw std::runtime_error("upgrade refused: " + problem);
    upgrade_response_ = received.substr(0, end);
    if (end < received.size()) { // frames right behind the 101
        decoder_.feed(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(received.data()) + end,
                                               received.size() - end),
                      [&](ws::Message& m) { ready_.push_back(std::move(m)); });
    }
}

TestClient::~TestClient() { ::close(fd_); }

void TestClient::send_raw(std::span<const uint8_t> bytes) {
    size_t sent = 0;
    while (sent < bytes.size()) {
        ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) throw std::runtime_error(std::string("send failed: ") + std::strerror(errno));
        sent += static_cast<size_t>(n);
    }
}

void TestClient::send_frame(ws::Opcode opcode, std::span<const uint8_t> payload, bool fin) {
    std::vector<uint8_t> frame;
    ws::append_frame(frame, opcode, payload, random_mask(), fin);
    send_raw(frame);
}

void TestClient::send(const sig::Message& message) { send_frame(ws::Opcode::Binary, sig::encode(message)); }

bool TestClient::read_some(std::chrono::steady_clock::time_point deadline) {
    if (eof_) return false;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    pollfd p{fd_, POLLIN, 0};
    if (left.count() < 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    uint8_t buf[65536];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) {
        eof_ = true;
        return false;
    }
    auto status = decoder_.feed(std::span<const uint8_t>(buf, static_cast<size_t>(n)),
                                [&](ws::Message& m) { ready_.push_back(std::move(m)); });
    if (status == ws::Decoder::Status::Error) eof_ = true;
    return true;
}

std::optional<ws::Message> TestClient::next_frame(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
        while (!ready_.empty()) {
            ws::Message m = std::move(ready_.front());
            ready_.pop_front();
            if (m.opcode == ws::Opcode::Ping) {
                send_frame(ws::Opcode::Pong, m.payload);
                continue;
            }
            return m;
        }
        if (!read_some(deadline)) return std::nullopt;
    }
}

std::optional<sig::Message> TestClient::receive(std::chrono::milliseconds timeout) {
    auto frame = next_frame(timeout);
    if (!frame || frame->opcode != ws::Opcode::Binary) return std::nullopt;
    auto decoded = sig::decode(frame->payload);
    if (!decoded) return std::nullopt;
    return std::move(*decoded.message);
}

std::optional<uint16_t> TestClient::wait_closed(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        auto frame = next_frame(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()));
        if (frame && frame->opcode == ws::Opcode::Close) return ws::close_info(frame->payload).code;
        if (!frame && eof_) return uint16_t{1006};
    }
    return std::nullopt;
}

sig::Registered TestClient::register_as(const std::string& id, const std::optional<std::string>& token) {
    send(sig::Register{id, token, std::nullopt, std::nullopt});
    auto answer = receive();
    if (!answer) throw std::runtime_error("no answer to register " + id);
    if (auto* e = std::get_if<sig::Error>(&*answer))
        throw std::runtime_error("register " + id + ": error " + std::to_string(e->code) + " " + e->reason);
    if (!std::holds_alternative<sig::Registered>(*answer)) throw std::runtime_error("register " + id + ": unexpected answer");
    return std::get<sig::Registered>(*answer);
}

std::optional<sig::Error> TestClient::register_expecting_error(const std::string& id,
                                                               const std::optional<std::string>& token) {
    send(sig::Register{id, token, std::nullopt, std::nullopt});
    return receive_as<sig::Error>();
}

} // namespace om::test
