// Messages out: om_agent_send queues on the caller's thread (OutboundQueue) and the loop hands
// each peer's queue to its delivery session in one call. The caller's thread never waits for the
// loop thread, and a burst of messages leaves as one flush (GSO batches) instead of one packet
// per message.
#include "agent/agent.h"

#include "core/error.h"
#include "core/log.h"

#include <algorithm>

namespace om {
namespace {
// When the session names no limit of its own (an older plugin).
constexpr size_t kDefaultQueueBytes = size_t(32) << 20;
// A plugin older than ABI 1.2 has no WRITABLE event: its full queue is tried again after this.
constexpr uint64_t kOldPluginRetryUs = 2000;

// Marks a drain (or a direct send) in progress: a send from a callback nested in it queues and
// asks for another round instead of reaching the session ahead of what is being handed over.
struct DrainGuard {
    bool& flag;
    explicit DrainGuard(bool& f) : flag(f) { flag = true; }
    ~DrainGuard() { flag = false; }
};
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
    // The queue does not take it: the peer is not Connected (the loop says why), or the session
    // must judge it itself (a datagram limit an older plugin does not publish).
    on_loop([&] {
        PeerRecord* peer = peers_.find(peer_id);
        if (!peer || peer->status != OM_PEER_CONNECTED)
            fail(OM_ERR_STATE, peer_id + " is not connected" + (peer && !peer->diagnosis.empty() ? " (" + peer->diagnosis + ")" : ""));
        if (!peer->delivery)
            fail(OM_ERR_NOT_SUPPORTED, "no delivery plugin is loaded (delivery_plugin \"" + config_.delivery_plugin +
                                           "\"): messages need one (the default is delivery-quic)");
        sync_outbound(peer_id, *peer);
        if (queue_message(peer_id, data, len, mode, channel)) return;
        // Straight to the session, behind what is queued.
        drain_outbound();
        if (!peer->delivery) fail(OM_ERR_STATE, peer_id + " is not connected (" + peer->diagnosis + ")");
        std::string why;
        om_status status = peer->delivery->send(mode, channel, data, len, &why);
        if (status != OM_OK) {
            if (status == OM_ERR_WOULD_BLOCK) counters_.add("delivery.send_would_block", 1);
            fail(status, "sending to " + peer_id + ": " + (why.empty() ? std::string(om_status_str(status)) : why));
        }
        peer->bytes_sent += len;
        ++peer->messages_sent;
        messages_sent_.fetch_add(1, std::memory_order_relaxed);
    });
}

bool Agent::queue_message(const std::string& peer_id, const uint8_t* data, size_t len, om_delivery_mode mode,
                          uint32_t channel)
{
    const bool on_loop = loop_.in_loop_thread();
    om_status status = OM_OK;
    std::string why;
    switch (outbound_.push(peer_id, mode, channel, data, len, &status, &why, on_loop && !draining_outbound_)) {
    case OutboundQueue::Push::NotOpen: return false;
    case OutboundQueue::Push::Refused:
        if (status == OM_ERR_WOULD_BLOCK) counters_.add("delivery.send_would_block", 1);
        fail(status, "sending to " + peer_id + ": " + why);
    case OutboundQueue::Push::Bypass:
        send_now(peer_id, data, len, mode, channel);
        if (!drain_again_) return true;  // nothing was queued behind it meanwhile
        break;
    case OutboundQueue::Push::QueuedWake:
        if (!on_loop && !loop_.post([this] { drain_outbound(); })) fail(OM_ERR_CLOSED, "the agent is closing");
        break;
    case OutboundQueue::Push::Queued: break;
    }
    // From a callback on the loop thread (an echo): out at once, behind what others queued.
    if (on_loop) drain_outbound();
    return true;
}

// A reply from the loop thread with nothing of the peer's queued or in the session's hands
// before it goes into the session without a copy or a trip through the queue. The queue counts
// its bytes meanwhile (push reserved them), so every other message of the peer queues behind
// it; sends from callbacks nested in this call only mark a drain (draining_outbound_). Not taken
// at once, it goes back first in line, and the drain deals with the session's answer as for any
// queued message.
void Agent::send_now(const std::string& peer_id, const uint8_t* data, size_t len, om_delivery_mode mode,
                     uint32_t channel)
{
    size_t accepted = 0;
    {
        DrainGuard guard(draining_outbound_);
        PeerRecord* peer = peers_.find(peer_id);
        if (peer && peer->delivery) {
            const om_delivery_message message{mode, channel, data, len};
            std::string why;
            try {
                peer->delivery->send_batch(&message, 1, &accepted, &why);
            } catch (const Error&) {
                // The plugin broke, after taking the message or before: the queued path meets
                // the same failure and reports it (unless it was taken: never twice).
            }
            peer = peers_.find(peer_id);  // a nested callback may have ended the peer
            if (accepted == 1 && peer) {
                peer->bytes_sent += len;
                ++peer->messages_sent;
            }
        }
    }
    if (accepted == 1) {
        messages_sent_.fetch_add(1, std::memory_order_relaxed);
        messages_sent_direct_.fetch_add(1, std::memory_order_relaxed);
        if (outbound_.release(peer_id, OutboundQueue::cost(len))) emit_writable(peer_id);
        return;
    }
    outbound_.put_first(peer_id, OutboundQueue::Message{mode, channel, std::vector<uint8_t>(data, data + len)});
    drain_again_ = true;
}

void Agent::sync_outbound(const std::string& peer_id, PeerRecord& peer)
{
    if (!peer.delivery || !peer.established) {
        // The session is gone: what it never took goes with it.
        if (size_t dropped = outbound_.close(peer_id)) counters_.add("delivery.queued_messages_dropped", dropped);
        return;
    }
    if (peer.status != OM_PEER_CONNECTED) {
        outbound_.pause(peer_id);  // the session lives on: keep and drain what it was given
        return;
    }
    OutboundQueue::Limits limits;
    limits.enable_reliable = config_.raw.enable_reliable_delivery != 0;
    limits.enable_unreliable = config_.raw.enable_unreliable_delivery != 0;
    limits.channel_zero_only = !peer.delivery->reports_writable();
    om_delivery_metrics m{};
    if (peer.delivery->metrics(m)) {
        limits.max_unreliable = size_t(m.max_unreliable_message);
        limits.max_sequenced = size_t(m.max_sequenced_message);
        limits.queue_bytes = size_t(m.send_queue_limit);
    }
    if (!limits.queue_bytes) limits.queue_bytes = kDefaultQueueBytes;
    outbound_.open(peer_id, limits);
}

void Agent::session_writable(const std::string& peer_id, PeerRecord& peer)
{
    ++peer.session_writable_events;  // send_queued sees it if it comes from inside its own call
    // Never from inside the session's own output: a fresh task.
    if (outbound_.resume(peer_id)) post_drain();
}

void Agent::post_drain()
{
    loop_.post([this] { drain_outbound(); });
}

void Agent::drain_outbound()
{
    if (draining_outbound_) {
        drain_again_ = true;  // a callback sent while a drain ran: the outer drain takes it
        return;
    }
    std::vector<std::string> writable;
    {
        DrainGuard draining(draining_outbound_);
        try {
            do {
                drain_again_ = false;
                for (const std::string& peer_id : outbound_.take_ready()) {
                    PeerRecord* peer = peers_.find(peer_id);
                    if (!peer || !peer->delivery) {
                        if (size_t dropped = outbound_.close(peer_id))
                            counters_.add("delivery.queued_messages_dropped", dropped);
                        continue;
                    }
                    if (send_queued(peer_id, *peer)) writable.push_back(peer_id);
                }
            } while (drain_again_);
        } catch (const std::exception& e) {
            // Never out of a loop task: the peers that were not reached are drained next time.
            counters_.add("delivery.drain_errors", 1);
            log_message(OM_LOG_ERROR, std::string("delivery: sending queued messages failed: ") + e.what());
            post_drain();
        }
    }
    // Outside the drain: what a WRITABLE callback sends is drained by its own call (inside,
    // it would only have marked a drain the finished loop above never ran).
    for (const std::string& peer_id : writable) emit_writable(peer_id);
}

void Agent::emit_writable(const std::string& peer_id)
{
    PeerRecord* peer = peers_.find(peer_id);
    if (peer && outbound_.is_open(peer_id))
        emit(OM_EVENT_PEER_WRITABLE, nullptr, nullptr, 0, OM_OK, "send queue has room", peer_id.c_str(), 0, peer);
}

bool Agent::send_queued(const std::string& peer_id, PeerRecord& peer)
{
    std::deque<OutboundQueue::Message> batch = outbound_.take(peer_id);
    if (batch.empty()) return false;
    size_t released = 0;
    size_t refused = 0;
    std::string last_refusal;
    bool hold = false;
    while (!batch.empty() && peer.delivery) {
        const uint64_t writable_before = peer.session_writable_events;
        std::vector<om_delivery_message> run;
        run.reserve(batch.size());
        for (const auto& m : batch) run.push_back(om_delivery_message{m.mode, m.channel, m.data.data(), m.data.size()});
        size_t accepted = 0;
        std::string why;
        om_status status;
        try {
            status = peer.delivery->send_batch(run.data(), run.size(), &accepted, &why);
        } catch (const Error& e) {
            status = e.status();  // the plugin broke: its session is as good as over
            why = e.what();
        }
        // (The session may have ended inside that call: peer.delivery can be gone from here on.)
        accepted = std::min(accepted, batch.size());
        for (size_t i = 0; i < accepted; ++i) {
            peer.bytes_sent += batch[i].data.size();
            released += OutboundQueue::cost(batch[i].data.size());
        }
        peer.messages_sent += accepted;
        messages_sent_.fetch_add(accepted, std::memory_order_relaxed);
        batch.erase(batch.begin(), batch.begin() + std::ptrdiff_t(accepted));
        if (status == OM_OK || batch.empty()) break;
        if (status == OM_ERR_WOULD_BLOCK) {
            counters_.add("delivery.session_would_block", 1);
            // It took some, wrote, and its WRITABLE came from inside that very call (after the
            // refusal): no other will come, so try again now.
            if (peer.session_writable_events != writable_before && accepted > 0) continue;
            hold = peer.delivery && peer.delivery->reports_writable();
            if (!hold) loop_.add_timer(kOldPluginRetryUs, 0, [this](uint64_t) { drain_outbound(); });
            break;
        }
        // Refused after it was queued (the path's datagram limit shrank, the session ended): the
        // message is dropped and counted; the rest goes on unless the session is over.
        const bool over = status == OM_ERR_CLOSED || status == OM_ERR_PLUGIN || !peer.delivery;
        const size_t dropped = over ? batch.size() : 1;
        for (size_t i = 0; i < dropped; ++i) released += OutboundQueue::cost(batch[i].data.size());
        batch.erase(batch.begin(), batch.begin() + std::ptrdiff_t(dropped));
        refused += dropped;
        last_refusal = why.empty() ? std::string(om_status_str(status)) : why;
        if (over) break;
    }
    if (refused) {
        counters_.add("delivery.messages_refused_after_queue", refused);
        log_message(OM_LOG_WARNING, "delivery: " + std::to_string(refused) + " queued message(s) to " + peer_id +
                                        " dropped: " + last_refusal);
    }
    if (!batch.empty() && peer.delivery) {
        outbound_.give_back(peer_id, std::move(batch), hold);
    } else if (!batch.empty()) {
        for (const auto& m : batch) released += OutboundQueue::cost(m.data.size());
        counters_.add("delivery.queued_messages_dropped", batch.size());
    }
    return outbound_.release(peer_id, released);
}

} // namespace om
