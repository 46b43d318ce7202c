// Datagrams netsim holds back, copied, ordered by release time (arrival order among equals).
#pragma once

#include <orbitmesh/plugin.h>

#include <cstdint>
#include <vector>

namespace om::netsim {

// Where a held datagram goes when it is released.
enum class Path : uint8_t {
    outbound,  // to the inner transport's send
    inbound,   // to the sink, as if it had just arrived
};

struct HeldDatagram {
    uint64_t release_us = 0;
    uint64_t arrival = 0;  // keeps FIFO order among equal release times
    Path path = Path::outbound;
    om_address peer{};
    std::vector<uint8_t> bytes;

    om_datagram view() const noexcept { return {bytes.data(), bytes.size(), peer}; }
};

class PendingQueue {
public:
    // Copies the datagram.
    void push(uint64_t release_us, Path path, const om_datagram& datagram);
    // Removes every datagram due at now_us and returns them earliest first.
    std::vector<HeldDatagram> take_due(uint64_t now_us);
    void clear() noexcept { heap_.clear(); }

    bool empty() const noexcept { return heap_.empty(); }
    size_t size() const noexcept { return heap_.size(); }
    uint64_t earliest_release_us() const noexcept { return heap_.front().release_us; }

private:
    std::vector<HeldDatagram> heap_;  // std::push_heap order: earliest at the front
    uint64_t arrivals_ = 0;
};

}  // namespace om::netsim
