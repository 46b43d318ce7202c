#include "batch_io.h"

#include <algorithm>
#include <cerrno>

namespace om::udp {

// ----------------------------------------------------------------------------------------------
// Sending

size_t BatchSender::prepare(int socket_family, const om_datagram* batch, size_t count)
{
    const size_t limit = std::min(count, kMaxBatch);
    for (size_t i = 0; i < limit; ++i) {
        if (!proto::to_socket_address(batch[i].peer, socket_family, peers_[i])) return i;
        vectors_[i].iov_base = const_cast<uint8_t*>(batch[i].data);
        vectors_[i].iov_len = batch[i].len;
        msghdr& header = headers_[i].msg_hdr;
        header = msghdr{};
        header.msg_name = &peers_[i].storage;
        header.msg_namelen = peers_[i].length;
        header.msg_iov = &vectors_[i];
        header.msg_iovlen = 1;
        headers_[i].msg_len = 0;
    }
    return limit;
}

SendOutcome BatchSender::send_one_by_one(int fd, size_t prepared)
{
    SendOutcome outcome;
    outcome.call = "sendto";
    for (size_t i = 0; i < prepared; ++i) {
        const msghdr& header = headers_[i].msg_hdr;
        ssize_t rc;
        do {
            rc = ::sendto(fd, header.msg_iov->iov_base, header.msg_iov->iov_len, 0,
                          static_cast<const sockaddr*>(header.msg_name), header.msg_namelen);
        } while (rc < 0 && errno == EINTR);
        if (rc < 0) {
            outcome.error = errno;
            return outcome;
        }
        ++outcome.sent;
    }
    return outcome;
}

SendOutcome BatchSender::send(int fd, int socket_family, const om_datagram* batch, size_t count)
{
    SendOutcome total;
    while (total.sent < count) {
        const size_t wanted = std::min(count - total.sent, kMaxBatch);
        const size_t prepared = prepare(socket_family, batch + total.sent, wanted);
        if (prepared == 0) {
            total.error = EAFNOSUPPORT;
            total.call = "sendmmsg";
            return total;
        }
        SendOutcome part;
        if (have_sendmmsg_) {
            int rc;
            do {
                rc = ::sendmmsg(fd, headers_.data(), static_cast<unsigned>(prepared), 0);
            } while (rc < 0 && errno == EINTR);
            if (rc < 0 && errno == ENOSYS) {
                have_sendmmsg_ = false;
                part = send_one_by_one(fd, prepared);
            } else if (rc < 0) {
                part.error = errno;
                part.call = "sendmmsg";
            } else {
                // A short count means a later datagram failed; the next round reports why.
                part.sent = static_cast<size_t>(rc);
            }
        } else {
            part = send_one_by_one(fd, prepared);
        }
        total.sent += part.sent;
        if (part.error != 0) {
            total.error = part.error;
            total.call = part.call;
            return total;
        }
        if (part.sent == 0) {  // cannot happen with prepared > 0; never spin
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
        headers_[i].msg_len = 0;
    }
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
    reset_slots(wanted);
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
