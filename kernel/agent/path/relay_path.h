// The server relay as a path: each packet is the payload of one `relay` signaling message to
// the peer (seed: the "SignalR" transport, here ServerRelay).
#pragma once

#include "agent/path/path.h"

#include <functional>
#include <string>

namespace om {

class RelayPath final : public Path {
public:
    // Sends one packet to the peer through the server; OM_ERR_WOULD_BLOCK when its queue is full.
    using SendPacket = std::function<om_status(const uint8_t* data, size_t len)>;
    using RttUs = std::function<uint64_t()>;

    RelayPath(uint32_t id, uint32_t mtu, SendPacket send_packet, RttUs rtt_us);

    om_transport_type kind() const override { return OM_TRANSPORT_SERVER_RELAY; }
    uint32_t mtu() const override { return mtu_; }
    uint64_t rtt_us() const override { return rtt_us_(); }
    om_status send(const uint8_t* data, size_t len, size_t segment_size) override;
    std::string describe() const override { return "ServerRelay"; }

private:
    uint32_t mtu_;
    SendPacket send_packet_;
    RttUs rtt_us_;
};

} // namespace om
