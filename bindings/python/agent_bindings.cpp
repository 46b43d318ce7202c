// orbitmesh.Agent: keyword arguments -> AgentConfig -> PythonAgent, and the Python surface.
#include "agent.hpp"
#include "bindings.hpp"
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
