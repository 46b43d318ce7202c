// PythonAgent: the object behind orbitmesh.Agent. Owns one orbitmesh::Agent (which owns the C
// om_agent) and the CallbackHub registered with it at creation.
//
// Every method is entered with the GIL held (from Python) and releases it around each call
// into the C library, which may block. Lifetime: calls hold a shared lock on the agent while
// close() takes it exclusively, so the C agent is never destroyed under a running call; close()
// and the destructor destroy it with the GIL released, because destroying joins the loop
// thread, which may be waiting for the GIL to run a callback.
#pragma once

#include "callback_hub.hpp"
#include "options.hpp"
#include "nat_info.hpp"
#include "peer_state.hpp"
#include "plugin_settings.hpp"

#include <orbitmesh/orbitmesh.hpp>

#include <pybind11/pybind11.h>

#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

namespace orbitmesh::python {

namespace py = pybind11;

// What orbitmesh.Agent(...)'s keyword arguments become (agent_bindings.cpp parses them).
struct AgentConfig {
    std::optional<std::string> server_url;
    std::optional<std::string> agent_id;
    std::optional<std::string> token;
    P2POptions p2p;
    std::string transport = "udp";
    std::map<std::string, std::string> plugins; // kind ("strategy", ...) -> plugin name
    std::vector<PluginSetting> plugin_options;
    bool dispatch_events = false;
};

// Held by std::shared_ptr: by the Python object and, while close_all() runs, by close_all().
class PythonAgent {
public:
    // Call with the GIL held: creates the C agent with the GIL released, and registers the
    // agent for close_all().
    static std::shared_ptr<PythonAgent> create(const AgentConfig& config);

    explicit PythonAgent(const AgentConfig& config); // GIL released; use create()
    ~PythonAgent();
    PythonAgent(const PythonAgent&) = delete;
    PythonAgent& operator=(const PythonAgent&) = delete;

    void open_transport();
    void close_transport();
    std::string local_address();
    uint32_t mtu();
    void send_datagram(const std::string& address, const py::buffer& data);
    // Dispatch mode: runs queued callbacks here, waiting up to timeout_ms (-1: until one runs);
    // returns how many ran. Waits in short slices so Ctrl-C and close() get through.
    size_t dispatch(int32_t timeout_ms);
    // Signaling and peers (om_agent_connect, om_agent_connect_peer, ...). Each blocks at most
    // p2p.connection_timeout_ms with the GIL released.
    void connect();
    void disconnect();
    PeerStateSnapshot connect_to_peer(const std::string& peer_id, om_transport_type via);
    PeerStateSnapshot peer_state(const std::string& peer_id);
    std::string peer_pairs_json(const std::string& peer_id);
    NatInfoSnapshot nat_info(bool refresh);
    // Over the peer's one encrypted connection, on `channel` (0..255). TooLargeError above the
    // mode's limit, WouldBlockError when the peer's send queue is full (on_peer_writable follows).
    void send_to_peer(const std::string& peer_id, const py::buffer& data, om_delivery_mode mode, uint32_t channel);
    // This agent's certificate fingerprint, "AB:CD:...": SHA-256 as 32 hex pairs.
    std::string fingerprint();

    uint64_t counter(const std::string& name);
    std::string counters_json();
    py::object plugin_call(const std::string& plugin, const std::string& method, const py::args& args);

    CallbackHub& hub() { return *hub_; }
    const AgentConfig& config() const { return config_; }
    bool closed() const { return hub_->is_shut_down(); }

    // Idempotent. Refused (StateError) from inside this agent's own callbacks.
    void close();

    // GIL held. Closes every agent still open; registered with atexit so that no loop thread
    // is left to call into a finalizing interpreter.
    static void close_all();

private:
    template <class F>
    auto with_agent(F&& call);
    void destroy_agent();

    AgentConfig config_;
    std::shared_ptr<CallbackHub> hub_;
    std::shared_mutex lifetime_;
    std::unique_ptr<orbitmesh::Agent> agent_;
};

} // namespace orbitmesh::python
