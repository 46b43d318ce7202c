// One way of reaching a peer under its delivery session: a direct UDP pair, the server relay,
// or (later) a TURN allocation. The session above never knows which kind it is on; the kernel
// moves it from one path to another (ARCHITECTURE.md "One connection, many paths").
#pragma once

#include <orbitmesh/orbitmesh.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

namespace om {

class Path {
public:
    // What the path received for the session above it: the packet and the path's id.
    using Receiver = std::function<void(uint32_t path_id, const uint8_t* data, size_t len)>;

    explicit Path(uint32_t id) : id_(id) {}
    virtual ~Path() = default;
    Path(const Path&) = delete;
    Path& operator=(const Path&) = delete;

    uint32_t id() const { return id_; }
    virtual om_transport_type kind() const = 0;
    // Largest packet the path carries whole.
    virtual uint32_t mtu() const = 0;
    // Round trip measured on the path (ICE checks, the server's pings), 0 when unknown.
    virtual uint64_t rtt_us() const = 0;
    // ceil(len / segment_size) packets of segment_size bytes, the last one possibly shorter
    // (the shape of one UDP GSO write). OM_ERR_WOULD_BLOCK when the path cannot take them now.
    virtual om_status send(const uint8_t* data, size_t len, size_t segment_size) = 0;
    // "P2P 10.0.0.1:4000", "ServerRelay" (logs and diagnosis).
    virtual std::string describe() const = 0;

    // The demultiplexer hands the path what arrived over it; the path passes it up.
    void set_receiver(Receiver receiver) { receiver_ = std::move(receiver); }
    void on_datagram(const uint8_t* data, size_t len)
    {
        if (receiver_) receiver_(id_, data, len);
    }

private:
    uint32_t id_;
    Receiver receiver_;
};

} // namespace om
