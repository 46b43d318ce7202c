// Batched datagram I/O: sendmmsg/recvmmsg with their one-at-a-time fallbacks for kernels that
// lack them (ENOSYS). One system call moves up to kMaxBatch datagrams.
#pragma once

#include "proto/socket_address.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>

#include <sys/socket.h>

namespace om::udp {

inline constexpr size_t kMaxBatch = 64;
// Every receive slot holds the largest UDP payload, so nothing is truncated in practice.
inline constexpr size_t kMaxDatagram = 65535;

// How one batched send ended.
struct SendOutcome {
    size_t sent = 0;        // datagrams the kernel took, in order
    int error = 0;          // errno that stopped the batch at index `sent`; 0 = all sent
    const char* call = "";  // the system call that failed
};

class BatchSender {
public:
    // Sends batch[0..count) on fd, stopping at the first datagram that fails (EAGAIN included).
    // A peer the socket family cannot reach fails with EAFNOSUPPORT.
    SendOutcome send(int fd, int socket_family, const om_datagram* batch, size_t count);

private:
    // Fills headers for up to kMaxBatch datagrams; stops before the first unreachable peer.
    size_t prepare(int socket_family, const om_datagram* batch, size_t count);
    SendOutcome send_one_by_one(int fd, size_t prepared);

    std::array<mmsghdr, kMaxBatch> headers_{};
    std::array<iovec, kMaxBatch> vectors_{};
    std::array<proto::SocketAddress, kMaxBatch> peers_{};
    bool have_sendmmsg_ = true;
};

struct ReceiveOutcome {
    size_t count = 0;  // datagrams in the slots
    int error = 0;     // errno when count is 0
};

class BatchReceiver {
public:
    // Allocates kMaxBatch slots of kMaxDatagram bytes once (pages are touched only when used).
    BatchReceiver();

    // One non-blocking read of up to min(max, kMaxBatch) datagrams.
    ReceiveOutcome receive(int fd, size_t max);

    // The slots of the last receive.
    const uint8_t* data(size_t slot) const noexcept { return storage_.get() + slot * kMaxDatagram; }
    size_t length(size_t slot) const noexcept { return headers_[slot].msg_len; }
    bool truncated(size_t slot) const noexcept { return (headers_[slot].msg_hdr.msg_flags & MSG_TRUNC) != 0; }
    const sockaddr_storage& source(size_t slot) const noexcept { return sources_[slot]; }

private:
    void reset_slots(size_t count) noexcept;
    ReceiveOutcome receive_one(int fd);

    std::unique_ptr<uint8_t[]> storage_;
    std::array<mmsghdr, kMaxBatch> headers_{};
    std::array<iovec, kMaxBatch> vectors_{};
    std::array<sockaddr_storage, kMaxBatch> sources_{};
    bool have_recvmmsg_ = true;
};

}  // namespace om::udp
