#include "agent/path/direct_path.h"

#include "proto/address.h"

#include <vector>

namespace om {

namespace {
// One GSO write carries at most 64 segments (the kernel's UDP_MAX_SEGMENTS).
constexpr size_t kMaxSegments = 64;
}

DirectPath::DirectPath(uint32_t id, const om_address& remote, uint32_t mtu, uint64_t rtt_us, SendBatch send_batch,
                       om_transport_type kind, bool via_relay)
    : Path(id), remote_(remote), mtu_(mtu), rtt_us_(rtt_us), send_batch_(std::move(send_batch)), kind_(kind),
      via_relay_(via_relay)
{
}

om_status DirectPath::send(const uint8_t* data, size_t len, size_t segment_size)
{
    if (!len) return OM_OK;
    if (!segment_size || segment_size > mtu_) return OM_ERR_TOO_LARGE;
    // Consecutive datagrams, adjacent in memory and of one size but the last: the transport can
    // hand them to the kernel as one GSO write.
    om_datagram batch[kMaxSegments];
    size_t offset = 0;
    while (offset < len) {
        size_t count = 0;
        for (; count < kMaxSegments && offset < len; ++count) {
            const size_t n = std::min(segment_size, len - offset);
            batch[count] = om_datagram{data + offset, n, remote_};
            offset += n;
        }
        const size_t sent = send_batch_(batch, count);
        // What did not leave is lost to the network as far as QUIC knows: it recovers it. Only a
        // path that took nothing at all says so.
        if (sent == 0) return OM_ERR_WOULD_BLOCK;
    }
    return OM_OK;
}

std::string DirectPath::describe() const
{
    return std::string(kind_ == OM_TRANSPORT_TURN ? "TurnRelay " : "P2P ") + proto::format_address(remote_) +
           (via_relay_ ? " via this agent's TURN allocation" : "");
}

} // namespace om
