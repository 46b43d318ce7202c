#include "agent/delivery/outbound_queue.h"

#include <algorithm>
#include <iterator>
#include <optional>

namespace om {
namespace {

bool is_reliable(om_delivery_mode mode)
{
    return mode == OM_DELIVERY_RELIABLE_ORDERED || mode == OM_DELIVERY_RELIABLE_UNORDERED;
}

const char* mode_label(om_delivery_mode mode)
{
    switch (mode) {
    case OM_DELIVERY_RELIABLE_ORDERED: return "ReliableOrdered";
    case OM_DELIVERY_RELIABLE_UNORDERED: return "ReliableUnordered";
    case OM_DELIVERY_UNRELIABLE: return "Unreliable";
    default: return "Sequenced";
    }
}

} // namespace

OutboundQueue::Push OutboundQueue::push(const std::string& peer, om_delivery_mode mode, uint32_t channel,
                                        const uint8_t* data, size_t len, om_status* status, std::string* why,
                                        bool may_bypass)
{
    const auto refuse = [&](om_status s, std::string text) {
        *status = s;
        *why = std::move(text);
        return Push::Refused;
    };
    // Under the lock: may this message go? (No copy yet: refusals and WOULD_BLOCK retries of a
    // 16 MiB message must not cost a 16 MiB copy each.)
    const auto check = [&](Gate& gate) -> std::optional<Push> {
        const Limits& limits = gate.limits;
        if (!gate.accepting) return Push::NotOpen;
        if (channel != 0 && limits.channel_zero_only)
            return refuse(OM_ERR_NOT_SUPPORTED, "the delivery plugin (ABI < 1.2) has only channel 0");
        if (is_reliable(mode) && !limits.enable_reliable)
            return refuse(OM_ERR_NOT_SUPPORTED,
                          std::string(mode_label(mode)) + " delivery is off (enable_reliable_delivery = 0)");
        if (!is_reliable(mode) && !limits.enable_unreliable)
            return refuse(OM_ERR_NOT_SUPPORTED,
                          std::string(mode_label(mode)) + " delivery is off (enable_unreliable_delivery = 0)");
        const size_t datagram_limit = mode == OM_DELIVERY_SEQUENCED ? limits.max_sequenced : limits.max_unreliable;
        if (!is_reliable(mode) && datagram_limit == 0) return Push::NotOpen;  // the session must say
        if (!is_reliable(mode) && len > datagram_limit)
            return refuse(OM_ERR_TOO_LARGE, std::string("a ") + mode_label(mode) + " message of " +
                                                std::to_string(len) +
                                                " bytes does not fit one datagram on this path: the limit is " +
                                                std::to_string(datagram_limit) + " bytes");
        if (gate.bytes > 0 && limits.queue_bytes && gate.bytes + cost(len) > limits.queue_bytes) {
            gate.want_writable = true;
            return refuse(OM_ERR_WOULD_BLOCK, "the send queue to " + peer + " holds " + std::to_string(gate.bytes) +
                                                  " bytes, its limit is " + std::to_string(limits.queue_bytes) +
                                                  " (send_queue_bytes); a writable event follows");
        }
        return std::nullopt;
    };
    if (is_reliable(mode) && len > OM_MAX_RELIABLE_MESSAGE)
        return refuse(OM_ERR_TOO_LARGE, std::string("a ") + mode_label(mode) + " message of " + std::to_string(len) +
                                            " bytes exceeds the limit of " + std::to_string(OM_MAX_RELIABLE_MESSAGE) +
                                            " bytes");
    {
        std::lock_guard<std::mutex> lock(mutex_);
        auto it = gates_.find(peer);
        if (it == gates_.end()) return Push::NotOpen;
        if (auto verdict = check(it->second)) return *verdict;
        Gate& gate = it->second;
        if (may_bypass && gate.messages.empty() && gate.bytes == 0 && !gate.held) {
            gate.bytes += cost(len);  // in flight: whatever comes next queues behind it
            return Push::Bypass;
        }
    }
    std::vector<uint8_t> copy(data, data + len);  // outside the lock
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = gates_.find(peer);  // again: the loop may have closed it meanwhile
    if (it == gates_.end()) return Push::NotOpen;
    Gate& gate = it->second;
    if (auto verdict = check(gate)) return *verdict;
    gate.messages.push_back(Message{mode, channel, std::move(copy)});
    gate.bytes += cost(len);
    if (gate.held) return Push::Queued;  // the session's WRITABLE event drains it
    mark_ready(peer, gate);
    if (drain_due_) return Push::Queued;
    drain_due_ = true;
    return Push::QueuedWake;
}

void OutboundQueue::mark_ready(const std::string& peer, Gate& gate)
{
    if (gate.in_ready) return;
    gate.in_ready = true;
    ready_.push_back(peer);
}

void OutboundQueue::open(const std::string& peer, const Limits& limits)
{
    std::lock_guard<std::mutex> lock(mutex_);
    Gate& gate = gates_[peer];
    gate.limits = limits;
    gate.accepting = true;
}

void OutboundQueue::pause(const std::string& peer)
{
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = gates_.find(peer);
    if (it != gates_.end()) it->second.accepting = false;
}

size_t OutboundQueue::close(const std::string& peer)
{
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = gates_.find(peer);
    if (it == gates_.end()) return 0;
    const size_t dropped = it->second.messages.size();
    gates_.erase(it);  // a stale ready_ entry is skipped by take_ready
    return dropped;
}

void OutboundQueue::close_all()
{
    std::lock_guard<std::mutex> lock(mutex_);
    gates_.clear();
    ready_.clear();
}

bool OutboundQueue::is_open(const std::string& peer) const
{
    std::lock_guard<std::mutex> lock(mutex_);
    return gates_.count(peer) > 0;
}

std::vector<std::string> OutboundQueue::take_ready()
{
    std::lock_guard<std::mutex> lock(mutex_);
    drain_due_ = false;
    std::vector<std::string> out;
    out.swap(ready_);
    std::erase_if(out, [&](const std::string& peer) {
        auto it = gates_.find(peer);
        if (it == gates_.end() || !it->second.in_ready) return true;
        if (it->second.held) {  // marked before the session said it is full
            it->second.in_ready = false;
            return true;
        }
        it->second.in_ready = false;
        return false;
    });
    return out;
}

std::deque<OutboundQueue::Message> OutboundQueue::take(const std::string& peer)
{
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = gates_.find(peer);
    if (it == gates_.end()) return {};
    std::deque<Message> out;
    out.swap(it->second.messages);
    return out;
}

void OutboundQueue::give_back(const std::string& peer, std::deque<Message> rest, bool hold)
{
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = gates_.find(peer);
    if (it == gates_.end()) return;  // closed meanwhile: dropped with the rest
    Gate& gate = it->second;
    // Messages pushed while the session had the batch come after it.
    rest.insert(rest.end(), std::make_move_iterator(gate.messages.begin()), std::make_move_iterator(gate.messages.end()));
    gate.messages.swap(rest);
    gate.held = hold;
    if (!hold && !gate.messages.empty()) mark_ready(peer, gate);
}

void OutboundQueue::put_first(const std::string& peer, Message message)
{
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = gates_.find(peer);
    if (it == gates_.end()) return;  // closed meanwhile: dropped with the rest
    Gate& gate = it->second;
    gate.messages.push_front(std::move(message));
    if (!gate.held) mark_ready(peer, gate);
}

bool OutboundQueue::resume(const std::string& peer)
{
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = gates_.find(peer);
    if (it == gates_.end()) return false;
    Gate& gate = it->second;
    gate.held = false;
    if (gate.messages.empty()) return false;
    mark_ready(peer, gate);
    return true;
}

bool OutboundQueue::release(const std::string& peer, size_t bytes)
{
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = gates_.find(peer);
    if (it == gates_.end()) return false;
    Gate& gate = it->second;
    gate.bytes -= std::min(bytes, gate.bytes);
    if (!gate.want_writable || gate.bytes > gate.limits.queue_bytes / 2) return false;
    gate.want_writable = false;
    return true;
}

size_t OutboundQueue::queued_bytes(const std::string& peer) const
{
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = gates_.find(peer);
    return it == gates_.end() ? 0 : it->second.bytes;
}

} // namespace om
