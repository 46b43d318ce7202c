// orbitmesh.IceCandidate (alias orbitmesh.Candidate): the seed's IceCandidate over
// orbitmesh::IceCandidate (om_candidate_*). Immutable; str() is the RFC 8839 §5.1 text.
// Failures raise orbitmesh.InvalidArgumentError (a ValueError) with the library's reason.
#include "bindings.hpp"
#include "enums.hpp"

#include <orbitmesh/orbitmesh.hpp>

#include <string>
#include <utility>

namespace orbitmesh::python {
namespace {

using orbitmesh::IceCandidate;

// "ip:port" or "[ipv6]:port" (om_candidate's form) split into the IP and the port.
std::pair<std::string, int> split_address(const std::string& text)
{
    const size_t colon = text.rfind(':');
    if (text.empty() || colon == std::string::npos) return {text, 0};
    std::string ip = text.substr(0, colon);
    if (ip.size() >= 2 && ip.front() == '[' && ip.back() == ']') ip = ip.substr(1, ip.size() - 2);
    return {ip, std::stoi(text.substr(colon + 1))};
}

py::object ip_or_none(const std::string& text)
{
    return text.empty() ? py::object(py::none()) : py::object(py::str(split_address(text).first));
}

py::object port_or_none(const std::string& text)
{
    return text.empty() ? py::object(py::none()) : py::object(py::int_(split_address(text).second));
}

py::object text_or_none(const std::string& text)
{
    return text.empty() ? py::object(py::none()) : py::object(py::str(text));
}

} // namespace

void register_candidate(py::module_& m)
{
    using C = IceCandidate;
    py::class_<C> cls(m, "IceCandidate",
                      "One ICE candidate (seed: IceCandidate): RFC 8445 §5.1.2 priority with the "
                      "type preferences host 126, server-reflexive 100, peer-reflexive 110, relayed "
                      "0; str() gives the RFC 8839 text (\"candidate:... typ host\").");
    cls.def_static("create_host", &C::create_host, py::arg("address"), py::arg("port"),
                   "A host candidate: a local interface address (IP literal) and port.")
        .def_static("create_server_reflexive", &C::create_server_reflexive, py::arg("public_address"),
                    py::arg("public_port"), py::arg("local_address"), py::arg("local_port"),
                    "A server-reflexive candidate: the public address STUN saw, with its local base.")
        .def_static("create_relayed", &C::create_relayed, py::arg("relayed_address"), py::arg("relayed_port"),
                    py::arg("relay_server"), "A relayed candidate: an address allocated on a TURN server.")
        .def_static("parse", &C::parse, py::arg("text"),
                    "Parses RFC 8839 candidate text, with or without the \"a=\" prefix.")
        .def_property_readonly("type", [](const C& c) { return static_cast<CandidateType::Value>(c.type()); })
        .def_property_readonly("type_name", &C::type_name, "\"host\", \"srflx\", \"prflx\" or \"relay\".")
        .def_property_readonly("address", [](const C& c) { return split_address(c.address()).first; },
                               "The IP of the transport address.")
        .def_property_readonly("port", [](const C& c) { return split_address(c.address()).second; })
        .def_property_readonly("transport_address", &C::address, "\"ip:port\" (\"[ipv6]:port\").")
        .def_property_readonly("related_address", [](const C& c) { return ip_or_none(c.related_address()); },
                               "The base's IP of a reflexive or relayed candidate (raddr); None for host.")
        .def_property_readonly("related_port", [](const C& c) { return port_or_none(c.related_address()); })
        .def_property_readonly("relay_server", [](const C& c) { return text_or_none(c.relay_server()); },
                               "The TURN server a relayed candidate came from; None otherwise.")
        .def_property_readonly("priority", &C::priority)
        .def_property_readonly("foundation", &C::foundation)
        .def_property_readonly("component", &C::component)
        .def("__str__", &C::to_string)
        .def("__repr__", [](const C& c) { return "IceCandidate(" + py::repr(py::str(c.to_string())).cast<std::string>() + ")"; })
        .def("__eq__", [](const C& a, const C& b) { return a.to_string() == b.to_string(); }, py::is_operator())
        .def("__hash__", [](const C& c) { return py::hash(py::str(c.to_string())); });
    m.attr("Candidate") = cls;
}

} // namespace orbitmesh::python
