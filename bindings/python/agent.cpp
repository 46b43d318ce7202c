#include "agent.hpp"

#include "buffer_view.hpp"
#include "errors.hpp"
#include "msgpack_codec.hpp"

#include <algorithm>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

namespace orbitmesh::python {
namespace {

// Agents alive, for close_all(). Weak: the Python objects own the agents.
struct Registry {
    std::mutex mutex;
    std::vector<std::weak_ptr<PythonAgent>> agents;
};

Registry& registry()
{
    static auto* instance = new Registry(); // never destroyed: used up to the very end
    return *instance;
}

using KindSetter = orbitmesh::AgentOptions& (orbitmesh::AgentOptions::*)(std::string);

KindSetter plugin_kind_setter(const std::string& kind)
{
    if (kind == "nat_discovery") return &orbitmesh::AgentOptions::nat_discovery_plugin;
    if (kind == "strategy") return &orbitmesh::AgentOptions::strategy_plugin;
    if (kind == "turn") return &orbitmesh::AgentOptions::turn_plugin;
    if (kind == "delivery") return &orbitmesh::AgentOptions::delivery_plugin;
    fail(OM_ERR_INVALID_ARGUMENT, "plugins: unknown kind '" + kind +
                                      "' (nat_discovery, strategy, turn, delivery; the transport "
                                      "has its own argument)");
}

void fill_options(const AgentConfig& config, orbitmesh::AgentOptions& options)
{
    if (config.server_url) options.server_url(*config.server_url);
    if (config.agent_id) options.agent_id(*config.agent_id);
    if (config.token) options.token(*config.token);
    apply_p2p_options(config.p2p, options);
    options.transport_plugin(config.transport);
    for (const auto& [kind, name] : config.plugins) (options.*plugin_kind_setter(kind))(name);
    for (const PluginSetting& s : config.plugin_options) options.plugin_option(s.plugin, s.key, s.value);
    options.event_mode(config.dispatch_events ? OM_EVENTS_DISPATCH : OM_EVENTS_ON_LOOP_THREAD);
}

[[noreturn]] void closed_error() { fail(OM_ERR_CLOSED, "the agent is closed"); }

} // namespace

std::shared_ptr<PythonAgent> PythonAgent::create(const AgentConfig& config)
{
    std::shared_ptr<PythonAgent> agent;
    {
        py::gil_scoped_release nogil;
        agent = std::make_shared<PythonAgent>(config);
    }
    Registry& all = registry();
    std::lock_guard lock(all.mutex);
    std::erase_if(all.agents, [](const auto& weak) { return weak.expired(); });
    all.agents.push_back(agent);
    return agent;
}

PythonAgent::PythonAgent(const AgentConfig& config)
    : config_(config), hub_(std::make_shared<CallbackHub>())
{
    orbitmesh::AgentOptions options;
    fill_options(config_, options);
    std::shared_ptr<CallbackHub> hub = hub_;
    try {
        // Always installed: the hub accepts while no on_connect_request callable is set.
        options.accept_peer([hub](const std::string& peer, om_nat_type nat, std::string& reason) {
            return hub->decide(peer, nat, reason);
        });
        agent_ = std::make_unique<orbitmesh::Agent>(options, [hub](const om_event& event) { hub->deliver(event); });
    } catch (const orbitmesh::Error& error) {
        throw PluginContextError(error); // creation loads plugins: NOT_FOUND means a plugin
    }
}

PythonAgent::~PythonAgent()
{
    // Runs where the last reference goes, always with the GIL held.
    hub_->shutdown();
    if (hub_->running_on_this_thread()) {
        // The last reference went away inside one of this agent's callbacks, on its loop thread:
        // destroying here would join this very thread. A thread of its own does it instead.
        std::thread([agent = std::move(agent_)]() mutable { agent.reset(); }).detach();
        return;
    }
    py::gil_scoped_release nogil;
    std::unique_lock lock(lifetime_);
    destroy_agent();
}

void PythonAgent::destroy_agent()
{
    // Delete first, clear the pointer after: a callback still running on the loop thread (which
    // the deletion joins) may read agent_ until the join returns.
    delete agent_.get();
    (void)agent_.release();
}

template <class F>
auto PythonAgent::with_agent(F&& call)
{
    if (hub_->running_on_this_thread()) {
        // Inside one of our callbacks: the agent cannot go away under us (destroying it joins
        // this loop thread; in dispatch mode our own dispatch() holds the lock).
        if (hub_->is_shut_down()) closed_error();
        if (!config().dispatch_events) {
            // On the loop thread the GIL stays: nothing blocks there (blocking calls are refused),
            // and dropping it let another agent's loop thread take it, so this one waited up to
            // Python's switch interval (5 ms) to go on with its own callback (p99 4.3 ms in a
            // two-agent ping-pong). A dispatch() caller's send may wait for the loop thread,
            // which may need the GIL for a log handler: it drops it.
            return call(*agent_);
        }
        py::gil_scoped_release nogil;
        return call(*agent_);
    }
    py::gil_scoped_release nogil;
    std::shared_lock lock(lifetime_);
    if (!agent_) closed_error();
    return call(*agent_);
}

void PythonAgent::open_transport()
{
    with_agent([](orbitmesh::Agent& agent) { agent.open_transport(); });
}

void PythonAgent::close_transport()
{
    with_agent([](orbitmesh::Agent& agent) { agent.close_transport(); });
}

std::string PythonAgent::local_address()
{
    return with_agent([](orbitmesh::Agent& agent) { return agent.local_address(); });
}

uint32_t PythonAgent::mtu()
{
    return with_agent([](orbitmesh::Agent& agent) { return agent.mtu(); });
}

void PythonAgent::send_datagram(const std::string& address, const py::buffer& data)
{
    BufferView bytes(data);
    with_agent([&](orbitmesh::Agent& agent) { agent.send_datagram(address, bytes.data(), bytes.size()); });
}

size_t PythonAgent::dispatch(int32_t timeout_ms)
{
    using Clock = std::chrono::steady_clock;
    constexpr int64_t kSliceMs = 50;
    const bool forever = timeout_ms < 0;
    const Clock::time_point deadline = Clock::now() + std::chrono::milliseconds(std::max(timeout_ms, 0));
    for (;;) {
        int64_t left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
        auto slice = static_cast<int32_t>(forever ? kSliceMs : std::clamp<int64_t>(left, 0, kSliceMs));
        size_t ran = with_agent([slice](orbitmesh::Agent& agent) { return agent.dispatch(slice); });
        if (ran > 0 || (!forever && Clock::now() >= deadline)) return ran;
        if (PyErr_CheckSignals() != 0) throw py::error_already_set();
        if (hub_->is_shut_down()) closed_error();
    }
}

void PythonAgent::connect()
{
    with_agent([](orbitmesh::Agent& agent) { agent.connect(); });
}

void PythonAgent::disconnect()
{
    with_agent([](orbitmesh::Agent& agent) { agent.disconnect(); });
}

PeerStateSnapshot PythonAgent::connect_to_peer(const std::string& peer_id, om_transport_type via)
{
    PeerStateSnapshot out;
    out.peer_id = peer_id;
    out.state = with_agent([&](orbitmesh::Agent& agent) { return agent.connect_peer(peer_id, via); });
    return out;
}

PeerStateSnapshot PythonAgent::peer_state(const std::string& peer_id)
{
    PeerStateSnapshot out;
    out.peer_id = peer_id;
    out.state = with_agent([&](orbitmesh::Agent& agent) { return agent.peer_state(peer_id); });
    return out;
}

std::string PythonAgent::peer_pairs_json(const std::string& peer_id)
{
    return with_agent([&](orbitmesh::Agent& agent) { return agent.peer_pairs_json(peer_id); });
}

NatInfoSnapshot PythonAgent::nat_info(bool refresh)
{
    NatInfoSnapshot out;
    out.report = with_agent([&](orbitmesh::Agent& agent) { return agent.nat_info(refresh); });
    return out;
}

void PythonAgent::send_to_peer(const std::string& peer_id, const py::buffer& data, om_delivery_mode mode,
                               uint32_t channel)
{
    BufferView bytes(data);
    with_agent([&](orbitmesh::Agent& agent) { agent.send(peer_id, bytes.data(), bytes.size(), mode, channel); });
}

std::string PythonAgent::fingerprint()
{
    return with_agent([](orbitmesh::Agent& agent) { return agent.fingerprint(); });
}

uint64_t PythonAgent::counter(const std::string& name)
{
    return with_agent([&](orbitmesh::Agent& agent) { return agent.counter(name); });
}

std::string PythonAgent::counters_json()
{
    return with_agent([](orbitmesh::Agent& agent) { return agent.counters_json(); });
}

py::object PythonAgent::plugin_call(const std::string& plugin, const std::string& method, const py::args& args)
{
    std::vector<uint8_t> encoded = encode_msgpack_array(args);
    std::vector<uint8_t> result;
    try {
        result = with_agent([&](orbitmesh::Agent& agent) { return agent.plugin_call(plugin, method, encoded); });
    } catch (const orbitmesh::Error& error) {
        if (error.status() == OM_ERR_NOT_FOUND) throw PluginContextError(error);
        throw;
    }
    return decode_msgpack(result);
}

void PythonAgent::close()
{
    if (hub_->running_on_this_thread())
        fail(OM_ERR_STATE, "Agent.close() cannot run inside one of the agent's own callbacks");
    hub_->shutdown();
    py::gil_scoped_release nogil;
    std::unique_lock lock(lifetime_);
    destroy_agent();
}

void PythonAgent::close_all()
{
    std::vector<std::shared_ptr<PythonAgent>> open;
    {
        Registry& all = registry();
        std::lock_guard lock(all.mutex);
        for (const auto& weak : all.agents)
            if (auto agent = weak.lock()) open.push_back(std::move(agent));
    }
    for (const auto& agent : open)
        if (!agent->hub_->running_on_this_thread()) agent->close();
}

} // namespace orbitmesh::python
