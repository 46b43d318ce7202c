#include "net/connection.hpp"

#include "hub/server_config.hpp"
#include "hub/server_metrics.hpp"
#include "net/connection_events.hpp"
#include "proto/ws_frame.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace om::server {

namespace ws = om::proto::ws;

namespace {

constexpr auto close_grace = std::chrono::seconds(2);
constexpr size_t max_read_per_wakeup = 256 * 1024; // fairness between connections of a reactor
constexpr uint32_t read_events = EPOLLIN | EPOLLRDHUP;

} // namespace

// The decoder of one connection (RFC 6455 §5: a server refuses unmasked client frames and a
// data message larger than max_frame_bytes before buffering it).
class FrameReader {
public:
    explicit FrameReader(size_t max_message) // twice the hub limit: 413 below, close 1009 above
        : decoder_(ws::DecoderOptions{ws::Role::Server, max_message, false}) {}
    ws::Decoder decoder_;
};

Connection::Connection(int fd, int epoll_fd, const ServerConfig& config, ServerMetrics& metrics)
    : relay_budget(config.relay_bytes_per_s), fd_(fd), epoll_fd_(epoll_fd), config_(config), metrics_(metrics),
      opened_at_(Clock::now()), reader_(std::make_unique<FrameReader>(2 * config.max_frame_bytes)) {
    ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) | O_NONBLOCK); // the reactor never blocks on it
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

Connection::~Connection() { ::close(fd_); }

bool Connection::watch() {
    std::lock_guard<std::mutex> lock(out_mutex_);
    epoll_event ev{};
    ev.events = read_events;
    ev.data.fd = fd_;
    return ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd_, &ev) == 0;
}

void Connection::want_write(bool on) {
    if (writing_armed_ == on || shut_) return;
    epoll_event ev{};
    ev.events = read_events | (on ? EPOLLOUT : 0u);
    ev.data.fd = fd_;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd_, &ev);
    writing_armed_ = on;
}

void Connection::read_available(std::vector<uint8_t>& scratch, ConnectionEvents& events) {
    auto self = shared_from_this();
    size_t total = 0;
    while (!peer_gone_ && total < max_read_per_wakeup) {
        ssize_t n = ::recv(fd_, scratch.data(), scratch.size(), MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
            peer_gone_ = true;
            break;
        }
        if (n < 0) {
            if (errno == EINTR) continue;
            break; // EAGAIN: all read; a partial frame simply waits in the decoder
        }
        total += static_cast<size_t>(n);
        if (reader_->decoder_.failed() || closing()) continue; // discard until the peer goes
        last_seen_ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch()).count();
        auto status = reader_->decoder_.feed(
            std::span<const uint8_t>(scratch.data(), static_cast<size_t>(n)), [&](ws::Message& message) {
                if (closing()) return;
                switch (message.opcode) {
                case ws::Opcode::Ping: // §5.5.2: answer with the same payload
                    {
                        std::lock_guard<std::mutex> lock(out_mutex_);
                        queue_frame(static_cast<uint8_t>(ws::Opcode::Pong), message.payload, true);
                    }
                    break;
                case ws::Opcode::Pong: break; // §5.5.3: unsolicited pongs are ignored
                case ws::Opcode::Close: {     // §5.5.1: echo the code, then close
                    ws::CloseInfo info = ws::close_info(message.payload);
                    uint16_t code = ws::is_sendable_close_code(info.code) ? info.code
                                                                            : static_cast<uint16_t>(ws::CloseCode::Normal);
                    close(code, "");
                    break;
                }
                default: events.on_message(self, message.payload); break;
                }
            });
        if (status == ws::Decoder::Status::Error) {
            const ws::DecodeError& error = reader_->decoder_.error();
            on_frame_error(static_cast<uint16_t>(error.close_code), error.message);
        }
    }
}

void Connection::on_frame_error(uint16_t close_code, std::string_view reason) {
    metrics_.add(metric::errors(close_code == static_cast<uint16_t>(ws::CloseCode::MessageTooBig) ? "frame_too_big"
                                                                                                  : "bad_frame"));
    close(close_code, reason);
}

bool Connection::queue_frame(uint8_t opcode, std::span<const uint8_t> payload, bool bounded) {
    if (shut_ || (closing() && opcode != static_cast<uint8_t>(ws::Opcode::Close))) return false;
    std::array<uint8_t, ws::kMaxHeaderSize> header{};
    size_t header_size = ws::encode_header(header, static_cast<ws::Opcode>(opcode), payload.size(), std::nullopt);
    size_t queued = out_.size() - out_offset_;
    if (bounded && queued + header_size + payload.size() > config_.send_queue_bytes) return false;
    if (out_offset_ > 0 && out_offset_ == out_.size()) {
        out_.clear();
        out_offset_ = 0;
    }
    out_.append(reinterpret_cast<const char*>(header.data()), header_size);
    out_.append(reinterpret_cast<const char*>(payload.data()), payload.size());
    if (queued == 0) write_queued(); // nothing waits for EPOLLOUT: try now
    return true;
}

void Connection::write_queued() {
    while (out_offset_ < out_.size()) {
        ssize_t n = ::send(fd_, out_.data() + out_offset_, out_.size() - out_offset_, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        if (n <= 0) { // the peer is gone; reading will find out
            out_.clear();
            out_offset_ = 0;
            break;
        }
        out_offset_ += static_cast<size_t>(n);
    }
    bool drained = out_offset_ == out_.size();
    if (drained) {
        out_.clear();
        out_offset_ = 0;
        if (out_.capacity() > 64 * 1024) out_.shrink_to_fit(); // idle connections stay small
        if (closing()) ::shutdown(fd_, SHUT_RDWR);           // close frame sent (RFC 6455 §7.1.1)
    } else if (out_offset_ > (1u << 16) && out_offset_ > out_.size() / 2) {
        out_.erase(0, out_offset_);
        out_offset_ = 0;
    }
    want_write(!drained);
}

void Connection::flush() {
    std::lock_guard<std::mutex> lock(out_mutex_);
    write_queued();
}

Connection::SendResult Connection::send_binary(std::span<const uint8_t> message) {
    std::lock_guard<std::mutex> lock(out_mutex_);
    if (shut_ || closing()) return SendResult::Closed;
    return queue_frame(static_cast<uint8_t>(ws::Opcode::Binary), message, true) ? SendResult::Queued
                                                                                : SendResult::Overloaded;
}

void Connection::close(uint16_t code, std::string_view reason) {
    std::lock_guard<std::mutex> lock(out_mutex_);
    if (shut_ || closing()) return;
    close_deadline_ = Clock::now() + close_grace;
    closing_.store(true, std::memory_order_release);
    std::vector<uint8_t> frame = ws::encode_close(static_cast<ws::CloseCode>(code), reason);
    // The close frame goes out even past the bound: it is small and the last one.
    size_t queued = out_.size() - out_offset_;
    out_.append(reinterpret_cast<const char*>(frame.data()), frame.size());
    if (queued == 0) write_queued();
}

bool Connection::finished(Clock::time_point now) const {
    if (peer_gone_) return true;
    std::lock_guard<std::mutex> lock(out_mutex_);
    return closing() && now >= close_deadline_;
}

void Connection::shut() {
    std::lock_guard<std::mutex> lock(out_mutex_);
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd_, nullptr); // the hub may still hold a reference
    shut_ = true;
    out_.clear();
    out_.shrink_to_fit();
    out_offset_ = 0;
}

} // namespace om::server
