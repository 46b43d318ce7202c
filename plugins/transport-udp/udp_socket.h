// The UDP socket itself: creation, binding, buffer sizes, local address. Owns the descriptor.
#pragma once

#include "proto/socket_address.h"

#include <cstdint>
#include <string>

namespace om::udp {

struct SocketBuffers {
    uint32_t receive = 0;
    uint32_t send = 0;
};

class UdpSocket {
public:
    UdpSocket() = default;
    ~UdpSocket() { close(); }
    UdpSocket(const UdpSocket&) = delete;
    UdpSocket& operator=(const UdpSocket&) = delete;

    // Creates a non-blocking socket of bind_address's family, asks for `wanted` buffers and
    // binds. A wildcard IPv6 bind is made dual-stack. bind_text names the address in errors.
    // Throws PluginError.
    void open(const proto::SocketAddress& bind_address, const std::string& bind_text,
              const SocketBuffers& wanted);
    void close() noexcept;

    bool is_open() const noexcept { return fd_ >= 0; }
    int fd() const noexcept { return fd_; }
    int family() const noexcept { return family_; }

    // Asks for new buffer sizes; 0 leaves that buffer as it is. The kernel caps them at
    // net.core.rmem_max / wmem_max without failing, so this is best effort.
    void request_buffers(const SocketBuffers& wanted) noexcept;
    // The sizes as the kernel reports them (Linux reports twice what was granted, as it counts
    // its bookkeeping overhead). Throws PluginError.
    SocketBuffers buffers() const;
    // getsockname. Throws PluginError.
    proto::SocketAddress local_address() const;

    // Whether the kernel knows UDP_SEGMENT (GSO) on this socket (getsockopt answers).
    bool supports_gso() const noexcept;
    // Turns UDP_GRO on; false when the kernel refuses it (reads then return single datagrams).
    bool enable_gro() noexcept;

private:
    int fd_ = -1;
    int family_ = 0;
};

}  // namespace om::udp
