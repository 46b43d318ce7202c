#include "stun/udp_batch.hpp"

#include "stun/binding_responder.hpp"
#include "stun/socket_address.hpp"

#include <cerrno>
#include <cstring>

namespace om::server {
namespace {

// Room for one IP_PKTINFO or IPV6_PKTINFO control message.
constexpr size_t kControlSize = CMSG_SPACE(sizeof(in6_pktinfo)) > CMSG_SPACE(sizeof(in_pktinfo))
                                    ? CMSG_SPACE(sizeof(in6_pktinfo))
                                    : CMSG_SPACE(sizeof(in_pktinfo));
constexpr size_t kSendSlot = kMaxDatagram + kMaxGrowth;

} // namespace

RecvBatch::RecvBatch()
    : data_(kBatchSize * kMaxDatagram), control_(kBatchSize * kControlSize), names_(kBatchSize),
      iov_(kBatchSize), headers_(kBatchSize) {}

size_t RecvBatch::receive(int fd) {
    for (size_t i = 0; i < kBatchSize; ++i) {
        iov_[i] = {data_.data() + i * kMaxDatagram, kMaxDatagram};
        msghdr& h = headers_[i].msg_hdr;
        h = {};
        h.msg_name = &names_[i];
        h.msg_namelen = sizeof(sockaddr_storage);
        h.msg_iov = &iov_[i];
        h.msg_iovlen = 1;
        h.msg_control = control_.data() + i * kControlSize;
        h.msg_controllen = kControlSize;
    }
    int n = ::recvmmsg(fd, headers_.data(), kBatchSize, MSG_DONTWAIT, nullptr);
    return n > 0 ? static_cast<size_t>(n) : 0;
}

std::span<const uint8_t> RecvBatch::bytes(size_t i) const {
    return {data_.data() + i * kMaxDatagram, std::min<size_t>(headers_[i].msg_len, kMaxDatagram)};
}

bool RecvBatch::truncated(size_t i) const { return (headers_[i].msg_hdr.msg_flags & MSG_TRUNC) != 0; }

om_address RecvBatch::source(size_t i) const { return proto::from_socket_address(names_[i]); }

om_address RecvBatch::local(size_t i) const {
    om_address out{};
    auto* h = const_cast<msghdr*>(&headers_[i].msg_hdr);
    for (cmsghdr* c = CMSG_FIRSTHDR(h); c; c = CMSG_NXTHDR(h, c)) {
        if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
            in_pktinfo info;
            std::memcpy(&info, CMSG_DATA(c), sizeof info);
            out.family = 4;
            std::memcpy(out.bytes, &info.ipi_addr, 4);
        } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
            in6_pktinfo info;
            std::memcpy(&info, CMSG_DATA(c), sizeof info);
            out.family = 6;
            std::memcpy(out.bytes, &info.ipi6_addr, 16);
        }
    }
    return out;
}

SendBatch::SendBatch()
    : data_(kBatchSize * kSendSlot), control_(kBatchSize * kControlSize), names_(kBatchSize), iov_(kBatchSize),
      headers_(kBatchSize) {}

std::span<uint8_t> SendBatch::slot() { return {data_.data() + count_ * kSendSlot, kSendSlot}; }

void SendBatch::commit(size_t size, const om_address& destination, const om_address& source_ip) {
    const size_t i = count_++;
    iov_[i] = {data_.data() + i * kSendSlot, size};
    msghdr& h = headers_[i].msg_hdr;
    h = {};
    proto::to_socket_address(destination, destination.family == 6 ? AF_INET6 : AF_INET, names_[i]);
    h.msg_name = &names_[i].storage;
    h.msg_namelen = names_[i].length;
    h.msg_iov = &iov_[i];
    h.msg_iovlen = 1;
    if (source_ip.family == 0) return;
    uint8_t* control = control_.data() + i * kControlSize;
    std::memset(control, 0, kControlSize);
    h.msg_control = control;
    h.msg_controllen = kControlSize;
    cmsghdr* c = CMSG_FIRSTHDR(&h);
    if (source_ip.family == 4) {
        in_pktinfo info{};
        std::memcpy(&info.ipi_spec_dst, source_ip.bytes, 4);
        c->cmsg_level = IPPROTO_IP;
        c->cmsg_type = IP_PKTINFO;
        c->cmsg_len = CMSG_LEN(sizeof info);
        std::memcpy(CMSG_DATA(c), &info, sizeof info);
        h.msg_controllen = CMSG_SPACE(sizeof info);
    } else {
        in6_pktinfo info{};
        std::memcpy(&info.ipi6_addr, source_ip.bytes, 16);
        c->cmsg_level = IPPROTO_IPV6;
        c->cmsg_type = IPV6_PKTINFO;
        c->cmsg_len = CMSG_LEN(sizeof info);
        std::memcpy(CMSG_DATA(c), &info, sizeof info);
        h.msg_controllen = CMSG_SPACE(sizeof info);
    }
}

size_t SendBatch::flush(int fd) {
    size_t failed = 0;
    size_t i = 0;
    while (i < count_) {
        int n = ::sendmmsg(fd, headers_.data() + i, static_cast<unsigned>(count_ - i), 0);
        if (n > 0) {
            i += static_cast<size_t>(n);
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else {
            ++failed; // this datagram's destination was refused; go on with the next
            ++i;
        }
    }
    count_ = 0;
    return failed;
}

} // namespace om::server
