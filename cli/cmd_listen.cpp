// `listen`: registers with --server as --id, accepts every peer and echoes each message back to
// its sender on the channel and with the delivery mode it came with. Events run in dispatch mode
// on this thread; one JSON object per line for connected / disconnected / reconnecting /
// peer_connected (with transport and strategy) / peer_state_changed / peer_disconnected (with
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
#include <set>

namespace om_cli {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kDispatchSliceMs = 100;
constexpr auto kSummaryEvery = std::chrono::seconds(5);
// After OM_ERR_WOULD_BLOCK: events are read in slices of this length until the peer is writable,
// at most kWritableWait before the send is tried again anyway.
constexpr int kWritableSliceMs = 2;
constexpr auto kWritableWait = std::chrono::milliseconds(50);

struct PeerTally {
    uint64_t messages = 0;
    uint64_t bytes = 0;
    uint64_t echo_failures = 0;
    uint64_t would_block = 0;  // echoes answered OM_ERR_WOULD_BLOCK (then retried)
    uint64_t writable = 0;     // OM_EVENT_PEER_WRITABLE events
    Clock::time_point last_writable_line{};
};

class Listener {
public:
    explicit Listener(const CliOptions& options) : options_(options) {}

    void create() {
        orbitmesh::AgentOptions o;
        fill_agent_options(options_.global, o);
        o.event_mode(OM_EVENTS_DISPATCH);
        agent_ = std::make_unique<orbitmesh::Agent>(o, [this](const om_event& e) { on_event(e); });
    }

    int run() {
        try {
            agent_->connect();
        } catch (const orbitmesh::Error& e) {
            drain();
            Poco::JSON::Object::Ptr out = line("error");
            out->set("status", e.status_name());
            out->set("message", std::string(e.what()));
            print_json_line(out, std::cout);
            return kExitFailed;
        }
        auto next_summary = Clock::now() + kSummaryEvery;
        while (!stop_requested()) {
            try {
                agent_->dispatch(kDispatchSliceMs);
            } catch (const orbitmesh::Error&) {
                // OM_ERR_TIMEOUT: nothing arrived in this slice.
            }
            echo_pending();
            if (Clock::now() >= next_summary) {
                if (total_messages_ != summarized_messages_) print_summary("summary");
                next_summary = Clock::now() + kSummaryEvery;
            }
        }
        try {
            agent_->disconnect();
        } catch (const orbitmesh::Error&) {
        }
        drain();
        print_summary("stopped");
        return kExitOk;
    }

private:
    Poco::JSON::Object::Ptr line(const char* event) const {
        Poco::JSON::Object::Ptr out = new_json_object();
        out->set("event", event);
        return out;
    }

    void drain() {
        try {
            while (agent_->dispatch(0) > 0) {
            }
        } catch (const orbitmesh::Error&) {
        }
    }

    // Runs inside dispatch(): only records and prints; echoes are sent after dispatch returns.
    void on_event(const om_event& e) {
        switch (e.type) {
        case OM_EVENT_MESSAGE:
            inbox_.push_back(orbitmesh::Event::from(e));
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
            writable_.insert(peer);
            const auto now = Clock::now();
            if (tally.last_writable_line == Clock::time_point{} || now - tally.last_writable_line >= kSummaryEvery) {
                tally.last_writable_line = now;
                Poco::JSON::Object::Ptr out = line("peer_writable");
                out->set("peer", peer);
                out->set("would_block", tally.would_block);
                print_json_line(out, std::cout);
            }
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

    void echo_pending() {
        while (!inbox_.empty()) {
            orbitmesh::Event e = std::move(inbox_.front());
            inbox_.pop_front();
            PeerTally& tally = peers_[e.peer_id];
            ++tally.messages;
            tally.bytes += e.data.size();
            ++total_messages_;
            total_bytes_ += e.data.size();
            if (!echo(e)) {
                ++tally.echo_failures;
                ++echo_failures_;
                Poco::JSON::Object::Ptr out = line("echo_failed");
                out->set("peer", e.peer_id);
                out->set("mode", delivery_mode_name(e.delivery_mode));
                out->set("channel", e.channel);
                out->set("reason", last_send_error_);
                print_json_line(out, std::cout);
            }
        }
    }

    // Sends the message back on its channel and in its mode. A full send queue
    // (OM_ERR_WOULD_BLOCK) is waited out for at most --timeout-ms: events are read meanwhile
    // (messages queue in inbox_), and the send is tried again on OM_EVENT_PEER_WRITABLE or after
    // a short slice.
    bool echo(const orbitmesh::Event& e) {
        auto deadline = Clock::now() + std::chrono::milliseconds(options_.global.timeout_ms);
        for (;;) {
            try {
                agent_->send(e.peer_id, e.data.data(), e.data.size(), e.delivery_mode, e.channel);
                return true;
            } catch (const orbitmesh::Error& err) {
                if (err.status() != OM_ERR_WOULD_BLOCK || Clock::now() >= deadline || stop_requested()) {
                    last_send_error_ = std::string(err.status_name()) + ": " + err.what();
                    if (last_echo_error_.empty()) last_echo_error_ = err.what();
                    return false;
                }
                ++peers_[e.peer_id].would_block;
                ++would_block_;
            }
            writable_.erase(e.peer_id);
            const auto until = std::min(deadline, Clock::now() + kWritableWait);
            while (!writable_.count(e.peer_id) && Clock::now() < until && !stop_requested()) {
                try {
                    agent_->dispatch(kWritableSliceMs);
                } catch (const orbitmesh::Error&) {
                }
            }
        }
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
    std::deque<orbitmesh::Event> inbox_;
    std::map<std::string, PeerTally> peers_;
    uint64_t total_messages_ = 0;
    uint64_t total_bytes_ = 0;
    uint64_t summarized_messages_ = 0;
    uint64_t echo_failures_ = 0;
    uint64_t would_block_ = 0;
    std::set<std::string> writable_; // peers writable again since their last OM_ERR_WOULD_BLOCK
    std::string last_echo_error_;
    std::string last_send_error_;
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
