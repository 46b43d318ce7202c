// Batched datagram I/O: sendmmsg/recvmmsg with their one-at-a-time fallbacks for kernels that
// lack them (ENOSYS), UDP GSO on send (UDP_SEGMENT: one message carries a run of equal-size
// datagrams to one peer) and UDP GRO on receive (UDP_GRO: one read returns several datagrams of
// one peer coalesced, split again here). One system call moves up to kMaxBatch messages.
#pragma once

#include "proto/socket_address.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>

#include <sys/socket.h>

namespace om::udp {

inline constexpr size_t kMaxBatch = 64;
// Every receive slot holds the largest UDP payload, so nothing is truncated in practice; that is
// also the largest buffer GRO coalesces (at most 64 segments, less than 64 KiB in all).
inline constexpr size_t kMaxDatagram = 65535;
// One GSO message: at most this many datagrams (the kernel's UDP_MAX_SEGMENTS) and bytes.
inline constexpr size_t kMaxGsoSegments = 64;
inline constexpr size_t kMaxGsoBytes = 65000;

// How one batched send ended.
struct SendOutcome {
    size_t sent = 0;        // datagrams the kernel took, in order
    int error = 0;          // errno that stopped the batch at index `sent`; 0 = all sent
    const char* call = "";  // the system call that failed
    uint64_t gso_messages = 0;  // GSO messages (runs of two or more datagrams) the kernel took
    uint64_t gso_segments = 0;  // datagrams inside them
    bool gso_refused = false;   // the kernel refused GSO; it is now off for this sender
};

class BatchSender {
public:
    // GSO on or off (off also when the kernel refused it); open turns it on again per socket.
    void set_gso(bool enabled) noexcept { gso_ = enabled; }
    bool gso() const noexcept { return gso_; }

    // Sends batch[0..count) on fd, stopping at the first datagram that fails (EAGAIN included).
    // A peer the socket family cannot reach fails with EAFNOSUPPORT. With GSO on, runs of
    // consecutive datagrams to one peer, all of one size but the last (which may be shorter,
    // not empty), of segments no larger than gso_max_segment, leave as one message each. A GSO
    // refusal (EIO, EINVAL, ENOPROTOOPT on such a message) turns GSO off and resends that run
    // datagram by datagram, within the same call.
    SendOutcome send(int fd, int socket_family, const om_datagram* batch, size_t count, size_t gso_max_segment);

private:
    // Fills headers for up to kMaxBatch messages; stops before the first unreachable peer.
    // Returns the number of messages; spans_[m] says how many datagrams message m carries.
    size_t prepare(int socket_family, const om_datagram* batch, size_t count, size_t gso_max_segment);
    // Datagrams batch[first..] that can share one GSO message with batch[first]: at least 1.
    size_t run_length(const om_datagram* batch, size_t first, size_t count, size_t gso_max_segment) const noexcept;
    // One system call for messages [0, prepared): how many the kernel took, or the errno.
    struct Transmitted {
        size_t messages = 0;
        int error = 0;
        const char* call = "";
    };
    Transmitted transmit(int fd, size_t prepared);
    Transmitted send_one_by_one(int fd, size_t prepared);

    // Room for one UDP_SEGMENT control message.
    struct alignas(cmsghdr) Control {
        unsigned char bytes[CMSG_SPACE(sizeof(uint16_t))];
    };

    std::array<mmsghdr, kMaxBatch> headers_{};
    std::array<iovec, kMaxBatch * kMaxGsoSegments> vectors_{};
    std::array<proto::SocketAddress, kMaxBatch> peers_{};
    std::array<Control, kMaxBatch> controls_{};
    std::array<size_t, kMaxBatch> spans_{};
    bool have_sendmmsg_ = true;
    bool gso_ = false;
};

struct ReceiveOutcome {
    size_t count = 0;  // messages in the slots
    int error = 0;     // errno when count is 0
};

class BatchReceiver {
public:
    // Allocates kMaxBatch slots of kMaxDatagram bytes once (pages are touched only when used).
    BatchReceiver();

    // Whether reads ask for the UDP_GRO segment size (set when GRO is on for the socket).
    void set_gro(bool enabled) noexcept
    {
        gro_ = enabled;
        dirty_ = kMaxBatch;  // every slot's control buffer changes
    }
    bool gro() const noexcept { return gro_; }

    // One non-blocking read of up to min(max, kMaxBatch) messages.
    ReceiveOutcome receive(int fd, size_t max);

    // The slots of the last receive. With GRO a slot may hold several datagrams of one source,
    // each segment_size(slot) bytes but the last, which may be shorter.
    const uint8_t* data(size_t slot) const noexcept { return storage_.get() + slot * kMaxDatagram; }
    size_t length(size_t slot) const noexcept { return headers_[slot].msg_len; }
    bool truncated(size_t slot) const noexcept { return (headers_[slot].msg_hdr.msg_flags & MSG_TRUNC) != 0; }
    const sockaddr_storage& source(size_t slot) const noexcept { return sources_[slot]; }
    // The UDP_GRO segment size of a coalesced slot; its length when the slot is one datagram.
    size_t segment_size(size_t slot) const noexcept;

private:
    void reset_slots(size_t count) noexcept;
    ReceiveOutcome receive_slots(int fd, size_t wanted);
    ReceiveOutcome receive_one(int fd);

    // Room for one UDP_GRO control message (an int), plus slack for anything else the kernel adds.
    struct alignas(cmsghdr) Control {
        unsigned char bytes[CMSG_SPACE(sizeof(int)) * 2];
    };

    std::unique_ptr<uint8_t[]> storage_;
    std::array<mmsghdr, kMaxBatch> headers_{};
    std::array<iovec, kMaxBatch> vectors_{};
    std::array<sockaddr_storage, kMaxBatch> sources_{};
    std::array<Control, kMaxBatch> controls_{};
    // Slots [0, dirty_) may hold what the kernel wrote last time; only those are reset, so a
    // read that returns one datagram costs one slot's reset, not kMaxBatch of them.
    size_t dirty_ = kMaxBatch;
    bool have_recvmmsg_ = true;
    bool gro_ = false;
};

}  // namespace om::udp
