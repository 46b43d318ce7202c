#include "nat_info.hpp"

#include "bindings.hpp"
#include "enums.hpp"

namespace orbitmesh::python {
namespace {

py::object text_or_none(const char* text)
{
    return text[0] ? py::object(py::str(text)) : py::object(py::none());
}

py::object hairpin(const om_nat_report& r)
{
    return r.hairpin < 0 ? py::object(py::none()) : py::object(py::bool_(r.hairpin == 1));
}

py::dict to_dict(const NatInfoSnapshot& n)
{
    const om_nat_report& r = n.report;
    py::dict d;
    d["nat_type"] = py::str(py::cast(static_cast<NatType::Value>(r.nat_type)).attr("name"));
    d["mapping"] = py::str(py::cast(static_cast<NatBehavior::Value>(r.mapping)).attr("name"));
    d["filtering"] = py::str(py::cast(static_cast<NatBehavior::Value>(r.filtering)).attr("name"));
    d["mapped_address"] = text_or_none(r.mapped_address);
    d["local_address"] = text_or_none(r.local_address);
    d["hairpin"] = hairpin(r);
    d["server_ips_used"] = r.server_ips_used;
    d["stun_server"] = text_or_none(r.stun_server);
    d["duration_ms"] = r.duration_ms;
    return d;
}

} // namespace

void register_nat_info(py::module_& m)
{
    using N = NatInfoSnapshot;
    py::class_<N>(m, "NatInfo", "What NAT discovery found (RFC 5780 tests on the agent's own socket).")
        .def_property_readonly("nat_type", [](const N& n) { return static_cast<NatType::Value>(n.report.nat_type); })
        .def_property_readonly("mapping", [](const N& n) { return static_cast<NatBehavior::Value>(n.report.mapping); })
        .def_property_readonly("filtering", [](const N& n) { return static_cast<NatBehavior::Value>(n.report.filtering); })
        .def_property_readonly("mapped_address", [](const N& n) { return text_or_none(n.report.mapped_address); },
                               "Server-reflexive \"ip:port\" of the agent's socket, None when unknown.")
        .def_property_readonly("local_address", [](const N& n) { return text_or_none(n.report.local_address); })
        .def_property_readonly("hairpin", [](const N& n) { return hairpin(n.report); },
                               "True/False when tested, None when unknown.")
        .def_property_readonly("server_ips_used", [](const N& n) { return n.report.server_ips_used; },
                               "2, or 1 when the STUN server offers one IP only; 0 without an answer.")
        .def_property_readonly("stun_server", [](const N& n) { return text_or_none(n.report.stun_server); })
        .def_property_readonly("duration_ms", [](const N& n) { return n.report.duration_ms; })
        .def("to_dict", &to_dict, "The fields of `orbitmesh-agent netcheck` as a dict.")
        .def("__repr__", [](const N& n) {
            py::dict d = to_dict(n);
            return "NatInfo(nat_type=NatType." + d["nat_type"].cast<std::string>() +
                   ", mapped_address=" + py::repr(d["mapped_address"]).cast<std::string>() +
                   ", mapping=" + d["mapping"].cast<std::string>() + ", filtering=" +
                   d["filtering"].cast<std::string>() + ")";
        });
}

} // namespace orbitmesh::python
