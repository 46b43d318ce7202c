#include "tcp_link.h"

#include "proto/address.h"
#include "proto/socket_address.h"
#include "proto/turn.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace om::turnclient {
namespace {
constexpr size_t kMaxFrame = 65535 + 20;  // a STUN message or padded ChannelData
constexpr size_t kMaxQueuedFrames = 1024;  // read but not yet taken: beyond, the link is closed
constexpr long kSendTimeoutMs = 2000;       // a whole frame not written by then ends the link
}

TcpLink::TcpLink(const om_address& server, uint32_t connect_timeout_ms, Wake wake)
    : server_(server), connect_timeout_ms_(connect_timeout_ms), wake_(std::move(wake))
{
}

TcpLink::~TcpLink()
{
    stopping_ = true;
    if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);  // the worker's poll or recv returns
    if (worker_.joinable()) worker_.join();
    if (fd_ >= 0) ::close(fd_);
}

void TcpLink::start()
{
    fd_ = ::socket(server_.family == 6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd_ < 0) {
        finish(State::Failed, std::string("socket: ") + std::strerror(errno));
        return;
    }
    worker_ = std::thread([this] { run(); });
}

void TcpLink::finish(State state, const std::string& why)
{
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (state_ == State::Failed || state_ == State::Closed) return;
        state_ = state;
        why_ = why;
    }
    if (!stopping_) wake_();
}

void TcpLink::run()
{
    proto::SocketAddress to;
    if (!proto::to_socket_address(server_, server_.family == 6 ? AF_INET6 : AF_INET, to)) {
        finish(State::Failed, "the TURN server's address does not fit a TCP socket");
        return;
    }
    if (::connect(fd_, to.get(), to.length) != 0 && errno != EINPROGRESS) {
        finish(State::Failed, std::string("TCP connect to the TURN server: ") + std::strerror(errno));
        return;
    }
    pollfd p{fd_, POLLOUT, 0};
    int error = 0;
    socklen_t len = sizeof error;
    if (::poll(&p, 1, static_cast<int>(connect_timeout_ms_)) <= 0 || stopping_ ||
        ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &error, &len) != 0 || error != 0) {
        finish(State::Failed, std::string("TCP connect to the TURN server: ") +
                                  (error ? std::strerror(error) : "no answer within the timeout"));
        return;
    }
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    // The loop thread's writes are bounded: a server that stops reading (or a dead path) ends
    // the link after kSendTimeoutMs instead of stalling the agent.
    const timeval send_timeout{kSendTimeoutMs / 1000, (kSendTimeoutMs % 1000) * 1000};
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &send_timeout, sizeof send_timeout);
    const unsigned user_timeout = 10000;  // unacknowledged data for 10 s: the connection is dead
    ::setsockopt(fd_, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout, sizeof user_timeout);
    // Blocking from here: the loop thread writes whole frames, this thread reads.
    ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) & ~O_NONBLOCK);
    {
        std::lock_guard<std::mutex> lock(mutex_);
        state_ = State::Connected;
    }
    wake_();
    std::vector<uint8_t> in;
    uint8_t buf[65536];
    while (!stopping_) {
        const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
        if (n <= 0) {
            if (n < 0 && errno == EINTR) continue;
            finish(State::Closed, n == 0 ? "the TURN server closed the TCP connection"
                                         : std::string("TCP to the TURN server: ") + std::strerror(errno));
            return;
        }
        in.insert(in.end(), buf, buf + n);
        size_t at = 0;
        std::vector<std::vector<uint8_t>> whole;
        for (;;) {
            const auto size = proto::turn::stream_frame_size(std::span<const uint8_t>(in).subspan(at));
            if (!size || *size > kMaxFrame) {
                finish(State::Closed, "the TURN server sent something that is no STUN or ChannelData frame");
                return;
            }
            if (*size == 0 || *size > in.size() - at) break;
            whole.emplace_back(in.begin() + static_cast<std::ptrdiff_t>(at), in.begin() + static_cast<std::ptrdiff_t>(at + *size));
            at += *size;
        }
        in.erase(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(at));
        if (whole.empty()) continue;
        bool first = false;
        {
            std::unique_lock<std::mutex> lock(mutex_);
            if (frames_.size() + whole.size() > kMaxQueuedFrames) {
                lock.unlock();
                ::shutdown(fd_, SHUT_RDWR);
                finish(State::Closed, "the agent did not keep up with the TURN server's frames");
                return;
            }
            first = frames_.empty();
            for (auto& f : whole) frames_.push_back(std::move(f));
        }
        if (first && !stopping_) wake_();  // one wake-up per batch the loop has not taken yet
    }
}

int32_t TcpLink::send(std::span<const uint8_t> frame)
{
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (state_ != State::Connected) return OM_ERR_CLOSED;
    }
    size_t sent = 0;
    while (sent < frame.size()) {
        const ssize_t n = ::send(fd_, frame.data() + sent, frame.size() - sent, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            // Timed out or broken, possibly in the middle of a frame: the stream is no longer in
            // step, so the link ends (the worker wakes the loop with the reason).
            ::shutdown(fd_, SHUT_RDWR);
            finish(State::Closed, std::string("writing to the TURN server over TCP: ") +
                                      (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) ? "it stopped reading" : std::strerror(errno)));
            return OM_ERR_IO;
        }
        sent += static_cast<size_t>(n);
    }
    return OM_OK;
}

TcpLink::State TcpLink::take(std::vector<std::vector<uint8_t>>& frames, std::string& why)
{
    std::lock_guard<std::mutex> lock(mutex_);
    frames.swap(frames_);
    frames_.clear();
    why = why_;
    return state_;
}

}  // namespace om::turnclient
