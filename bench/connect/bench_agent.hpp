// One agent of the connect bench: an orbitmesh::Agent that keeps its peer events with the
// library's timestamps (monotonic clock, microseconds: comparable across the processes of one
// machine, network namespaces included), and the parallel registration of many of them.
#pragma once

#include <orbitmesh/orbitmesh.hpp>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace bench {

struct PeerEvent {
    om_event_type type;
    std::string peer;
    om_peer_status status;
    uint64_t at_us;
};

class BenchAgent {
public:
    // Called on the agent's loop thread when a peer reached Connected; must not block.
    using ConnectedHook = std::function<void(BenchAgent&, const std::string& peer)>;

    // bind empty: the default (wildcard). NAT discovery stays on in every mode.
    BenchAgent(const std::string& url, const std::string& id, const std::string& bind, ConnectedHook hook = {})
        : id_(id), hook_(std::move(hook))
    {
        orbitmesh::AgentOptions options;
        options.server_url(url).agent_id(id);
        if (!bind.empty()) options.bind_address(bind);
        agent_ = std::make_unique<orbitmesh::Agent>(options, [this](const om_event& e) {
            if (e.type != OM_EVENT_PEER_STATE_CHANGED && e.type != OM_EVENT_PEER_CONNECTED) return;
            orbitmesh::Event copy = orbitmesh::Event::from(e);
            {
                std::lock_guard<std::mutex> lock(mutex_);
                events_.push_back({copy.type, copy.peer_id, copy.peer_status, copy.timestamp_us});
                cv_.notify_all();
            }
            if (hook_ && copy.type == OM_EVENT_PEER_STATE_CHANGED && copy.peer_status == OM_PEER_CONNECTED) hook_(*this, copy.peer_id);
        });
    }

    const std::string& id() const { return id_; }
    orbitmesh::Agent& operator*() { return *agent_; }
    orbitmesh::Agent* operator->() { return agent_.get(); }

    // When `peer` first reached `status` through a state change; waits at most timeout_ms.
    std::optional<uint64_t> when(const std::string& peer, om_peer_status status, int timeout_ms)
    {
        std::unique_lock<std::mutex> lock(mutex_);
        std::optional<uint64_t> found;
        cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] {
            for (const auto& e : events_)
                if (e.type == OM_EVENT_PEER_STATE_CHANGED && e.peer == peer && e.status == status) {
                    found = e.at_us;
                    return true;
                }
            return false;
        });
        return found;
    }

private:
    std::string id_;
    ConnectedHook hook_;
    std::mutex mutex_;
    std::condition_variable cv_;
    std::vector<PeerEvent> events_;
    std::unique_ptr<orbitmesh::Agent> agent_;
};

// Registers agents side by side (NAT discovery can take a second per agent against a one-address
// STUN server); throws the first failure.
inline void register_all(const std::vector<BenchAgent*>& agents)
{
    std::vector<std::string> errors(agents.size());
    std::vector<std::thread> threads;
    for (size_t a = 0; a < agents.size(); ++a)
        threads.emplace_back([&, a] {
            try {
                (*agents[a])->connect();
            } catch (const std::exception& e) {
                errors[a] = agents[a]->id() + ": " + e.what();
            }
        });
    for (auto& t : threads) t.join();
    for (const auto& e : errors)
        if (!e.empty()) throw std::runtime_error("registration failed: " + e);
}

} // namespace bench
