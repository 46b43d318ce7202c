// Messages out: om_agent_send queues on the caller's thread (OutboundQueue) and the loop hands
// each peer's queue to its delivery session in one call. The caller's thread never waits for the
// loop thread, and a burst of messages leaves as one flush (GSO batches) instead of one packet
// per message.
#include "agent/agent.h"

#include "core/error.h"
#include "core/log.h"

namespace om {
namespace {
// When the session names no limit of its own (an older plugin).
constexpr size_t kDefaultQueueBytes = size_t(32) << 20;
} // namespace

void Agent::send(const std::string& peer_id, const uint8_t* data, size_t len, om_delivery_mode mode, uint32_t channel)
{
    if (mode < OM_DELIVERY_RELIABLE_ORDERED || mode > OM_DELIVERY_SEQUENCED)
        fail(OM_ERR_INVALID_ARGUMENT, "unknown delivery mode " + std::to_string(mode));
    if (channel >= OM_MAX_CHANNELS)
        fail(OM_ERR_INVALID_ARGUMENT, "channel " + std::to_string(channel) + " is out of range (0.." +
                                          std::to_string(OM_MAX_CHANNELS - 1) + ")");
    if (!data && len) fail(OM_ERR_INVALID_ARGUMENT, "data is NULL");
    if (queue_message(peer_id, data, len, mode, channel)) return;
    // The peer takes no messages now: the loop thread knows why (or opens it, if it just connected).
    on_loop([&] {
        PeerRecord* peer = peers_.find(peer_id);
        if (!peer || peer->status != OM_PEER_CONNECTED)
            fail(OM_ERR_STATE, peer_id + " is not connected" + (peer && !peer->diagnosis.empty() ? " (" + peer->diagnosis + ")" : ""));
        if (!peer->delivery)
            fail(OM_ERR_NOT_SUPPORTED, "no delivery plugin is loaded (delivery_plugin \"" + config_.delivery_plugin +
                                           "\"): messages need one (the default is delivery-quic)");
        sync_outbound(peer_id, *peer);
        if (!queue_message(peer_id, data, len, mode, channel))
            fail(OM_ERR_STATE, peer_id + " takes no messages yet (its session is not established)");
    });
}

bool Agent::queue_message(const std::string& peer_id, const uint8_t* data, size_t len, om_delivery_mode mode,
                          uint32_t channel)
{
    om_status status = OM_OK;
    std::string why;
    switch (outbound_.push(peer_id, mode, channel, data, len, &status, &why)) {
    case OutboundQueue::Push::NotOpen: return false;
    case OutboundQueue::Push::Refused:
        if (status == OM_ERR_WOULD_BLOCK) counters_.add("delivery.send_would_block", 1);
        fail(status, "sending to " + peer_id + ": " + why);
    case OutboundQueue::Push::QueuedWake:
        if (!loop_.in_loop_thread() && !loop_.post([this] { drain_outbound(); }))
            fail(OM_ERR_CLOSED, "the agent is closing");
        break;
    case OutboundQueue::Push::Queued: break;
    }
    // From a callback on the loop thread (an echo): out at once, behind what others queued.
    if (loop_.in_loop_thread()) drain_outbound();
    return true;
}

void Agent::sync_outbound(const std::string& peer_id, PeerRecord& peer)
{
    if (peer.status != OM_PEER_CONNECTED || !peer.delivery || !peer.established) {
        if (size_t dropped = outbound_.close(peer_id)) counters_.add("delivery.queued_messages_dropped", dropped);
        return;
    }
    OutboundQueue::Limits limits;
    limits.enable_reliable = config_.raw.enable_reliable_delivery != 0;
    limits.enable_unreliable = config_.raw.enable_unreliable_delivery != 0;
    om_delivery_metrics m{};
    if (peer.delivery->metrics(m)) {
        limits.max_unreliable = size_t(m.max_unreliable_message);
        limits.max_sequenced = size_t(m.max_sequenced_message);
        limits.queue_bytes = size_t(m.send_queue_limit);
    }
    if (!limits.queue_bytes) limits.queue_bytes = kDefaultQueueBytes;
    outbound_.open(peer_id, limits);
}

void Agent::session_writable(const std::string& peer_id)
{
    // Never from inside the session's own output: a fresh task.
    if (outbound_.resume(peer_id)) loop_.post([this] { drain_outbound(); });
}

void Agent::drain_outbound()
{
    if (draining_outbound_) {
        drain_again_ = true;  // a callback sent while a drain ran: the outer drain takes it
        return;
    }
    draining_outbound_ = true;
    std::vector<std::string> writable;
    do {
        drain_again_ = false;
        for (const std::string& peer_id : outbound_.take_ready()) {
            PeerRecord* peer = peers_.find(peer_id);
            if (!peer || !peer->delivery) {
                if (size_t dropped = outbound_.close(peer_id)) counters_.add("delivery.queued_messages_dropped", dropped);
                continue;
            }
            if (send_queued(peer_id, *peer)) writable.push_back(peer_id);
        }
    } while (drain_again_);
    draining_outbound_ = false;
    for (const std::string& peer_id : writable) {
        PeerRecord* peer = peers_.find(peer_id);
        if (peer && outbound_.is_open(peer_id))
            emit(OM_EVENT_PEER_WRITABLE, nullptr, nullptr, 0, OM_OK, "send queue has room", peer_id.c_str(), 0, peer);
    }
}

bool Agent::send_queued(const std::string& peer_id, PeerRecord& peer)
{
    std::deque<OutboundQueue::Message> batch = outbound_.take(peer_id);
    if (batch.empty()) return false;
    std::vector<om_delivery_message> run;
    run.reserve(batch.size());
    for (const auto& m : batch) run.push_back(om_delivery_message{m.mode, m.channel, m.data.data(), m.data.size()});
    size_t accepted = 0;
    std::string why;
    om_status status = peer.delivery->send_batch(run.data(), run.size(), &accepted, &why);
    // (The session may have ended inside that call: peer.delivery can be gone from here on.)
    size_t released = 0;
    for (size_t i = 0; i < accepted; ++i) released += batch[i].data.size();
    peer.bytes_sent += released;
    peer.messages_sent += accepted;
    counters_.add("delivery.messages_sent", accepted);
    batch.erase(batch.begin(), batch.begin() + std::ptrdiff_t(accepted));
    if (status == OM_ERR_WOULD_BLOCK) {
        // The session's own queue is full: the rest waits here for its WRITABLE event.
        counters_.add("delivery.session_would_block", 1);
        outbound_.give_back(peer_id, std::move(batch), true);
    } else if (status != OM_OK && !batch.empty()) {
        // Refused after it was queued (the path's datagram limit shrank, the session ended): the
        // message is dropped and counted; the rest goes on unless the session is over.
        const bool over = status == OM_ERR_CLOSED || !peer.delivery;
        const size_t dropped = over ? batch.size() : 1;
        counters_.add("delivery.messages_refused_after_queue", dropped);
        log_message(OM_LOG_WARNING, "delivery: " + std::to_string(dropped) + " message(s) to " + peer_id +
                                     " dropped: " + (why.empty() ? std::string(om_status_str(status)) : why));
        for (size_t i = 0; i < dropped; ++i) released += batch[i].data.size();
        batch.erase(batch.begin(), batch.begin() + std::ptrdiff_t(dropped));
        if (!batch.empty()) outbound_.give_back(peer_id, std::move(batch), false);
        if (!batch.empty() || !over) drain_again_ = true;
    }
    return outbound_.release(peer_id, released);
}

} // namespace om
