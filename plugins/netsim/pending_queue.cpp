#include "pending_queue.h"

#include <algorithm>

namespace om::netsim {
namespace {

// std heap functions keep the "largest" first; the largest here is the one due first.
bool due_later(const HeldDatagram& a, const HeldDatagram& b)
{
    return a.release_us != b.release_us ? a.release_us > b.release_us : a.arrival > b.arrival;
}

}  // namespace

void PendingQueue::push(uint64_t release_us, Path path, const om_datagram& datagram)
{
    HeldDatagram held;
    held.release_us = release_us;
    held.arrival = arrivals_++;
    held.path = path;
    held.peer = datagram.peer;
    held.bytes.assign(datagram.data, datagram.data + datagram.len);
    heap_.push_back(std::move(held));
    std::push_heap(heap_.begin(), heap_.end(), due_later);
}

std::vector<HeldDatagram> PendingQueue::take_due(uint64_t now_us)
{
    std::vector<HeldDatagram> due;
    while (!heap_.empty() && heap_.front().release_us <= now_us) {
        std::pop_heap(heap_.begin(), heap_.end(), due_later);
        due.push_back(std::move(heap_.back()));
        heap_.pop_back();
    }
    return due;
}

}  // namespace om::netsim
