// The selected ICE pair as a path: its remote address, reached from the agent's socket or through
// its TURN allocation (the pair's base, RFC 8445 §5.1.1). Either end relayed makes it a TurnRelay
// path; a socket pair of two host or reflexive candidates is P2P.
#pragma once

#include "agent/path/path.h"

#include <orbitmesh/plugin.h>

#include <functional>

namespace om {

class DirectPath final : public Path {
public:
    // Sends a batch through the transport stack, returning how many datagrams left.
    using SendBatch = std::function<size_t(const om_datagram* batch, size_t count)>;

    DirectPath(uint32_t id, const om_address& remote, uint32_t mtu, uint64_t rtt_us, SendBatch send_batch,
               om_transport_type kind = OM_TRANSPORT_P2P, bool via_relay = false);

    om_transport_type kind() const override { return kind_; }
    uint32_t mtu() const override { return mtu_; }
    uint64_t rtt_us() const override { return rtt_us_; }
    om_status send(const uint8_t* data, size_t len, size_t segment_size) override;
    std::string describe() const override;

    const om_address& remote() const { return remote_; }
    // Its packets leave through this agent's TURN allocation (and arrive from it).
    bool via_relay() const { return via_relay_; }

private:
    om_address remote_;
    uint32_t mtu_;
    uint64_t rtt_us_;
    SendBatch send_batch_;
    om_transport_type kind_;
    bool via_relay_;
};

} // namespace om
