// `bench PEER [--seconds 5] [--size 1024] [--mode reliable-ordered] [--transport auto]
// [--channel 0]`: against a `listen`ing peer (which echoes every message on its channel and in
// its mode), measures
//  1. round-trip times: a ping-pong phase of single messages, one in flight at a time, each
//     carrying its send time (steady clock, ns); at most kPings pings or kPingPhase, whichever
//     ends first (an unreliable ping lost for kPingWait is skipped). Events run on the agent's
//     loop thread and each echo sends the next ping from there, as an application answering in
//     its callback would: the times are the library's, without a hand-off to this thread;
//  2. throughput: for --seconds, sends --size byte messages as fast as the peer's send queue
//     takes them (OM_ERR_WOULD_BLOCK waits for OM_EVENT_PEER_WRITABLE or a short slice), then
//     waits for the echoes still on their way (reliable modes: up to kDrainReliable; others
//     until kDrainQuiet passes without one). Only what the peer echoed back intact counts.
// Prints ONE JSON object: the CONTRACT's transport, seconds (the throughput phase, first send to
// last echo counted), messages and bytes (echoed back), mbit_per_s and msgs_per_s (of the echoed
// payload, one direction), rtt_ms_p50, rtt_ms_p99, retransmits (the QUIC session's); then
// status, strategy, mode, channel, size, sent, damaged, would_block, rtt_samples, rtt_ms_min,
// rtt_ms_mean, the session metrics (peer_report.hpp) and diagnosis.
// Exit 0 when Connected and something came back (in reliable modes: nothing damaged); 1 when the
// operation failed (the JSON says why); 2 for usage errors.
#include "agent_setup.hpp"
#include "commands.hpp"
#include "demo_payload.hpp"
#include "json_output.hpp"
#include "peer_report.hpp"

#include <orbitmesh/orbitmesh.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <iostream>
#include <memory>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <vector>

namespace om_cli {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kPings = 200;
constexpr auto kPingPhase = std::chrono::milliseconds(2000);
constexpr auto kPingWait = std::chrono::milliseconds(1000);
constexpr auto kDrainReliable = std::chrono::milliseconds(5000);
constexpr auto kDrainQuiet = std::chrono::milliseconds(500);
constexpr auto kWritableWait = std::chrono::milliseconds(20);
// How often the waiting thread looks at the clock (lost pings, the drain's quiet time).
constexpr auto kPingCheck = std::chrono::milliseconds(50);
constexpr auto kDrainCheck = std::chrono::milliseconds(10);

// Ping payload: "ping", sequence number, send time in ns (big-endian), zero filler to --size.
constexpr uint8_t kPingMarker[4] = {'p', 'i', 'n', 'g'};
constexpr size_t kPingHeader = 16;

uint64_t now_ns() {
    return static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count());
}

std::vector<uint8_t> make_ping(uint32_t seq, size_t size) {
    std::vector<uint8_t> out(std::max(size, kPingHeader), 0);
    std::memcpy(out.data(), kPingMarker, sizeof kPingMarker);
    for (int i = 0; i < 4; ++i) out[4 + i] = static_cast<uint8_t>(seq >> (24 - 8 * i));
    const uint64_t t = now_ns();
    for (int i = 0; i < 8; ++i) out[8 + i] = static_cast<uint8_t>(t >> (56 - 8 * i));
    return out;
}

// (seq, send time) of an intact ping echo.
std::optional<std::pair<uint32_t, uint64_t>> read_ping(const uint8_t* data, size_t len, size_t size) {
    if (!data || len != std::max(size, kPingHeader) || std::memcmp(data, kPingMarker, sizeof kPingMarker) != 0)
        return std::nullopt;
    for (size_t i = kPingHeader; i < len; ++i)
        if (data[i] != 0) return std::nullopt;
    uint32_t seq = 0;
    uint64_t t = 0;
    for (int i = 0; i < 4; ++i) seq = (seq << 8) | data[4 + i];
    for (int i = 0; i < 8; ++i) t = (t << 8) | data[8 + i];
    return std::make_pair(seq, t);
}

// Nearest-rank percentile of sorted samples; nullopt without any.
std::optional<double> percentile(const std::vector<double>& sorted, double p) {
    if (sorted.empty()) return std::nullopt;
    size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * double(sorted.size())));
    return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1];
}

void set_number_or_null(Poco::JSON::Object::Ptr out, const std::string& key, std::optional<double> v) {
    if (v) out->set(key, *v);
    else out->set(key, Poco::Dynamic::Var());
}

class Bench {
public:
    explicit Bench(const CliOptions& options)
        : options_(options), mode_(delivery_mode_from_name(options.cmd.mode)),
          channel_(static_cast<uint32_t>(options.cmd.channel)), size_(static_cast<size_t>(options.cmd.size)) {
        state_.struct_size = sizeof state_;
    }

    void create() {
        orbitmesh::AgentOptions o;
        fill_agent_options(options_.global, o);
        agent_ = std::make_unique<orbitmesh::Agent>(o, [this](const om_event& e) {
            std::lock_guard<std::recursive_mutex> lock(mutex_);
            on_event(e);
        });
    }

    int run(om_transport_type via) {
        om_peer_state connected = state_;
        std::string failure;
        const PeerConnect result = connect_agent_to_peer(*agent_, "bench", options_.cmd.peer, via, connected, failure);
        {
            std::lock_guard<std::recursive_mutex> lock(mutex_);  // on_event reads them
            state_ = connected;
            failure_ = failure;
        }
        switch (result) {
        case PeerConnect::NotSupported: return kExitUsage;
        case PeerConnect::Failed: return finish();
        case PeerConnect::Connected: break;
        }
        ping_phase();
        if (failure_.empty() && gone().empty() && !stop_requested()) throughput_phase();
        refresh_state();
        return finish();
    }

private:
    void refresh_state() {
        om_peer_state fresh = state_;  // read only here and under mutex_ on the loop thread
        refresh_peer_state(*agent_, options_.cmd.peer, fresh);
        std::lock_guard<std::recursive_mutex> lock(mutex_);
        state_ = fresh;
    }

    int finish() {
        {
            std::lock_guard<std::recursive_mutex> lock(mutex_);
            finished_ = true;  // the agent's own closing events are not the peer's
        }
        agent_.reset();  // joins the loop thread: no callback runs after this
        return report();
    }

    std::string gone() {
        std::lock_guard<std::recursive_mutex> lock(mutex_);
        return peer_gone_;
    }

    // On the loop thread, under mutex_.
    void on_event(const om_event& e) {
        const uint64_t arrived = now_ns();
        if (finished_) return;
        if (e.type == OM_EVENT_MESSAGE) {
            if (!e.peer_id || options_.cmd.peer != e.peer_id) return;
            const bool routed = e.channel == channel_ && e.delivery_mode == mode_;
            if (auto ping = read_ping(e.data, e.len, size_)) {
                if (routed && pinging_ && ping->first == ping_seq_) {
                    rtts_ms_.push_back(double(arrived - ping->second) / 1e6);
                    next_ping();
                }
                return; // a late ping echo: not counted
            }
            std::optional<uint32_t> seq = demo_payload_seq(e.data, e.len, size_);
            if (!seq || !routed) {
                ++damaged_;
                return;
            }
            ++messages_;
            bytes_ += e.len;
            last_echo_ = Clock::now();
            if (messages_ >= sent_) changed_.notify_all();
        } else if (e.type == OM_EVENT_PEER_WRITABLE) {
            writable_ = true;
            changed_.notify_all();
        } else if (e.type == OM_EVENT_PEER_DISCONNECTED && e.peer_id && options_.cmd.peer == e.peer_id) {
            peer_gone_ = e.message ? e.message : "the peer disconnected";
            changed_.notify_all();
        } else if (e.type == OM_EVENT_DISCONNECTED && state_.active_transport != OM_TRANSPORT_P2P) {
            peer_gone_ = std::string("the server connection ended") + (e.message ? std::string(": ") + e.message : "");
            changed_.notify_all();
        }
    }

    // Under mutex_: the next ping, from the echo's callback, or the end of the phase.
    void next_ping() {
        ++ping_seq_;
        ping_progress_ = Clock::now();
        if (ping_seq_ >= uint32_t(kPings) || Clock::now() >= ping_end_ || stop_requested()) {
            pinging_ = false;
            changed_.notify_all();
            return;
        }
        const std::vector<uint8_t> ping = make_ping(ping_seq_, size_);
        try {
            agent_->send(options_.cmd.peer, ping.data(), ping.size(), mode_, channel_);
        } catch (const orbitmesh::Error& e) {
            // A full queue or a lost ping: the waiting thread sends it again after kPingWait.
            if (e.status() != OM_ERR_WOULD_BLOCK && send_error_.empty())
                send_error_ = std::string(e.status_name()) + ": " + e.what();
        }
    }

    // Sends one message from this thread, waiting out OM_ERR_WOULD_BLOCK until `deadline`;
    // false when it could not go (send_error_ says why, unless the deadline passed while blocked).
    // Never under mutex_: a send may wait for the loop thread, whose callbacks take it.
    bool send(const std::vector<uint8_t>& payload, Clock::time_point deadline) {
        for (;;) {
            writable_ = false;  // before the try, so a WRITABLE that comes before the refusal is seen
            try {
                agent_->send(options_.cmd.peer, payload.data(), payload.size(), mode_, channel_);
                return true;
            } catch (const orbitmesh::Error& e) {
                std::unique_lock<std::recursive_mutex> lock(mutex_);
                if (e.status() != OM_ERR_WOULD_BLOCK) {
                    if (send_error_.empty()) send_error_ = std::string(e.status_name()) + ": " + e.what();
                    return false;
                }
                ++would_block_;
                const auto until = std::min(deadline, Clock::now() + kWritableWait);
                changed_.wait_until(lock, until, [&] { return writable_ || !peer_gone_.empty() || stop_requested(); });
                if (Clock::now() >= deadline || !peer_gone_.empty() || stop_requested()) return false;
            }
        }
    }

    void ping_phase() {
        std::unique_lock<std::recursive_mutex> lock(mutex_);
        ping_end_ = Clock::now() + kPingPhase;
        pinging_ = true;
        ping_seq_ = 0;
        bool resend = true;
        while (pinging_ && peer_gone_.empty() && !stop_requested() && send_error_.empty()) {
            if (resend) {
                // The first ping, or one after kPingWait without an echo (lost, or refused).
                const uint32_t seq = ping_seq_;
                lock.unlock();
                const bool sent = send(make_ping(seq, size_), Clock::now() + kPingWait);
                lock.lock();
                if (!sent && !send_error_.empty()) break;
                ping_progress_ = Clock::now();
                resend = false;
            }
            const uint32_t seen = ping_seq_;
            changed_.wait_for(lock, kPingCheck, [&] { return !pinging_ || !peer_gone_.empty() || stop_requested(); });
            if (!pinging_) break;
            if (Clock::now() >= ping_end_) break;
            if (ping_seq_ == seen && Clock::now() - ping_progress_ >= kPingWait) {
                ++ping_seq_;  // skip it: a late echo of the old one is not counted
                if (ping_seq_ >= uint32_t(kPings)) break;
                resend = true;
            }
        }
        pinging_ = false;
        std::sort(rtts_ms_.begin(), rtts_ms_.end());
    }

    void throughput_phase() {
        const auto start = Clock::now();
        const auto end = start + std::chrono::seconds(options_.cmd.seconds);
        {
            std::lock_guard<std::recursive_mutex> lock(mutex_);
            last_echo_ = start;
        }
        for (uint32_t seq = 0; Clock::now() < end && gone().empty() && !stop_requested(); ++seq) {
            if (!send(make_demo_payload(seq, size_), end)) {
                std::lock_guard<std::recursive_mutex> lock(mutex_);
                if (!send_error_.empty()) break;
                continue;
            }
            ++sent_;  // atomic: no lock per message
        }
        // The echoes still on their way.
        std::unique_lock<std::recursive_mutex> lock(mutex_);
        const bool reliable = is_reliable(mode_);
        const auto drain_end = Clock::now() + kDrainReliable;
        while (messages_ < sent_ && Clock::now() < drain_end && peer_gone_.empty() && !stop_requested()) {
            if (!reliable && Clock::now() - last_echo_ > kDrainQuiet) break;
            changed_.wait_for(lock, kDrainCheck);
        }
        const auto stop = messages_ > 0 ? std::max(last_echo_, std::min(Clock::now(), end)) : Clock::now();
        elapsed_s_ = std::chrono::duration<double>(stop - start).count();
    }

    std::string problem() const {
        if (!failure_.empty()) return failure_;
        if (state_.status != OM_PEER_CONNECTED && sent_ == 0) return "not connected";
        if (!send_error_.empty()) return "sending failed: " + send_error_;
        if (!peer_gone_.empty()) return peer_gone_;
        if (messages_ == 0) return "nothing came back (is the peer running `listen`?)";
        if (is_reliable(mode_) && damaged_ > 0) return std::to_string(damaged_) + " echo(es) came back damaged or misrouted";
        return "";
    }

    int report() const {
        const std::string why = problem();
        const bool connected = state_.status == OM_PEER_CONNECTED;
        Poco::JSON::Object::Ptr out = new_json_object();
        // The CONTRACT's fields, in its order.
        set_or_null(out, "transport", transport_name(state_.active_transport));
        out->set("seconds", elapsed_s_);
        out->set("messages", messages_);
        out->set("bytes", bytes_);
        out->set("mbit_per_s", elapsed_s_ > 0 ? double(bytes_) * 8.0 / elapsed_s_ / 1e6 : 0.0);
        out->set("msgs_per_s", elapsed_s_ > 0 ? double(messages_) / elapsed_s_ : 0.0);
        set_number_or_null(out, "rtt_ms_p50", percentile(rtts_ms_, 50));
        set_number_or_null(out, "rtt_ms_p99", percentile(rtts_ms_, 99));
        out->set("retransmits", state_.retransmits);
        // Beyond them.
        out->set("status", peer_status_name(state_.status));
        set_or_null(out, "strategy", strategy_name(state_.strategy));
        out->set("mode", options_.cmd.mode);
        out->set("channel", channel_);
        out->set("size", size_);
        out->set("sent", sent_.load());
        out->set("damaged", damaged_);
        out->set("would_block", would_block_);
        out->set("rtt_samples", rtts_ms_.size());
        set_number_or_null(out, "rtt_ms_min", rtts_ms_.empty() ? std::nullopt : std::optional<double>(rtts_ms_.front()));
        double sum = 0;
        for (double r : rtts_ms_) sum += r;
        set_number_or_null(out, "rtt_ms_mean",
                           rtts_ms_.empty() ? std::nullopt : std::optional<double>(sum / double(rtts_ms_.size())));
        if (connected || state_.connect_ms > 0) out->set("connect_ms", state_.connect_ms);
        else out->set("connect_ms", Poco::Dynamic::Var());
        set_session_metrics(out, state_);
        std::string diagnosis = state_.diagnosis;
        if (!why.empty()) diagnosis = diagnosis.empty() ? why : why + "; " + diagnosis;
        set_or_null(out, "diagnosis", diagnosis.empty() ? std::nullopt : std::optional<std::string>(diagnosis));
        print_json_line(out, std::cout);
        if (!why.empty()) std::cerr << "orbitmesh-agent: bench: " << why << "\n";
        return connected && why.empty() ? kExitOk : kExitFailed;
    }

    const CliOptions& options_;
    // Everything below is shared with the loop thread's callbacks. Recursive: a send from a
    // callback may deliver an event (a nested callback) on the same thread.
    std::recursive_mutex mutex_;
    std::condition_variable_any changed_;
    const om_delivery_mode mode_;
    const uint32_t channel_;
    const size_t size_;
    om_peer_state state_{};
    // ping phase
    bool pinging_ = false;
    uint32_t ping_seq_ = 0;
    bool finished_ = false;
    Clock::time_point ping_end_{};
    Clock::time_point ping_progress_{};
    std::vector<double> rtts_ms_;
    // throughput phase
    std::atomic<uint64_t> sent_{0};  // written by this thread without the lock, read by callbacks
    uint64_t messages_ = 0;
    uint64_t bytes_ = 0;
    uint64_t damaged_ = 0;
    uint64_t would_block_ = 0;
    std::atomic<bool> writable_{true};  // set by the WRITABLE callback (under mutex_, then notified)
    double elapsed_s_ = 0;
    Clock::time_point last_echo_ = Clock::now();
    std::string failure_;
    std::string send_error_;
    std::string peer_gone_;
    std::unique_ptr<orbitmesh::Agent> agent_; // last: goes first
};

} // namespace

int run_bench(const CliOptions& options) {
    const om_transport_type via = transport_for_choice(options.cmd.transport);
    install_stop_signals();
    Bench bench(options);
    try {
        bench.create();
    } catch (const orbitmesh::Error& e) {
        return usage_error(std::string("bench: ") + e.what());
    }
    return bench.run(via);
}

} // namespace om_cli
