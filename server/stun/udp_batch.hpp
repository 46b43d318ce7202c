// Batched UDP I/O for the STUN loop: recvmmsg into fixed buffers, sendmmsg from fixed buffers
// (RecvBatch / SendBatch own all their memory, allocated once). With pktinfo on, the local
// destination of each received datagram is read from IP_PKTINFO / IPV6_PKTINFO, and a sent
// datagram can name its source IP the same way (needed on a wildcard bind, so the answer leaves
// from the address the client used).
#pragma once

#include "proto/socket_address.h"

#include <orbitmesh/plugin.h>

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace om::server {

inline constexpr size_t kBatchSize = 64;
inline constexpr size_t kMaxDatagram = 4096; // larger requests are dropped as truncated

class RecvBatch {
public:
    RecvBatch();
    RecvBatch(const RecvBatch&) = delete;
    RecvBatch& operator=(const RecvBatch&) = delete;

    // One non-blocking recvmmsg; the number of datagrams (0 when none or on error).
    size_t receive(int fd);
    std::span<const uint8_t> bytes(size_t i) const;
    bool truncated(size_t i) const;
    om_address source(size_t i) const;
    om_address local(size_t i) const; // family 0 unless pktinfo came with it

private:
    std::vector<uint8_t> data_;
    std::vector<uint8_t> control_;
    std::vector<sockaddr_storage> names_;
    std::vector<iovec> iov_;
    std::vector<mmsghdr> headers_;
};

class SendBatch {
public:
    SendBatch();
    SendBatch(const SendBatch&) = delete;
    SendBatch& operator=(const SendBatch&) = delete;

    bool empty() const { return count_ == 0; }
    // The buffer of the next datagram; valid until commit() or flush().
    std::span<uint8_t> slot();
    // Queues the slot's first `size` bytes to destination; source_ip (family != 0) sets the
    // source IP through pktinfo.
    void commit(size_t size, const om_address& destination, const om_address& source_ip);
    // sendmmsg until every queued datagram went or failed; returns how many failed.
    size_t flush(int fd);

private:
    size_t count_ = 0;
    std::vector<uint8_t> data_;
    std::vector<uint8_t> control_;
    std::vector<proto::SocketAddress> names_;
    std::vector<iovec> iov_;
    std::vector<mmsghdr> headers_;
};

} // namespace om::server
