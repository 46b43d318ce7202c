#include "agent/path/relay_path.h"

#include <algorithm>

namespace om {

RelayPath::RelayPath(uint32_t id, uint32_t mtu, SendPacket send_packet, RttUs rtt_us)
    : Path(id), mtu_(mtu), send_packet_(std::move(send_packet)), rtt_us_(std::move(rtt_us))
{
}

om_status RelayPath::send(const uint8_t* data, size_t len, size_t segment_size)
{
    if (!segment_size || segment_size > mtu_) return OM_ERR_TOO_LARGE;
    bool any = false;
    for (size_t offset = 0; offset < len; offset += segment_size) {
        om_status status = send_packet_(data + offset, std::min(segment_size, len - offset));
        if (status == OM_ERR_WOULD_BLOCK) return any ? OM_OK : status;  // the rest counts as lost
        if (status != OM_OK) return status;
        any = true;
    }
    return OM_OK;
}

} // namespace om
