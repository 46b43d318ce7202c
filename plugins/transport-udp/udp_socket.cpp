#include "udp_socket.h"
#include "udp_gso.h"

#include "proto/address.h"

#include <unistd.h>

#include <orbitmesh_plugin_support/plugin_error.h>

#include <cerrno>


namespace om::udp {

using plugin::describe_errno;
using plugin::PluginError;
using plugin::status_for_errno;

namespace {

void request_buffer(int fd, int option, uint32_t bytes) noexcept
{
    if (bytes == 0) return;
    const int value = bytes > 0x7FFFFFFFu ? 0x7FFFFFFF : static_cast<int>(bytes);
    // Best effort: the kernel silently caps at its maximum, which is what we accept.
    (void)setsockopt(fd, SOL_SOCKET, option, &value, sizeof value);
}

uint32_t read_buffer(int fd, int option, const char* name)
{
    int value = 0;
    socklen_t length = sizeof value;
    if (getsockopt(fd, SOL_SOCKET, option, &value, &length) != 0)
        throw PluginError(status_for_errno(errno), describe_errno(std::string("getsockopt ") + name, errno));
    return static_cast<uint32_t>(value);
}

}  // namespace

void UdpSocket::open(const proto::SocketAddress& bind_address, const std::string& bind_text,
                     const SocketBuffers& wanted)
{
    if (is_open()) throw PluginError(OM_ERR_STATE, "already open");
    const int family = bind_address.family();
    const int fd = ::socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) throw PluginError(status_for_errno(errno), describe_errno("socket for " + bind_text, errno));
    fd_ = fd;
    family_ = family;

    if (family == AF_INET6 && proto::is_unspecified(proto::from_socket_address(bind_address.storage))) {
        // Dual-stack whatever net.ipv6.bindv6only says, so "[::]:0" also reaches IPv4 peers.
        const int off = 0;
        (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
    }
    request_buffers(wanted);
    if (::bind(fd, bind_address.get(), bind_address.length) != 0) {
        const int error = errno;
        close();
        throw PluginError(status_for_errno(error), describe_errno("bind " + bind_text, error));
    }
}

void UdpSocket::close() noexcept
{
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    family_ = 0;
}

void UdpSocket::request_buffers(const SocketBuffers& wanted) noexcept
{
    if (!is_open()) return;
    request_buffer(fd_, SO_RCVBUF, wanted.receive);
    request_buffer(fd_, SO_SNDBUF, wanted.send);
}

SocketBuffers UdpSocket::buffers() const
{
    if (!is_open()) throw PluginError(OM_ERR_STATE, "not open");
    return {read_buffer(fd_, SO_RCVBUF, "SO_RCVBUF"), read_buffer(fd_, SO_SNDBUF, "SO_SNDBUF")};
}

proto::SocketAddress UdpSocket::local_address() const
{
    if (!is_open()) throw PluginError(OM_ERR_STATE, "not open");
    proto::SocketAddress out;
    out.length = sizeof out.storage;
    if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&out.storage), &out.length) != 0)
        throw PluginError(status_for_errno(errno), describe_errno("getsockname", errno));
    return out;
}

bool UdpSocket::supports_gso() const noexcept
{
    if (!is_open()) return false;
    int segment = 0;
    socklen_t length = sizeof segment;
    return getsockopt(fd_, SOL_UDP, UDP_SEGMENT, &segment, &length) == 0;
}

bool UdpSocket::enable_gro() noexcept
{
    if (!is_open()) return false;
    const int on = 1;
    return setsockopt(fd_, SOL_UDP, UDP_GRO, &on, sizeof on) == 0;
}

}  // namespace om::udp
