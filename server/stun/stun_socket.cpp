#include "stun/stun_socket.hpp"

#include "stun/socket_address.hpp"

#include "core/error.h"
#include "proto/address.h"
#include "proto/socket_address.h"

#include <linux/filter.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace om::server::stun_net {
namespace {

void set_int(int fd, int level, int name, int value) {
    if (::setsockopt(fd, level, name, &value, sizeof value) != 0) {
        int e = errno;
        ::close(fd);
        om::fail(OM_ERR_IO, std::string("setsockopt: ") + std::strerror(e));
    }
}

int bound_socket(const om_address& address, bool reuse_port, bool pktinfo, int& error) {
    const int family = address.family == 4 ? AF_INET : AF_INET6;
    int fd = ::socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        error = errno;
        return -1;
    }
    if (family == AF_INET6) set_int(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1);
    if (reuse_port) set_int(fd, SOL_SOCKET, SO_REUSEPORT, 1);
    // A deeper receive queue absorbs bursts (many clients' requests at once). Above
    // net.core.rmem_max only with CAP_NET_ADMIN (SO_RCVBUFFORCE); otherwise the kernel caps it.
    const int receive_buffer = 4 << 20;
    if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &receive_buffer, sizeof receive_buffer) != 0)
        ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
    if (pktinfo) {
        if (family == AF_INET) set_int(fd, IPPROTO_IP, IP_PKTINFO, 1);
        else set_int(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1);
    }
    proto::SocketAddress sa;
    proto::to_socket_address(address, family, sa);
    if (::bind(fd, sa.get(), sa.length) != 0) {
        error = errno;
        ::close(fd);
        return -1;
    }
    return fd;
}

} // namespace

int open_udp(const om_address& address, bool reuse_port, bool pktinfo) {
    int error = 0;
    int fd = bound_socket(address, reuse_port, pktinfo, error);
    if (fd < 0)
        om::fail(OM_ERR_IO, "STUN: cannot bind UDP " + proto::format_address(address) + ": " + std::strerror(error));
    return fd;
}

om_address local_address(int fd) {
    sockaddr_storage sa{};
    socklen_t len = sizeof sa;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
    return proto::from_socket_address(sa);
}

bool port_is_free(const om_address& address, std::string* why) {
    int error = 0;
    int fd = bound_socket(address, false, false, error);
    if (fd < 0) {
        if (why) *why = std::strerror(error);
        return false;
    }
    ::close(fd);
    return true;
}

bool steer_by_source_ip(int fd, int family, uint32_t group_size) {
    if (group_size < 2) return true;
    // The source address's last 32 bits (IPv4: offset 12 of the IP header; IPv6: 8 + 12), modulo
    // the group size, is the index of the socket that receives it (SO_ATTACH_REUSEPORT_CBPF).
    const uint32_t offset = family == 4 ? 12 : 20;
    sock_filter code[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, static_cast<uint32_t>(SKF_NET_OFF) + offset),
        BPF_STMT(BPF_ALU | BPF_MOD | BPF_K, group_size),
        BPF_STMT(BPF_RET | BPF_A, 0),
    };
    sock_fprog program{static_cast<unsigned short>(sizeof code / sizeof code[0]), code};
    return ::setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &program, sizeof program) == 0;
}

void close_fd(int fd) {
    if (fd >= 0) ::close(fd);
}

} // namespace om::server::stun_net
