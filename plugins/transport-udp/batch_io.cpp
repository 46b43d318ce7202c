#include "batch_io.h"
#include "udp_gso.h"

#include <algorithm>
#include <cerrno>
#include <cstring>



namespace om::udp {

namespace {

bool same_peer(const om_address& a, const om_address& b) noexcept
{
    if (a.family != b.family || a.port != b.port) return false;
    if (a.family == 4) return std::memcmp(a.bytes, b.bytes, 4) == 0;
    return a.scope_id == b.scope_id && std::memcmp(a.bytes, b.bytes, sizeof a.bytes) == 0;
}

// What a kernel or device that cannot do UDP GSO answers a UDP_SEGMENT message with: EIO for a
// device without checksum offload, EINVAL or ENOPROTOOPT for a kernel that does not know it.
bool is_gso_refusal(int error) noexcept { return error == EIO || error == EINVAL || error == ENOPROTOOPT; }

}  // namespace

// ----------------------------------------------------------------------------------------------
// Sending

size_t BatchSender::run_length(const om_datagram* batch, size_t first, size_t count,
                               size_t gso_max_segment) const noexcept
{
    const size_t segment = batch[first].len;
    if (!gso_ || segment == 0 || segment > gso_max_segment) return 1;
    size_t run = 1;
    size_t bytes = segment;
    while (first + run < count && run < kMaxGsoSegments) {
        const om_datagram& next = batch[first + run];
        // Every datagram but the last is a full segment; the last is not empty (an empty one
        // would vanish inside the message) and not larger.
        if (batch[first + run - 1].len != segment) break;
        if (next.len == 0 || next.len > segment || bytes + next.len > kMaxGsoBytes) break;
        if (!same_peer(next.peer, batch[first].peer)) break;
        bytes += next.len;
        ++run;
    }
    return run;
}

size_t BatchSender::prepare(int socket_family, const om_datagram* batch, size_t count, size_t gso_max_segment)
{
    size_t messages = 0;
    size_t vectors = 0;
    for (size_t i = 0; i < count && messages < kMaxBatch;) {
        if (!proto::to_socket_address(batch[i].peer, socket_family, peers_[messages])) break;
        const size_t run = run_length(batch, i, count, gso_max_segment);
        for (size_t k = 0; k < run; ++k) {
            vectors_[vectors + k].iov_base = const_cast<uint8_t*>(batch[i + k].data);
            vectors_[vectors + k].iov_len = batch[i + k].len;
        }
        msghdr& header = headers_[messages].msg_hdr;
        header = msghdr{};
        header.msg_name = &peers_[messages].storage;
        header.msg_namelen = peers_[messages].length;
        header.msg_iov = &vectors_[vectors];
        header.msg_iovlen = run;
        if (run > 1) {
            header.msg_control = controls_[messages].bytes;
            header.msg_controllen = sizeof controls_[messages].bytes;
            cmsghdr* control = CMSG_FIRSTHDR(&header);
            control->cmsg_level = SOL_UDP;
            control->cmsg_type = UDP_SEGMENT;
            control->cmsg_len = CMSG_LEN(sizeof(uint16_t));
            const auto segment = static_cast<uint16_t>(batch[i].len);
            std::memcpy(CMSG_DATA(control), &segment, sizeof segment);
        }
        headers_[messages].msg_len = 0;
        spans_[messages] = run;
        vectors += run;
        i += run;
        ++messages;
    }
    return messages;
}

BatchSender::Transmitted BatchSender::send_one_by_one(int fd, size_t prepared)
{
    Transmitted outcome;
    outcome.call = "sendmsg";
    for (size_t i = 0; i < prepared; ++i) {
        ssize_t rc;
        do {
            rc = ::sendmsg(fd, &headers_[i].msg_hdr, 0);
        } while (rc < 0 && errno == EINTR);
        if (rc < 0) {
            outcome.error = errno;
            return outcome;
        }
        ++outcome.messages;
    }
    return outcome;
}

BatchSender::Transmitted BatchSender::transmit(int fd, size_t prepared)
{
    // One message (a lone datagram or one GSO run) needs no sendmmsg.
    if (prepared == 1 || !have_sendmmsg_) return send_one_by_one(fd, prepared);
    int rc;
    do {
        rc = ::sendmmsg(fd, headers_.data(), static_cast<unsigned>(prepared), 0);
    } while (rc < 0 && errno == EINTR);
    if (rc < 0 && errno == ENOSYS) {
        have_sendmmsg_ = false;
        return send_one_by_one(fd, prepared);
    }
    Transmitted outcome;
    outcome.call = "sendmmsg";
    if (rc < 0)
        outcome.error = errno;
    else  // a short count means a later message failed; the next round reports why
        outcome.messages = static_cast<size_t>(rc);
    return outcome;
}

SendOutcome BatchSender::send(int fd, int socket_family, const om_datagram* batch, size_t count,
                              size_t gso_max_segment)
{
    SendOutcome total;
    while (total.sent < count) {
        const size_t prepared = prepare(socket_family, batch + total.sent, count - total.sent, gso_max_segment);
        if (prepared == 0) {
            total.error = EAFNOSUPPORT;
            total.call = "sendmmsg";
            return total;
        }
        const Transmitted part = transmit(fd, prepared);
        for (size_t m = 0; m < part.messages; ++m) {
            total.sent += spans_[m];
            if (spans_[m] > 1) {
                ++total.gso_messages;
                total.gso_segments += spans_[m];
            }
        }
        if (part.error != 0) {
            // The message that failed is part.messages (sendmmsg fails as a whole only on its
            // first message). A refused GSO message sent nothing: resend it without GSO.
            if (part.messages < prepared && spans_[part.messages] > 1 && is_gso_refusal(part.error)) {
                gso_ = false;
                total.gso_refused = true;
                continue;
            }
            total.error = part.error;
            total.call = part.call;
            return total;
        }
        if (part.messages == 0) {  // cannot happen with prepared > 0; never spin
            total.error = EAGAIN;
            total.call = "sendmmsg";
            return total;
        }
    }
    return total;
}

// ----------------------------------------------------------------------------------------------
// Receiving

BatchReceiver::BatchReceiver() : storage_(std::make_unique_for_overwrite<uint8_t[]>(kMaxBatch * kMaxDatagram))
{
    for (size_t i = 0; i < kMaxBatch; ++i) {
        vectors_[i].iov_base = storage_.get() + i * kMaxDatagram;
        vectors_[i].iov_len = kMaxDatagram;
    }
}

void BatchReceiver::reset_slots(size_t count) noexcept
{
    for (size_t i = 0; i < count; ++i) {
        msghdr& header = headers_[i].msg_hdr;
        header = msghdr{};
        header.msg_name = &sources_[i];
        header.msg_namelen = sizeof(sockaddr_storage);
        header.msg_iov = &vectors_[i];
        header.msg_iovlen = 1;
        if (gro_) {
            header.msg_control = controls_[i].bytes;
            header.msg_controllen = sizeof controls_[i].bytes;
        }
        headers_[i].msg_len = 0;
    }
}

size_t BatchReceiver::segment_size(size_t slot) const noexcept
{
    const size_t length = headers_[slot].msg_len;
    const msghdr& header = headers_[slot].msg_hdr;
    if (header.msg_control == nullptr || header.msg_controllen == 0) return length;
    // CMSG_NXTHDR takes a non-const msghdr; it only reads it.
    auto& readable = const_cast<msghdr&>(header);
    for (cmsghdr* control = CMSG_FIRSTHDR(&readable); control != nullptr; control = CMSG_NXTHDR(&readable, control)) {
        if (control->cmsg_level != SOL_UDP || control->cmsg_type != UDP_GRO) continue;
        if (control->cmsg_len < CMSG_LEN(sizeof(int))) break;
        int segment = 0;
        std::memcpy(&segment, CMSG_DATA(control), sizeof segment);
        return segment > 0 ? std::min(static_cast<size_t>(segment), length) : length;
    }
    return length;
}

ReceiveOutcome BatchReceiver::receive_one(int fd)
{
    ssize_t rc;
    do {
        rc = ::recvmsg(fd, &headers_[0].msg_hdr, MSG_DONTWAIT);
    } while (rc < 0 && errno == EINTR);
    if (rc < 0) return {0, errno};
    headers_[0].msg_len = static_cast<unsigned>(rc);
    return {1, 0};
}

ReceiveOutcome BatchReceiver::receive(int fd, size_t max)
{
    const size_t wanted = std::min(max, kMaxBatch);
    if (wanted == 0) return {};
    reset_slots(std::min(dirty_, wanted));
    const size_t still_dirty = dirty_ > wanted ? dirty_ : 0;  // slots this call does not offer
    ReceiveOutcome outcome = receive_slots(fd, wanted);
    // A failed read may still have written the first slot's header.
    dirty_ = std::max(still_dirty, std::max<size_t>(outcome.count, 1));
    return outcome;
}

ReceiveOutcome BatchReceiver::receive_slots(int fd, size_t wanted)
{
    if (!have_recvmmsg_) return receive_one(fd);
    int rc;
    do {
        rc = ::recvmmsg(fd, headers_.data(), static_cast<unsigned>(wanted), MSG_DONTWAIT, nullptr);
    } while (rc < 0 && errno == EINTR);
    if (rc < 0 && errno == ENOSYS) {
        have_recvmmsg_ = false;
        return receive_one(fd);
    }
    if (rc < 0) return {0, errno};
    return {static_cast<size_t>(rc), 0};
}

}  // namespace om::udp
