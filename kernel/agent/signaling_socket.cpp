#include "agent/signaling_socket.h"

#include "agent/resolve_host.h"

#include "core/error.h"
#include "proto/address.h"
#include "proto/ws_handshake.h"

#include <Poco/Exception.h>
#include <Poco/URI.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace om {
namespace {

constexpr size_t kMaxHandshakeBytes = 8192;
constexpr size_t kReadChunk = 64 * 1024;

} // namespace

std::optional<std::string> SignalingSocket::response_header(std::string_view name) const
{
    return proto::ws::header_value(response_headers_, name);
}

ServerUrl ServerUrl::parse(const std::string& url)
{
    ServerUrl out;
    try {
        Poco::URI uri(url);
        if (uri.getScheme() == "wss") fail(OM_ERR_NOT_SUPPORTED, "server_url \"" + url + "\": wss:// (TLS) is not yet supported");
        if (uri.getScheme() != "ws") fail(OM_ERR_INVALID_ARGUMENT, "server_url \"" + url + "\" must start with ws://");
        out.host = uri.getHost();
        out.port = uri.getPort() ? uri.getPort() : 80;
        if (!uri.getPathEtc().empty() && uri.getPathEtc() != "/") out.path = uri.getPathEtc();
    } catch (const Poco::Exception& e) {
        fail(OM_ERR_INVALID_ARGUMENT, "server_url \"" + url + "\": " + e.displayText());
    }
    if (out.host.empty()) fail(OM_ERR_INVALID_ARGUMENT, "server_url \"" + url + "\" has no host");
    return out;
}

std::string ServerUrl::host_port() const
{
    bool v6 = host.find(':') != std::string::npos;
    return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

SignalingSocket::SignalingSocket(EventLoop& loop, Callbacks callbacks, size_t max_message, size_t max_queued)
    : loop_(loop), callbacks_(std::move(callbacks)), max_queued_(max_queued),
      decoder_(proto::ws::DecoderOptions{proto::ws::Role::Client, max_message, true}),
      mask_rng_(std::random_device{}())
{
}

SignalingSocket::~SignalingSocket()
{
    teardown();
}

void SignalingSocket::open(const ServerUrl& url)
{
    om_address server = resolve_host(url.host, url.port);
    server_address_ = server;
    sockaddr_storage storage{};
    socklen_t length = 0;
    if (server.family == 4) {
        auto* sin = reinterpret_cast<sockaddr_in*>(&storage);
        sin->sin_family = AF_INET;
        sin->sin_port = htons(server.port);
        std::memcpy(&sin->sin_addr, server.bytes, 4);
        length = sizeof(sockaddr_in);
    } else {
        auto* sin6 = reinterpret_cast<sockaddr_in6*>(&storage);
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(server.port);
        std::memcpy(&sin6->sin6_addr, server.bytes, 16);
        sin6->sin6_scope_id = server.scope_id;
        length = sizeof(sockaddr_in6);
    }
    fd_ = ::socket(storage.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0) om::fail(OM_ERR_IO, std::string("socket: ") + std::strerror(errno));
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // small signaling messages
    int rc = ::connect(fd_, reinterpret_cast<sockaddr*>(&storage), length);
    if (rc < 0 && errno != EINPROGRESS) {
        std::string why = std::strerror(errno);
        teardown();
        om::fail(OM_ERR_UNREACHABLE, "connect to " + url.host_port() + ": " + why);
    }
    key_ = proto::ws::make_client_key();
    std::string request = proto::ws::make_upgrade_request(url.host_port(), url.path, key_);
    out_.assign(request.begin(), request.end());
    out_sent_ = 0;
    phase_ = Phase::Connecting;
    loop_.watch_fd(fd_, [this] { on_readable(); });
    loop_.watch_fd_writable(fd_, [this] { on_writable(); });
}

void SignalingSocket::on_writable()
{
    if (phase_ == Phase::Connecting) {
        int error = 0;
        socklen_t len = sizeof error;
        getsockopt(fd_, SOL_SOCKET, SO_ERROR, &error, &len);
        if (error != 0) return fail(std::string("connect: ") + std::strerror(error));
        phase_ = Phase::Handshake;
    }
    flush();
}

void SignalingSocket::flush()
{
    while (out_sent_ < out_.size()) {
        ssize_t n = ::send(fd_, out_.data() + out_sent_, out_.size() - out_sent_, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
            return fail(std::string("send: ") + std::strerror(errno));
        }
        out_sent_ += static_cast<size_t>(n);
    }
    if (out_sent_ == out_.size()) {
        out_.clear();
        out_sent_ = 0;
        loop_.unwatch_fd_writable(fd_);
    } else {
        if (out_sent_ > 64 * 1024) {  // keep the buffer from only growing at its front
            out_.erase(out_.begin(), out_.begin() + static_cast<std::ptrdiff_t>(out_sent_));
            out_sent_ = 0;
        }
        loop_.watch_fd_writable(fd_, [this] { on_writable(); });
    }
}

void SignalingSocket::on_readable()
{
    if (phase_ == Phase::Connecting) return;  // the writable side reports the connect result
    uint8_t chunk[kReadChunk];
    while (fd_ >= 0) {
        ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
        if (n == 0) return fail("the server closed the connection");
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) return;
            return fail(std::string("recv: ") + std::strerror(errno));
        }
        std::span<const uint8_t> input(chunk, static_cast<size_t>(n));
        if (phase_ == Phase::Handshake) {
            handshake_in_.append(reinterpret_cast<const char*>(chunk), static_cast<size_t>(n));
            size_t end = proto::ws::response_header_end(handshake_in_);
            if (end == std::string::npos) {
                if (handshake_in_.size() > kMaxHandshakeBytes) return fail("the server's handshake answer is too long");
                continue;
            }
            std::string problem = proto::ws::check_upgrade_response(std::string_view(handshake_in_).substr(0, end), key_);
            if (!problem.empty()) return fail(problem);
            size_t extra = handshake_in_.size() - end;  // frames right behind the headers
            response_headers_ = handshake_in_.substr(0, end);
            phase_ = Phase::Open;
            if (callbacks_.on_open) callbacks_.on_open();
            if (phase_ != Phase::Open || extra == 0) continue;
            input = std::span<const uint8_t>(chunk + (static_cast<size_t>(n) - extra), extra);
        }
        auto status = decoder_.feed(input, [this](proto::ws::Message& m) {
            if (phase_ != Phase::Open) return;
            using proto::ws::Opcode;
            if (m.opcode == Opcode::Binary || m.opcode == Opcode::Text) {
                if (callbacks_.on_message) callbacks_.on_message(m.payload);
            } else if (m.opcode == Opcode::Ping) {
                queue_frame(Opcode::Pong, m.payload);  // §5.5.2
            } else if (m.opcode == Opcode::Close) {
                auto info = proto::ws::close_info(m.payload);
                fail("the server closed the connection (" + std::to_string(info.code) +
                     (info.reason.empty() ? "" : ": " + info.reason) + ")");
            }
        });
        if (status == proto::ws::Decoder::Status::Error) {
            const auto& e = decoder_.error();
            close(static_cast<uint16_t>(e.close_code), e.message);
            if (callbacks_.on_closed) callbacks_.on_closed("invalid frame from the server: " + e.message);
            return;
        }
    }
}

void SignalingSocket::queue_frame(proto::ws::Opcode opcode, std::span<const uint8_t> payload)
{
    proto::ws::MaskKey mask;  // §5.3: a fresh key per client frame
    uint32_t r = mask_rng_();
    std::memcpy(mask.data(), &r, 4);
    proto::ws::append_frame(out_, opcode, payload, mask);
    flush();
}

om_status SignalingSocket::send(const std::vector<uint8_t>& message)
{
    if (phase_ != Phase::Open) return OM_ERR_CLOSED;
    if (queued_bytes() + message.size() > max_queued_) return OM_ERR_WOULD_BLOCK;
    queue_frame(proto::ws::Opcode::Binary, message);
    return phase_ == Phase::Open || phase_ == Phase::Idle ? OM_OK : OM_ERR_CLOSED;
}

void SignalingSocket::close(uint16_t code, const std::string& reason)
{
    if (fd_ >= 0 && phase_ == Phase::Open) {
        proto::ws::MaskKey mask{};
        auto frame = proto::ws::encode_close(static_cast<proto::ws::CloseCode>(code), reason, mask);
        ssize_t n = ::send(fd_, frame.data(), frame.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        (void)n;  // best effort: the connection is going away either way
    }
    teardown();
}

void SignalingSocket::fail(const std::string& reason)
{
    if (phase_ == Phase::Closed || phase_ == Phase::Idle) return;
    teardown();
    if (callbacks_.on_closed) callbacks_.on_closed(reason);
}

void SignalingSocket::teardown()
{
    if (fd_ >= 0) {
        loop_.unwatch_fd(fd_);
        ::close(fd_);
        fd_ = -1;
    }
    phase_ = Phase::Closed;
    out_.clear();
    out_sent_ = 0;
}

} // namespace om
