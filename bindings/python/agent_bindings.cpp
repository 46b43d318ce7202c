// orbitmesh.Agent: keyword arguments -> AgentConfig -> PythonAgent, and the Python surface.
#include "agent.hpp"
#include "bindings.hpp"
#include "enums.hpp"
#include "errors.hpp"

#include <pybind11/stl.h>

namespace orbitmesh::python {
namespace {

bool parse_event_mode(const std::string& events)
{
    if (events == "thread") return false;
    if (events == "dispatch") return true;
    fail(OM_ERR_INVALID_ARGUMENT, "events must be \"thread\" or \"dispatch\", got \"" + events + "\"");
}

std::shared_ptr<PythonAgent> make_agent(std::optional<std::string> server, std::optional<std::string> agent_id,
                                        std::optional<std::string> token, std::optional<P2POptions> p2p,
                                        std::string transport,
                                        std::optional<std::map<std::string, std::string>> plugins,
                                        const py::object& plugin_options, const std::string& events)
{
    AgentConfig config;
    config.server_url = std::move(server);
    config.agent_id = std::move(agent_id);
    config.token = std::move(token);
    if (p2p) config.p2p = *p2p;
    config.transport = std::move(transport);
    if (plugins) config.plugins = std::move(*plugins);
    config.plugin_options = parse_plugin_settings(plugin_options);
    config.dispatch_events = parse_event_mode(events);
    return PythonAgent::create(config);
}

py::object parse_json(const std::string& text)
{
    return py::module_::import("json").attr("loads")(text);
}

std::string describe(PythonAgent& agent)
{
    const AgentConfig& config = agent.config();
    std::string out = "<orbitmesh.Agent";
    if (config.agent_id) out += " agent_id=" + py::repr(py::str(*config.agent_id)).cast<std::string>();
    out += " transport=" + py::repr(py::str(config.transport)).cast<std::string>();
    out += config.dispatch_events ? " events='dispatch'" : " events='thread'";
    return out + (agent.closed() ? " closed>" : ">");
}

// on_datagram / on_event return the callable, so they also work as decorators.
template <void (CallbackHub::*Set)(py::object)>
py::object register_callback(PythonAgent& agent, py::object fn)
{
    (agent.hub().*Set)(fn);
    return fn;
}

template <CallbackHub::Slot S>
py::object set_slot(PythonAgent& agent, py::object fn)
{
    agent.hub().set_callback(S, fn);
    return fn;
}

om_transport_type via_from(const py::object& transport)
{
    if (transport.is_none()) return OM_TRANSPORT_NONE;
    return static_cast<om_transport_type>(transport.cast<Transport::Value>());
}

// loop.run_in_executor(None, functools.partial(bound, *args, **kwargs)): an awaitable whose
// blocking call runs on asyncio's default thread pool (the C call releases the GIL).
py::object in_executor(py::object self, const char* method, const py::args& args, const py::kwargs& kwargs)
{
    py::object loop = py::module_::import("asyncio").attr("get_running_loop")();
    py::object call = py::module_::import("functools").attr("partial")(self.attr(method), *args, **kwargs);
    return loop.attr("run_in_executor")(py::none(), call);
}

} // namespace

void register_agent(py::module_& m)
{
    using A = PythonAgent;
    py::class_<A, std::shared_ptr<A>>(m, "Agent",
                                      "An OrbitMesh agent: its transport stack, plugins and events.\n\n"
                                      "Callbacks run on the agent's own thread (events=\"thread\") or "
                                      "inside Agent.dispatch() (events=\"dispatch\").")
        .def(py::init(&make_agent), py::kw_only(), py::arg("server") = py::none(),
             py::arg("agent_id") = py::none(), py::arg("token") = py::none(), py::arg("p2p") = py::none(),
             py::arg("transport") = "udp", py::arg("plugins") = py::none(),
             py::arg("plugin_options") = py::none(), py::arg("events") = "thread")
        .def("open_transport", &A::open_transport, "Opens the transport stack on p2p.bind_address.")
        .def("close_transport", &A::close_transport)
        .def_property_readonly("local_address", &A::local_address, "\"ip:port\" of the open transport.")
        .def_property_readonly("mtu", &A::mtu, "MTU of the open transport stack (at most p2p.max_mtu).")
        .def_property_readonly("closed", &A::closed)
        .def_property_readonly("events", [](A& a) { return a.config().dispatch_events ? "dispatch" : "thread"; })
        .def("send_datagram", &A::send_datagram, py::arg("address"), py::arg("data"),
             "Sends one datagram (bytes-like) to \"ip:port\" through the transport stack.")
        .def("dispatch", &A::dispatch, py::arg("timeout_ms") = 0,
             "events=\"dispatch\": runs queued callbacks on this thread, waiting up to timeout_ms "
             "(-1: until one arrives) for the first; returns how many ran (0 on timeout).")
        .def("on_datagram", &register_callback<&CallbackHub::set_datagram_callback>, py::arg("callback"),
             "Calls callback(address: str, data: bytes) for each datagram; None removes it.")
        .def("on_event", &register_callback<&CallbackHub::set_event_callback>, py::arg("callback"),
             "Calls callback(event: Event) for every event; None removes it.")
        .def("connect", &A::connect,
             "Registers with the server as agent_id (with token when it needs one); blocks until "
             "registered, at most p2p.connection_timeout_ms. AuthError when refused.")
        .def("disconnect", &A::disconnect, "Leaves the server and stops reconnecting (idempotent).")
        .def("connect_to_peer",
             [](A& a, const std::string& peer_id, const py::object& transport) {
                 return a.connect_to_peer(peer_id, via_from(transport));
             },
             py::arg("peer_id"), py::arg("transport") = py::none(),
             "Connects to a registered peer; returns its PeerConnectionState. transport None (or "
             "Transport.NotConnected) picks the best path (direct when p2p.prefer_p2p and the "
             "strategy allow it, else or on failure the relay when p2p.fallback_to_relay); "
             "Transport.P2P asks for a direct path only; Transport.ServerRelay for the server relay; "
             "Transport.TurnRelay for this agent's TURN allocation alone (p2p.turn_server and its "
             "credentials; StateError when there is no allocation, saying why). "
             "NotFoundError: no such peer; RefusedError: it declined; UnreachableError: no direct "
             "path and no fallback.")
        .def("peer_pairs", [](A& a, const std::string& peer_id) { return parse_json(a.peer_pairs_json(peer_id)); },
             py::arg("peer_id"),
             "The candidate pairs of the peer's last connection attempt, highest priority first: a "
             "list of dicts with local, remote (RFC 8839 text), priority, state (\"waiting\", "
             "\"in-progress\", \"succeeded\", \"failed\", \"frozen\"), nominated, checks_sent, "
             "responses, rtt_ms and why (the failure, \"\" otherwise).")
        .def("nat_info", &A::nat_info, py::arg("refresh") = false,
             "NAT discovery (seed \"Get NAT Info\"): the latest NatInfo, running the RFC 5780 tests "
             "first when none exists or refresh=True (blocks at most p2p.connection_timeout_ms). "
             "The STUN server is p2p.stun_server, else the one the server announced at connect(), "
             "else the server URL's host with p2p.stun_port. StateError: no STUN server is known; "
             "TimeoutError: no answer.")
        .def("peer_state", &A::peer_state, py::arg("peer_id"),
             "A snapshot of a peer connection (status Disconnected for one never connected).")
        .def("send_to_peer",
             [](A& a, const std::string& peer_id, const py::buffer& data, Delivery::Value mode, int64_t channel) {
                 if (channel < 0 || channel >= OM_MAX_CHANNELS)
                     fail(OM_ERR_INVALID_ARGUMENT, "channel must be 0.." + std::to_string(OM_MAX_CHANNELS - 1) +
                                                       ", got " + std::to_string(channel));
                 a.send_to_peer(peer_id, data, static_cast<om_delivery_mode>(mode), static_cast<uint32_t>(channel));
             },
             py::arg("peer_id"), py::arg("data"), py::arg("mode") = Delivery::ReliableOrdered,
             py::arg("channel") = 0,
             "Sends a message (bytes-like) to a connected peer with a delivery mode on a channel "
             "(0..255), over the peer's one end-to-end encrypted QUIC connection, direct or "
             "through the server relay. Each ReliableOrdered channel keeps its own order. Reliable "
             "modes carry up to 16 MiB (MAX_RELIABLE_MESSAGE); Unreliable and Sequenced messages "
             "must fit one datagram. StateError when not connected, TooLargeError above the "
             "mode's limit, WouldBlockError when the peer's send queue is full (on_peer_writable "
             "follows when there is room), NotSupportedError when the mode is disabled in "
             "P2POptions. The GIL is released while the library copies the data.")
        .def("connect_async",
             [](py::object self) { return in_executor(self, "connect", py::args(), py::kwargs()); },
             "Awaitable connect(): runs in asyncio's default executor.")
        .def("connect_to_peer_async",
             [](py::object self, const py::args& args, const py::kwargs& kwargs) {
                 return in_executor(self, "connect_to_peer", args, kwargs);
             },
             "Awaitable connect_to_peer(peer_id, transport=None).")
        .def("send_to_peer_async",
             [](py::object self, const py::args& args, const py::kwargs& kwargs) {
                 return in_executor(self, "send_to_peer", args, kwargs);
             },
             "Awaitable send_to_peer(peer_id, data, mode=Delivery.ReliableOrdered, channel=0).")
        .def("fingerprint", &A::fingerprint,
             "This agent's certificate fingerprint, which peers pin: SHA-256 as 32 upper-case hex "
             "pairs separated by ':' (\"AB:CD:...\"). Stable across restarts with "
             "P2POptions.identity_file. A peer sees it as peer_state(...).remote_fingerprint.")
        .def("disconnect_async",
             [](py::object self) { return in_executor(self, "disconnect", py::args(), py::kwargs()); })
        .def("on_message", [](A& a, py::object fn) { a.hub().set_message_callback(fn); return fn; },
             py::arg("callback"),
             "Calls the callback for each message from a peer; None removes it. Two forms, told "
             "apart once, here, with inspect.signature: a callable that takes four positional "
             "parameters (or *args) is called as callback(peer_id: str, data: bytes, channel: int, "
             "mode: Delivery); one that takes two as callback(peer_id: str, data: bytes). "
             "TypeError for any other shape.")
        .def("on_peer_writable", &set_slot<CallbackHub::PeerWritable>, py::arg("callback"),
             "Calls callback(peer_id: str) when a peer whose send answered WouldBlockError has "
             "room in its send queue again; None removes it.")
        .def("on_peer_connected", &set_slot<CallbackHub::PeerConnected>, py::arg("callback"),
             "Calls callback(peer_id: str) when a peer connection is up.")
        .def("on_peer_disconnected", &set_slot<CallbackHub::PeerDisconnected>, py::arg("callback"),
             "Calls callback(peer_id: str, reason: str | None) when a peer connection ends.")
        .def("on_state_changed", &set_slot<CallbackHub::StateChanged>, py::arg("callback"),
             "Calls callback(peer_id: str, status: PeerConnectionStatus, transport: Transport, "
             "strategy: Strategy) each time a peer connection changes status, path or strategy.")
        .def("on_connect_request", &set_slot<CallbackHub::ConnectRequest>, py::arg("callback"),
             "Decides peers' connect requests: callback(peer_id: str, remote_nat: NatType) returns "
             "True to accept, False or (False, reason: str) to refuse. Without one (or with None) "
             "every peer is accepted. Runs on the agent's loop thread, even with "
             "events=\"dispatch\"; it must be quick and must not call blocking Agent methods. An "
             "exception refuses the peer with the exception's text.")
        .def("on_connected", &set_slot<CallbackHub::Connected>, py::arg("callback"),
             "Calls callback() each time the agent is registered with the server.")
        .def("on_disconnected", &set_slot<CallbackHub::Disconnected>, py::arg("callback"),
             "Calls callback(reason: str | None) when the server connection ends.")
        .def("on_reconnecting", &set_slot<CallbackHub::Reconnecting>, py::arg("callback"),
             "Calls callback(detail: str | None) when a new attempt to reach the server is scheduled.")
        .def("counter", &A::counter, py::arg("name"), "One counter (0 for a name never incremented).")
        .def("counters", [](A& a) { return parse_json(a.counters_json()); }, "All counters as a dict.")
        .def("plugin_call", &A::plugin_call, py::arg("plugin"), py::arg("method"),
             "Calls a plugin's extension method with msgpack-encoded arguments; returns the result.")
        .def("close", &A::close, "Closes the agent (idempotent). Waits for a running callback.")
        .def("__enter__", [](py::object self) { return self; })
        .def("__exit__", [](A& a, const py::args&) { a.close(); })
        .def("__repr__", &describe);
}

} // namespace orbitmesh::python
