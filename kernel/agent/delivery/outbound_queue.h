// Messages on their way from the application's threads to the peers' delivery sessions.
// om_agent_send checks and queues a message on the caller's own thread (a hop to the loop thread
// per message cost two context switches and left nothing to batch); the loop then hands each
// peer's whole queue to its session in one send_messages call, so a burst leaves in GSO batches.
// Thread-safe: push from any thread, everything else from the loop thread.
#pragma once

#include <orbitmesh/orbitmesh.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace om {

class OutboundQueue {
public:
    // What the caller's thread checks; the session checks everything again.
    struct Limits {
        bool enable_reliable = true;
        bool enable_unreliable = true;
        size_t max_unreliable = 0;  // largest unreliable message on the current path; 0 unknown
        size_t max_sequenced = 0;   // the same for sequenced
        size_t queue_bytes = 0;     // refuse (OM_ERR_WOULD_BLOCK) beyond it; one message always fits
        bool channel_zero_only = false;  // a plugin older than ABI 1.2
    };
    // What a message costs against queue_bytes: its bytes and the bookkeeping around them, so
    // empty messages are bounded too.
    static constexpr size_t kMessageOverhead = 64;
    static size_t cost(size_t len) { return len + kMessageOverhead; }
    struct Message {
        om_delivery_mode mode;
        uint32_t channel;
        std::vector<uint8_t> data;
    };
    enum class Push {
        Queued,      // taken; a drain is already due
        QueuedWake,  // taken, and the loop must be told to drain
        NotOpen,     // the peer takes no messages now: the loop knows why
        Refused,     // *status and *why say why
        Bypass,      // allowed and not copied: nothing of the peer's is queued or in the session's
                     // hands, so the caller may hand it straight to the session (only when asked).
                     // Its cost is counted as taken: release() it, or put_first() it if refused
    };

    // Any thread. The mode and channel are valid (Agent::send checked them). may_bypass: the
    // caller is on the loop thread and can send at once (a reply from an event callback), so a
    // message that would be first in an empty queue is not copied into it.
    Push push(const std::string& peer, om_delivery_mode mode, uint32_t channel, const uint8_t* data, size_t len,
              om_status* status, std::string* why, bool may_bypass = false);

    // Loop thread. The peer is connected with a session: messages are taken (again: new limits).
    void open(const std::string& peer, const Limits& limits);
    // The session lives on but the peer is not Connected now (a signaling blip): new messages
    // are refused (NotOpen), what is queued stays and is still drained into the session.
    void pause(const std::string& peer);
    // The peer no longer takes messages; what it had queued is dropped. Returns how many.
    size_t close(const std::string& peer);
    void close_all();
    bool is_open(const std::string& peer) const;
    // The peers with queued messages whose session is not full; the drain request is cleared.
    std::vector<std::string> take_ready();
    // Every queued message of the peer, in order (their bytes stay counted until release).
    std::deque<Message> take(const std::string& peer);
    // What the session did not take goes back in front; held (the session's queue is full)
    // until resume, else ready again.
    void give_back(const std::string& peer, std::deque<Message> rest, bool hold);
    // A Bypass message the session did not take: first in line, ahead of what was pushed
    // meanwhile (its cost is already counted). Dropped if the peer was closed meanwhile.
    void put_first(const std::string& peer, Message message);
    // The session has room again (its WRITABLE event). True when messages wait (drain them).
    bool resume(const std::string& peer);
    // Costs (cost()) that left the queue. True when the application was refused (OM_ERR_WOULD_BLOCK)
    // and the queue is at most half full now: a writable event is due, once.
    bool release(const std::string& peer, size_t bytes);
    size_t queued_bytes(const std::string& peer) const;

private:
    struct Gate {
        Limits limits;
        std::deque<Message> messages;
        size_t bytes = 0;  // queued plus taken and not yet released
        bool held = false;
        bool accepting = true;
        bool in_ready = false;
        bool want_writable = false;
    };
    void mark_ready(const std::string& peer, Gate& gate);  // under mutex_

    mutable std::mutex mutex_;
    std::unordered_map<std::string, Gate> gates_;
    std::vector<std::string> ready_;
    bool drain_due_ = false;
};

} // namespace om
