// `datagram-demo`: two agents in this process, both bound to 127.0.0.1 (or --bind), open their
// transport stacks; A sends --count datagrams to B, B echoes each back to its sender. Events run
// in dispatch mode, so the whole exchange happens on this one thread in a bounded loop.
// Prints one JSON object. Exit 0 when the numbers make sense, 1 when an echo came back damaged
// or nothing arrived although no loss was configured, 2 when the agents cannot be set up.
#include "agent_setup.hpp"
#include "commands.hpp"
#include "demo_payload.hpp"
#include "json_output.hpp"

#include <orbitmesh/orbitmesh.hpp>

#include <chrono>
#include <cstdlib>
#include <deque>
#include <iostream>
#include <memory>

namespace om_cli {
namespace {

using Clock = std::chrono::steady_clock;

// How long the exchange may stay silent before the missing datagrams count as lost.
constexpr int kQuietMs = 1000;
constexpr int kPumpWaitMs = 5;

// A plugin option named like "loss" with a value above zero, e.g. netsim.loss=0.2.
bool loss_configured(const GlobalOptions& global) {
    for (const PluginSetting& s : global.plugin_options) {
        if (s.key.find("loss") != std::string::npos && std::atof(s.value.c_str()) > 0.0) return true;
    }
    return false;
}

double ms_since(Clock::time_point start) {
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start).count();
    return static_cast<double>(us / 100) / 10.0;
}

class DatagramDemo {
public:
    explicit DatagramDemo(const CliOptions& options)
        : options_(options), size_(static_cast<size_t>(options.cmd.size)),
          count_(static_cast<size_t>(options.cmd.count)), at_b_(count_), echoed_(count_) {}

    // Throws orbitmesh::Error when an agent cannot be created (a configuration problem).
    void create_agents() {
        orbitmesh::AgentOptions a_options, b_options;
        configure(a_options, "demo-a");
        configure(b_options, "demo-b");
        a_ = std::make_unique<orbitmesh::Agent>(a_options, [this](const om_event& e) { on_a_event(e); });
        b_ = std::make_unique<orbitmesh::Agent>(b_options, [this](const om_event& e) { on_b_event(e); });
    }

    // Returns the exit code; throws orbitmesh::Error when the transport fails.
    int exchange() {
        a_->open_transport();
        b_->open_transport();
        b_address_ = b_->local_address();
        mtu_ = a_->mtu();
        if (size_ > mtu_) {
            return usage_error("datagram-demo: --size " + std::to_string(size_) +
                               " is larger than the transport's MTU " + std::to_string(mtu_));
        }
        start_ = Clock::now();
        for (uint32_t seq = 0; seq < count_; ++seq) {
            send_one(seq);
            pump(0);
        }
        wait_for_echoes();
        waited_ms_ = ms_since(start_);
        if (echoed_.unique() == 0) elapsed_ms_ = waited_ms_;
        return report();
    }

private:
    void configure(orbitmesh::AgentOptions& o, const char* id) const {
        fill_agent_options(options_.global, o);
        o.agent_id(id);
        if (options_.global.bind.empty()) o.bind_address("127.0.0.1");
        o.event_mode(OM_EVENTS_DISPATCH);
    }

    void on_a_event(const om_event& e) {
        if (e.type == OM_EVENT_DATAGRAM) {
            echoed_.record(demo_payload_seq(e.data, e.len, size_));
            last_activity_ = Clock::now();
            elapsed_ms_ = ms_since(start_);
        } else if (e.type == OM_EVENT_ERROR) {
            note_error(e);
        }
    }

    // B only queues; pump() echoes after dispatch returns, outside the callback.
    void on_b_event(const om_event& e) {
        if (e.type == OM_EVENT_DATAGRAM) {
            inbox_.push_back(orbitmesh::Event::from(e));
            last_activity_ = Clock::now();
        } else if (e.type == OM_EVENT_ERROR) {
            note_error(e);
        }
    }

    void note_error(const om_event& e) {
        if (last_event_error_.empty()) last_event_error_ = e.message ? e.message : om_status_str(e.status);
    }

    void send_one(uint32_t seq) {
        std::vector<uint8_t> payload = make_demo_payload(seq, size_);
        try {
            a_->send_datagram(b_address_, payload.data(), payload.size());
            ++sent_;
        } catch (const orbitmesh::Error& e) {
            ++send_errors_;
            if (last_send_error_.empty()) last_send_error_ = e.what();
        }
    }

    void pump(int wait_ms) {
        b_->dispatch(wait_ms);
        while (!inbox_.empty()) {
            orbitmesh::Event e = std::move(inbox_.front());
            inbox_.pop_front();
            at_b_.record(demo_payload_seq(e.data.data(), e.data.size(), size_));
            try {
                b_->send_datagram(e.address, e.data.data(), e.data.size());
            } catch (const orbitmesh::Error& err) {
                ++send_errors_;
                if (last_send_error_.empty()) last_send_error_ = err.what();
            }
        }
        a_->dispatch(wait_ms);
    }

    // Until every echo is back, the exchange has been quiet for kQuietMs, or --timeout-ms.
    void wait_for_echoes() {
        auto deadline = start_ + std::chrono::milliseconds(options_.global.timeout_ms);
        last_activity_ = Clock::now();
        while (echoed_.unique() < sent_ && Clock::now() < deadline &&
               Clock::now() - last_activity_ < std::chrono::milliseconds(kQuietMs)) {
            pump(kPumpWaitMs);
        }
    }

    std::string verdict() const {
        if (echoed_.corrupted() > 0 || at_b_.corrupted() > 0) return "a datagram arrived damaged";
        if (sent_ == 0) return "nothing could be sent: " + last_send_error_;
        if (echoed_.unique() == 0 && !loss_configured(options_.global))
            return "nothing came back although no loss was configured";
        return "";
    }

    int report() const {
        std::string problem = verdict();
        Poco::JSON::Object::Ptr out = new_json_object();
        out->set("status", problem.empty() ? "ok" : "failed");
        out->set("transport_plugin", transport_plugin_name(options_.global));
        out->set("a_address", a_->local_address());
        out->set("b_address", b_address_);
        out->set("sent", sent_);
        out->set("received_by_b", at_b_.unique());
        out->set("echoed", echoed_.unique());
        out->set("lost", sent_ - echoed_.unique());
        out->set("duplicates", at_b_.duplicates() + echoed_.duplicates());
        out->set("corrupted", at_b_.corrupted() + echoed_.corrupted());
        out->set("send_errors", send_errors_);
        out->set("loss_configured", loss_configured(options_.global));
        out->set("size", size_);
        out->set("mtu", mtu_);
        out->set("elapsed_ms", elapsed_ms_);
        out->set("waited_ms", waited_ms_);
        Poco::JSON::Object::Ptr counters = new_json_object();
        counters->set("a", parse_json(a_->counters_json()));
        counters->set("b", parse_json(b_->counters_json()));
        out->set("counters", counters);
        if (!problem.empty()) out->set("error", problem);
        if (!last_send_error_.empty()) out->set("send_error", last_send_error_);
        if (!last_event_error_.empty()) out->set("event_error", last_event_error_);
        print_json_line(out, std::cout);
        return problem.empty() ? kExitOk : kExitFailed;
    }

    const CliOptions& options_;
    const size_t size_;
    const size_t count_;
    std::deque<orbitmesh::Event> inbox_;
    DemoTally at_b_;
    DemoTally echoed_;
    std::string b_address_;
    uint32_t mtu_ = 0;
    size_t sent_ = 0;
    size_t send_errors_ = 0;
    Clock::time_point start_ = Clock::now();
    double elapsed_ms_ = 0; // first send to the last echo (or to giving up when none came back)
    double waited_ms_ = 0;  // first send to the end of the wait for missing echoes
    std::string last_send_error_;
    std::string last_event_error_;
    Clock::time_point last_activity_ = Clock::now();
    // Last, so the agents go first: nothing can call back into a destroyed member.
    std::unique_ptr<orbitmesh::Agent> a_, b_;
};

void print_failure(const std::string& message) {
    Poco::JSON::Object::Ptr out = new_json_object();
    out->set("status", "failed");
    out->set("error", message);
    print_json_line(out, std::cout);
}

} // namespace

int run_datagram_demo(const CliOptions& options) {
    DatagramDemo demo(options);
    try {
        demo.create_agents();
    } catch (const orbitmesh::Error& e) {
        return usage_error(std::string("datagram-demo: ") + e.what());
    }
    try {
        return demo.exchange();
    } catch (const orbitmesh::Error& e) {
        print_failure(std::string(e.status_name()) + ": " + e.what());
        return kExitFailed;
    }
}

} // namespace om_cli
