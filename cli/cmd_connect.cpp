// `connect PEER`: registers with --server as --id, connects to PEER (--transport auto: direct
// when possible, else the relay; p2p: direct only; server: the server relay; turn: the agent's
// TURN allocation alone), sends --count
// messages of --size bytes with --mode on --channel, waits for the echoes of a `listen`ing peer
// (bounded by --timeout-ms) and prints ONE JSON object with the CONTRACT's fields, then
// planned_strategy, mode, channel, the delivery session's metrics (peer_report.hpp) and pairs
// (the candidate pairs tried). Each payload carries a marker, its sequence number and a filler
// derived from both (demo_payload), so a damaged or misrouted echo is recognised; an echo must
// come back on the channel and in the mode it went with. OM_ERR_WOULD_BLOCK (the peer's send
// queue is full) waits for OM_EVENT_PEER_WRITABLE, or a short slice, and sends again.
// Exit 0 only when Connected and, in reliable modes, every echo came back intact (and, for
// reliable-ordered, in order); 1 otherwise; 2 for usage errors.
#include "agent_setup.hpp"
#include "commands.hpp"
#include "demo_payload.hpp"
#include "json_output.hpp"
#include "peer_report.hpp"

#include <orbitmesh/orbitmesh.hpp>

#include <Poco/JSON/Array.h>

#include <chrono>
#include <cstring>
#include <iostream>
#include <memory>
#include <optional>

namespace om_cli {
namespace {

using Clock = std::chrono::steady_clock;

// Unreliable modes: how long the exchange may stay silent before the rest counts as lost.
constexpr auto kQuiet = std::chrono::milliseconds(1000);
constexpr int kPumpWaitMs = 5;
// Longest wait for OM_EVENT_PEER_WRITABLE before a send is tried again anyway.
constexpr auto kWritableWait = std::chrono::milliseconds(50);

class Connector {
public:
    explicit Connector(const CliOptions& options)
        : options_(options), mode_(delivery_mode_from_name(options.cmd.mode)),
          channel_(static_cast<uint32_t>(options.cmd.channel)), count_(static_cast<size_t>(options.cmd.count)),
          size_(static_cast<size_t>(options.cmd.size)), echoed_(count_) {
        state_.struct_size = sizeof state_;
    }

    void create() {
        orbitmesh::AgentOptions o;
        fill_agent_options(options_.global, o);
        o.event_mode(OM_EVENTS_DISPATCH);
        agent_ = std::make_unique<orbitmesh::Agent>(o, [this](const om_event& e) { on_event(e); });
    }

    int run(om_transport_type via) {
        switch (connect_agent_to_peer(*agent_, "connect", options_.cmd.peer, via, state_, failure_)) {
        case PeerConnect::NotSupported: return kExitUsage;
        case PeerConnect::Failed: return report();
        case PeerConnect::Connected: break;
        }
        exchange();
        refresh_state();
        return report();
    }

private:
    void refresh_state() { refresh_peer_state(*agent_, options_.cmd.peer, state_); }

    void on_event(const om_event& e) {
        if (e.type == OM_EVENT_MESSAGE) {
            if (!e.peer_id || options_.cmd.peer != e.peer_id) return;
            std::optional<uint32_t> seq = demo_payload_seq(e.data, e.len, size_);
            if (seq && (e.channel != channel_ || e.delivery_mode != mode_)) {
                ++misrouted_; // intact, but on another channel or in another mode
                seq.reset();
            }
            echoed_.record(seq);
            if (seq) {
                if (next_expected_ && *seq < *next_expected_) ++out_of_order_;
                next_expected_ = *seq + 1;
            }
            last_activity_ = Clock::now();
        } else if (e.type == OM_EVENT_PEER_WRITABLE) {
            writable_ = true;
        } else if (e.type == OM_EVENT_PEER_DISCONNECTED && e.peer_id && options_.cmd.peer == e.peer_id) {
            peer_gone_ = e.message ? e.message : "the peer disconnected";
        } else if (e.type == OM_EVENT_DISCONNECTED) {
            peer_gone_ = std::string("the server connection ended") + (e.message ? std::string(": ") + e.message : "");
        }
    }

    void pump(int wait_ms) {
        try {
            agent_->dispatch(wait_ms);
        } catch (const orbitmesh::Error&) {
        }
    }

    // After OM_ERR_WOULD_BLOCK: reads echoes (the queue drains meanwhile) until the peer is
    // writable again (OM_EVENT_PEER_WRITABLE), at most kWritableWait, never past the deadline.
    void wait_writable(Clock::time_point deadline) {
        writable_ = false;
        const auto until = std::min(deadline, Clock::now() + kWritableWait);
        while (!writable_ && Clock::now() < until && peer_gone_.empty() && !stop_requested()) pump(kPumpWaitMs);
    }

    void exchange() {
        const auto deadline = Clock::now() + std::chrono::milliseconds(options_.global.timeout_ms);
        for (uint32_t seq = 0; seq < count_ && !stop_requested(); ++seq) {
            std::vector<uint8_t> payload = make_demo_payload(seq, size_);
            for (;;) {
                try {
                    agent_->send(options_.cmd.peer, payload.data(), payload.size(), mode_, channel_);
                    ++sent_;
                    bytes_sent_ += payload.size();
                    break;
                } catch (const orbitmesh::Error& e) {
                    if (e.status() != OM_ERR_WOULD_BLOCK || Clock::now() >= deadline || stop_requested() ||
                        !peer_gone_.empty()) {
                        ++send_errors_;
                        if (send_error_.empty()) send_error_ = std::string(e.status_name()) + ": " + e.what();
                        break;
                    }
                    ++would_block_;
                    wait_writable(deadline);
                }
            }
            if (send_errors_ > 0) break; // the path is gone: the rest would fail alike
            pump(0);
        }
        last_activity_ = Clock::now();
        const bool reliable = is_reliable(mode_);
        while (echoed_.unique() < sent_ && Clock::now() < deadline && !stop_requested() && peer_gone_.empty()) {
            if (!reliable && Clock::now() - last_activity_ > kQuiet) break;
            pump(kPumpWaitMs);
        }
    }

    std::string exchange_problem() const {
        if (!failure_.empty()) return failure_;
        if (state_.status != OM_PEER_CONNECTED && sent_ == 0) return "not connected";
        if (misrouted_ > 0)
            return std::to_string(misrouted_) + " echo(es) came back on another channel or in another mode than " +
                   options_.cmd.mode + " on channel " + std::to_string(channel_);
        if (echoed_.corrupted() > 0) return std::to_string(echoed_.corrupted()) + " echo(es) came back damaged";
        if (sent_ < count_) return "only " + std::to_string(sent_) + " of " + std::to_string(count_) +
                                   " messages could be sent" + (send_error_.empty() ? "" : " (" + send_error_ + ")");
        if (is_reliable(mode_)) {
            if (echoed_.unique() < sent_)
                return std::to_string(sent_ - echoed_.unique()) + " of " + std::to_string(sent_) +
                       " echoes missing after " + std::to_string(options_.global.timeout_ms) + " ms" +
                       (peer_gone_.empty() ? "" : " (" + peer_gone_ + ")");
            if (echoed_.duplicates() > 0) return std::to_string(echoed_.duplicates()) + " duplicate echo(es)";
            if (mode_ == OM_DELIVERY_RELIABLE_ORDERED && out_of_order_ > 0)
                return std::to_string(out_of_order_) + " echo(es) out of order";
        }
        return "";
    }

    int report() const {
        std::string problem = exchange_problem();
        const bool connected = state_.status == OM_PEER_CONNECTED;
        Poco::JSON::Object::Ptr out = new_json_object();
        out->set("status", peer_status_name(state_.status));
        set_or_null(out, "transport", transport_name(state_.active_transport));
        set_or_null(out, "strategy", strategy_name(state_.strategy));
        auto text = [](const char* s) { return s[0] ? std::optional<std::string>(s) : std::nullopt; };
        set_or_null(out, "local_candidate", text(state_.local_candidate));
        set_or_null(out, "remote_candidate", text(state_.remote_candidate));
        set_or_null(out, "local_nat", nat_name(state_.local_nat));
        set_or_null(out, "remote_nat", nat_name(state_.remote_nat));
        if (connected || state_.connect_ms > 0) out->set("connect_ms", state_.connect_ms);
        else out->set("connect_ms", Poco::Dynamic::Var());
        if (state_.rtt_ms > 0) out->set("rtt_ms", state_.rtt_ms);
        else out->set("rtt_ms", Poco::Dynamic::Var());
        out->set("sent", sent_);
        out->set("echoed", echoed_.unique());
        out->set("bytes_sent", connected || bytes_sent_ ? std::max<uint64_t>(state_.bytes_sent, bytes_sent_) : 0);
        out->set("bytes_received", state_.bytes_received);
        if (sent_ > 0) out->set("packet_loss", double(sent_ - echoed_.unique()) / double(sent_));
        else out->set("packet_loss", Poco::Dynamic::Var());
        std::string diagnosis = state_.diagnosis;
        if (!problem.empty()) diagnosis = diagnosis.empty() ? problem : problem + "; " + diagnosis;
        set_or_null(out, "diagnosis", diagnosis.empty() ? std::nullopt : std::optional<std::string>(diagnosis));
        // Beyond the CONTRACT's fields, after them: the strategy chosen and the pairs tried.
        set_or_null(out, "planned_strategy", strategy_name(state_.planned_strategy));
        out->set("mode", options_.cmd.mode);
        out->set("channel", channel_);
        set_session_metrics(out, state_);
        out->set("would_block", would_block_);
        out->set("pairs", pairs());
        print_json_line(out, std::cout);
        if (!problem.empty()) std::cerr << "orbitmesh-agent: connect: " << problem << "\n";
        return connected && problem.empty() ? kExitOk : kExitFailed;
    }

    // The candidate pairs of this attempt (om_agent_peer_pairs_json); [] when unknown.
    Poco::Dynamic::Var pairs() const {
        try {
            return parse_json(agent_->peer_pairs_json(options_.cmd.peer));
        } catch (const std::exception&) {
            return Poco::Dynamic::Var(Poco::JSON::Array::Ptr(new Poco::JSON::Array()));
        }
    }

    const CliOptions& options_;
    const om_delivery_mode mode_;
    const uint32_t channel_;
    const size_t count_;
    const size_t size_;
    om_peer_state state_{};
    DemoTally echoed_;
    std::optional<uint32_t> next_expected_;
    size_t out_of_order_ = 0;
    size_t sent_ = 0;
    uint64_t bytes_sent_ = 0;
    size_t send_errors_ = 0;
    std::string send_error_;
    size_t misrouted_ = 0;    // intact echoes on another channel or in another mode
    uint64_t would_block_ = 0; // sends answered OM_ERR_WOULD_BLOCK (then tried again)
    bool writable_ = true;
    std::string failure_;
    std::string peer_gone_;
    Clock::time_point last_activity_ = Clock::now();
    std::unique_ptr<orbitmesh::Agent> agent_; // last: goes first
};

} // namespace

int run_connect(const CliOptions& options) {
    const om_transport_type via = transport_for_choice(options.cmd.transport);
    if (options.cmd.size < static_cast<int>(kDemoHeaderSize)) {
        return usage_error("connect: --size must be at least " + std::to_string(kDemoHeaderSize) +
                           " bytes (marker and sequence number)");
    }
    install_stop_signals();
    Connector connector(options);
    try {
        connector.create();
    } catch (const orbitmesh::Error& e) {
        return usage_error(std::string("connect: ") + e.what());
    }
    return connector.run(via);
}

} // namespace om_cli
