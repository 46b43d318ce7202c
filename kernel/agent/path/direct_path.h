// A direct UDP path: the selected ICE pair's remote address on the agent's one socket.
#pragma once

#include "agent/path/path.h"

#include <orbitmesh/plugin.h>

#include <functional>

namespace om {

class DirectPath final : public Path {
public:
    // Sends a batch through the transport stack, returning how many datagrams left.
    using SendBatch = std::function<size_t(const om_datagram* batch, size_t count)>;

    DirectPath(uint32_t id, const om_address& remote, uint32_t mtu, uint64_t rtt_us, SendBatch send_batch);

    om_transport_type kind() const override { return OM_TRANSPORT_P2P; }
    uint32_t mtu() const override { return mtu_; }
    uint64_t rtt_us() const override { return rtt_us_; }
    om_status send(const uint8_t* data, size_t len, size_t segment_size) override;
    std::string describe() const override;

    const om_address& remote() const { return remote_; }

private:
    om_address remote_;
    uint32_t mtu_;
    uint64_t rtt_us_;
    SendBatch send_batch_;
};

} // namespace om
