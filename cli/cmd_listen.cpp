// `listen`: registers with --server as --id, accepts every peer and echoes each message back to
// its sender on the channel and with the delivery mode it came with. Events run on the agent's
// loop thread, and the echo is sent from there at once (no hand-off to this thread and back,
// which cost two thread wake-ups per message); one JSON object per line for connected /
// disconnected / reconnecting / peer_connected (with transport and strategy) / peer_state_changed / peer_disconnected (with
// reason) / peer_writable (the peer's send queue has room again after OM_ERR_WOULD_BLOCK; at most
// one line per peer per summary interval, the summary counts them all) / error, an "echo_failed"
// line (peer, mode, channel, reason) for each message that could not go back, a "summary" line
// every few seconds while messages flow (messages themselves are counted, never printed one by
// one), and a final "stopped" line. A full send queue (OM_ERR_WOULD_BLOCK) is waited out, reading
// events meanwhile, for at most --timeout-ms before the echo counts as failed.
// Runs until SIGINT or SIGTERM (exit 0). Exit 1 when the first registration fails.
#include "agent_setup.hpp"
#include "commands.hpp"
#include "json_output.hpp"
#include "peer_report.hpp"

#include <orbitmesh/orbitmesh.hpp>

#include <chrono>
#include <deque>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

namespace om_cli {
namespace {

using Clock = std::chrono::steady_clock;

constexpr auto kTick = std::chrono::milliseconds(50);  // expiry of waiting echoes, summaries
constexpr auto kSummaryEvery = std::chrono::seconds(5);
constexpr size_t kMostWaiting = 100000;  // echoes per peer waiting for room; beyond: echo_failed

struct PeerTally {
    uint64_t messages = 0;
    uint64_t bytes = 0;
    uint64_t echo_failures = 0;
    uint64_t would_block = 0;  // echoes answered OM_ERR_WOULD_BLOCK (then retried)
    uint64_t writable = 0;     // OM_EVENT_PEER_WRITABLE events
    Clock::time_point last_writable_line{};
    // Echoes refused with OM_ERR_WOULD_BLOCK and those behind them, oldest first.
    struct Waiting {
        orbitmesh::Event message;
        Clock::time_point deadline;
    };
    std::deque<Waiting> waiting;
    // An agent call from a callback may deliver events itself (a send hands out what the session
    // had received): such a nested callback queues its echo behind the one being sent.
    bool sending = false;
};

class Listener {
public:
    explicit Listener(const CliOptions& options) : options_(options) {}

    void create() {
        orbitmesh::AgentOptions o;
        fill_agent_options(options_.global, o);
        agent_ = std::make_unique<orbitmesh::Agent>(o, [this](const om_event& e) {
            std::lock_guard<std::recursive_mutex> lock(mutex_);
            on_event(e);
        });
    }

    int run() {
        try {
            agent_->connect();
        } catch (const orbitmesh::Error& e) {
            std::lock_guard<std::recursive_mutex> lock(mutex_);
            Poco::JSON::Object::Ptr out = line("error");
            out->set("status", e.status_name());
            out->set("message", std::string(e.what()));
            print_json_line(out, std::cout);
            return kExitFailed;
        }
        auto next_summary = Clock::now() + kSummaryEvery;
        while (!stop_requested()) {
            std::this_thread::sleep_for(kTick);
            // Never an agent call under the lock: the loop thread takes it in every callback.
            std::lock_guard<std::recursive_mutex> lock(mutex_);
            expire_waiting();
            if (Clock::now() >= next_summary) {
                if (total_messages_ != summarized_messages_) print_summary("summary");
                next_summary = Clock::now() + kSummaryEvery;
            }
        }
        try {
            agent_->disconnect();
        } catch (const orbitmesh::Error&) {
        }
        {
            std::lock_guard<std::recursive_mutex> lock(mutex_);
            closing_ = true;  // callbacks until the loop thread is joined send nothing
        }
        agent_.reset();  // joins the loop thread: no callback after this
        expire_waiting(true);
        print_summary("stopped");
        return kExitOk;
    }

private:
    Poco::JSON::Object::Ptr line(const char* event) const {
        Poco::JSON::Object::Ptr out = new_json_object();
        out->set("event", event);
        return out;
    }

    // On the loop thread, under mutex_.
    void on_event(const om_event& e) {
        if (closing_) return;
        switch (e.type) {
        case OM_EVENT_MESSAGE:
            on_message(e);
            return;
        case OM_EVENT_CONNECTED: {
            Poco::JSON::Object::Ptr out = line("connected");
            out->set("id", options_.global.id);
            out->set("server", options_.global.server);
            set_or_null(out, "session", e.message ? std::optional<std::string>(e.message) : std::nullopt);
            print_json_line(out, std::cout);
            return;
        }
        case OM_EVENT_DISCONNECTED:
        case OM_EVENT_RECONNECTING: {
            Poco::JSON::Object::Ptr out = line(e.type == OM_EVENT_DISCONNECTED ? "disconnected" : "reconnecting");
            set_or_null(out, "reason", e.message ? std::optional<std::string>(e.message) : std::nullopt);
            print_json_line(out, std::cout);
            return;
        }
        case OM_EVENT_PEER_CONNECTED: {
            std::string peer = e.peer_id ? e.peer_id : "";
            peers_[peer];
            Poco::JSON::Object::Ptr out = line("peer_connected");
            out->set("peer", peer);
            set_peer_state(out, orbitmesh::Event::from(e));
            print_json_line(out, std::cout);
            return;
        }
        case OM_EVENT_PEER_STATE_CHANGED: {
            const orbitmesh::Event copy = orbitmesh::Event::from(e);
            Poco::JSON::Object::Ptr out = line("peer_state_changed");
            out->set("peer", copy.peer_id);
            out->set("status", peer_status_name(copy.peer_status));
            set_peer_state(out, copy);
            set_or_null(out, "reason", copy.message.empty() ? std::nullopt : std::optional<std::string>(copy.message));
            print_json_line(out, std::cout);
            return;
        }
        case OM_EVENT_PEER_DISCONNECTED: {
            std::string peer = e.peer_id ? e.peer_id : "";
            const PeerTally& tally = peers_[peer];
            Poco::JSON::Object::Ptr out = line("peer_disconnected");
            out->set("peer", peer);
            set_or_null(out, "reason", e.message ? std::optional<std::string>(e.message) : std::nullopt);
            out->set("messages", tally.messages);
            out->set("bytes", tally.bytes);
            print_json_line(out, std::cout);
            return;
        }
        case OM_EVENT_PEER_WRITABLE: {
            std::string peer = e.peer_id ? e.peer_id : "";
            PeerTally& tally = peers_[peer];
            ++tally.writable;
            const auto now = Clock::now();
            if (tally.last_writable_line == Clock::time_point{} || now - tally.last_writable_line >= kSummaryEvery) {
                tally.last_writable_line = now;
                Poco::JSON::Object::Ptr out = line("peer_writable");
                out->set("peer", peer);
                out->set("would_block", tally.would_block);
                print_json_line(out, std::cout);
            }
            send_waiting(peer, tally);
            return;
        }
        case OM_EVENT_ERROR: {
            Poco::JSON::Object::Ptr out = line("error");
            out->set("status", std::string(om_status_name(e.status)));
            set_or_null(out, "message", e.message ? std::optional<std::string>(e.message) : std::nullopt);
            print_json_line(out, std::cout);
            return;
        }
        default:
            return;
        }
    }

    // transport and strategy of a peer event (null when the library does not say).
    static void set_peer_state(const Poco::JSON::Object::Ptr& out, const orbitmesh::Event& e) {
        set_or_null(out, "transport", transport_name(e.transport));
        set_or_null(out, "strategy", strategy_name(e.strategy));
    }

    void on_message(const om_event& e) {
        const std::string peer = e.peer_id ? e.peer_id : "";
        PeerTally& tally = peers_[peer];
        ++tally.messages;
        tally.bytes += e.len;
        ++total_messages_;
        total_bytes_ += e.len;
        if (tally.sending || !tally.waiting.empty()) {  // behind the echoes already waiting: order kept
            if (tally.waiting.size() >= kMostWaiting) {
                echo_failed(peer, e.delivery_mode, e.channel,
                            "OM_ERR_WOULD_BLOCK: " + std::to_string(kMostWaiting) + " echoes to " + peer +
                                " already wait for room in its send queue");
                return;
            }
            wait(tally, orbitmesh::Event::from(e));
            send_waiting(peer, tally);  // any event of the peer is a chance to go on
            return;
        }
        std::string error;
        tally.sending = true;
        const Echo result = echo(peer, tally, e.data, e.len, e.delivery_mode, e.channel, &error);
        tally.sending = false;
        switch (result) {
        case Echo::Sent: break;
        case Echo::Full:
            wait(tally, orbitmesh::Event::from(e), true);  // before any that came in meanwhile
            return;
        case Echo::Failed: echo_failed(peer, e.delivery_mode, e.channel, error); break;
        }
        send_waiting(peer, tally);  // what nested callbacks queued meanwhile
    }

    void wait(PeerTally& tally, orbitmesh::Event message, bool first = false) {
        if (first) tally.waiting.push_front({std::move(message), timeout_from_now()});
        else tally.waiting.push_back({std::move(message), timeout_from_now()});
    }

    Clock::time_point timeout_from_now() const {
        return Clock::now() + std::chrono::milliseconds(options_.global.timeout_ms);
    }

    // After the peer's WRITABLE: its waiting echoes go, in order, until the queue is full again.
    void send_waiting(const std::string& peer, PeerTally& tally) {
        if (tally.sending) return;  // nested: the outer call goes on with the queue
        tally.sending = true;
        while (!tally.waiting.empty()) {
            // A reference stays valid: nested callbacks only push_back (a deque keeps its
            // elements in place), and only this loop pops while sending.
            const orbitmesh::Event& m = tally.waiting.front().message;
            std::string error;
            const Echo result = echo(peer, tally, m.data.data(), m.data.size(), m.delivery_mode, m.channel, &error);
            if (result == Echo::Full) break;
            if (result == Echo::Failed) echo_failed(peer, m.delivery_mode, m.channel, error);
            tally.waiting.pop_front();
            restart_deadline(tally);
        }
        tally.sending = false;
    }

    // Echoes that waited longer than --timeout-ms (all of them when stopping) count as failed.
    void expire_waiting(bool all = false) {
        const auto now = Clock::now();
        for (auto& [peer, tally] : peers_)
            while (!tally.waiting.empty() && (all || tally.waiting.front().deadline <= now)) {
                const orbitmesh::Event& m = tally.waiting.front().message;
                echo_failed(peer, m.delivery_mode, m.channel,
                            "OM_ERR_WOULD_BLOCK: the send queue to " + peer + " stayed full for " +
                                std::to_string(options_.global.timeout_ms) + " ms (--timeout-ms)");
                tally.waiting.pop_front();
                restart_deadline(tally);
            }
    }

    // Each echo waits at most --timeout-ms from when it is next in line, not from when it came.
    void restart_deadline(PeerTally& tally) {
        if (!tally.waiting.empty()) tally.waiting.front().deadline = timeout_from_now();
    }

    enum class Echo { Sent, Full, Failed };

    // Sends the message back on its channel and in its mode, from the loop thread (no wait).
    Echo echo(const std::string& peer, PeerTally& tally, const uint8_t* data, size_t len, om_delivery_mode mode,
              uint32_t channel, std::string* error) {
        try {
            agent_->send(peer, data, len, mode, channel);
            return Echo::Sent;
        } catch (const orbitmesh::Error& err) {
            if (err.status() == OM_ERR_WOULD_BLOCK) {
                ++tally.would_block;
                ++would_block_;
                return Echo::Full;
            }
            *error = std::string(err.status_name()) + ": " + err.what();
            return Echo::Failed;
        }
    }

    void echo_failed(const std::string& peer, om_delivery_mode mode, uint32_t channel, const std::string& reason) {
        ++peers_[peer].echo_failures;
        ++echo_failures_;
        if (last_echo_error_.empty()) last_echo_error_ = reason;
        Poco::JSON::Object::Ptr out = line("echo_failed");
        out->set("peer", peer);
        out->set("mode", delivery_mode_name(mode));
        out->set("channel", channel);
        out->set("reason", reason);
        print_json_line(out, std::cout);
    }

    void print_summary(const char* event) {
        summarized_messages_ = total_messages_;
        Poco::JSON::Object::Ptr out = line(event);
        out->set("messages", total_messages_);
        out->set("bytes", total_bytes_);
        out->set("echo_failures", echo_failures_);
        out->set("would_block", would_block_);
        Poco::JSON::Object::Ptr peers = new_json_object();
        for (const auto& [id, tally] : peers_) {
            Poco::JSON::Object::Ptr p = new_json_object();
            p->set("messages", tally.messages);
            p->set("bytes", tally.bytes);
            if (tally.echo_failures) p->set("echo_failures", tally.echo_failures);
            if (tally.would_block) p->set("would_block", tally.would_block);
            if (tally.writable) p->set("writable", tally.writable);
            peers->set(id, p);
        }
        out->set("peers", peers);
        if (!last_echo_error_.empty()) out->set("echo_error", last_echo_error_);
        print_json_line(out, std::cout);
    }

    const CliOptions& options_;
    // Everything below: the loop thread's callbacks and this thread's ticks. Recursive: a send
    // from a callback may run a nested callback on the same thread.
    std::recursive_mutex mutex_;
    std::map<std::string, PeerTally> peers_;
    uint64_t total_messages_ = 0;
    uint64_t total_bytes_ = 0;
    uint64_t summarized_messages_ = 0;
    uint64_t echo_failures_ = 0;
    uint64_t would_block_ = 0;
    std::string last_echo_error_;
    bool closing_ = false;
    std::unique_ptr<orbitmesh::Agent> agent_; // last: goes first
};

} // namespace

int run_listen(const CliOptions& options) {
    install_stop_signals();
    Listener listener(options);
    try {
        listener.create();
    } catch (const orbitmesh::Error& e) {
        return usage_error(std::string("listen: ") + e.what());
    }
    return listener.run();
}

} // namespace om_cli
