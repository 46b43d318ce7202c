// orbitmesh.Event: a read-only copy of one om_event (orbitmesh::Event), handed to on_event
// callbacks. Strings the C event leaves NULL (or empty) read as None.
#include "bindings.hpp"
#include "enums.hpp"

#include <orbitmesh/orbitmesh.hpp>

namespace orbitmesh::python {
namespace {

py::object optional_text(const std::string& text)
{
    return text.empty() ? py::object(py::none()) : py::object(py::str(text));
}

py::bytes payload(const orbitmesh::Event& e)
{
    return py::bytes(reinterpret_cast<const char*>(e.data.data()), e.data.size());
}

bool is_peer_event(const orbitmesh::Event& e)
{
    return e.type == OM_EVENT_PEER_CONNECTED || e.type == OM_EVENT_PEER_DISCONNECTED ||
           e.type == OM_EVENT_PEER_STATE_CHANGED;
}

std::string describe(const orbitmesh::Event& e)
{
    std::string out = "Event(type=" + py::str(py::cast(static_cast<EventType::Value>(e.type))).cast<std::string>();
    if (!e.peer_id.empty()) out += ", peer_id=" + py::repr(py::str(e.peer_id)).cast<std::string>();
    if (!e.address.empty()) out += ", address=" + py::repr(py::str(e.address)).cast<std::string>();
    if (!e.data.empty()) out += ", len=" + std::to_string(e.data.size());
    if (e.type == OM_EVENT_MESSAGE) out += ", channel=" + std::to_string(e.channel);
    if (e.status != OM_OK) out += std::string(", status=") + om_status_name(e.status);
    if (!e.message.empty()) out += ", message=" + py::repr(py::str(e.message)).cast<std::string>();
    if (is_peer_event(e)) {
        out += ", peer_status=" + py::str(py::cast(static_cast<PeerConnectionStatus::Value>(e.peer_status))).cast<std::string>();
        out += ", transport=" + py::str(py::cast(static_cast<Transport::Value>(e.transport))).cast<std::string>();
        out += ", strategy=" + py::str(py::cast(static_cast<Strategy::Value>(e.strategy))).cast<std::string>();
    }
    return out + ")";
}

} // namespace

void register_event(py::module_& m)
{
    using E = orbitmesh::Event;
    py::class_<E>(m, "Event", "One event of an agent, as passed to Agent.on_event callbacks.")
        .def_property_readonly("type", [](const E& e) { return static_cast<EventType::Value>(e.type); })
        .def_property_readonly("peer_id", [](const E& e) { return optional_text(e.peer_id); })
        .def_property_readonly("address", [](const E& e) { return optional_text(e.address); },
                               "Sender of a datagram, local address of an opened transport.")
        .def_property_readonly("data", &payload, "Payload (b'' when none).")
        .def_property_readonly("status", [](const E& e) { return e.status; },
                               "0 (OM_OK) unless type is EventType.Error.")
        .def_property_readonly("status_name", [](const E& e) { return om_status_name(e.status); })
        .def_property_readonly("message", [](const E& e) { return optional_text(e.message); })
        .def_property_readonly("timestamp_us", [](const E& e) { return e.timestamp_us; },
                               "Monotonic clock, microseconds.")
        .def_property_readonly("peer_status", [](const E& e) { return static_cast<PeerConnectionStatus::Value>(e.peer_status); },
                               "Peer events: the status reached.")
        .def_property_readonly("transport", [](const E& e) { return static_cast<Transport::Value>(e.transport); },
                               "Peer events: the active path.")
        .def_property_readonly("strategy", [](const E& e) { return static_cast<Strategy::Value>(e.strategy); },
                               "Peer events: the strategy that made (or is making) the connection.")
        .def_property_readonly("delivery_mode", [](const E& e) { return static_cast<Delivery::Value>(e.delivery_mode); },
                               "Messages: the mode the peer sent it with.")
        .def_property_readonly("channel", [](const E& e) { return e.channel; },
                               "Messages: the channel (0..255) the peer sent it on.")
        .def("__repr__", &describe);
}

} // namespace orbitmesh::python
