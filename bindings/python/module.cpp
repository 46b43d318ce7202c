// The `orbitmesh` Python module: pybind11 over the C++ wrapper orbitmesh.hpp.
#include "agent.hpp"
#include "bindings.hpp"
#include "enums.hpp"

#include <orbitmesh/orbitmesh.hpp>

namespace orbitmesh::python {
namespace {

py::object plugins()
{
    std::string json;
    {
        py::gil_scoped_release nogil; // scans the plugin directories
        json = orbitmesh::plugins_list_json();
    }
    return py::module_::import("json").attr("loads")(json);
}

void set_log_level(LogLevel::Value level)
{
    om_status status = om_log_set_level(static_cast<om_log_level>(level));
    if (status != OM_OK) throw orbitmesh::Error(status, "");
}

} // namespace

PYBIND11_MODULE(orbitmesh, m)
{
    m.doc() = "OrbitMesh: peer-to-peer connectivity through NATs (Python binding of the C API).";
    register_errors(m);
    register_enums(m);
    register_options(m);
    register_event(m);
    register_peer_state(m);
    register_nat_info(m);
    register_candidate(m);
    register_agent(m);
    register_server(m);

    m.attr("__version__") = orbitmesh::version();
    m.attr("MAX_CHANNELS") = OM_MAX_CHANNELS;
    m.attr("MAX_RELIABLE_MESSAGE") = OM_MAX_RELIABLE_MESSAGE;
    m.def("version", &orbitmesh::version, "Version of the liborbitmesh actually loaded.");
    m.def("plugins", &plugins,
          "Plugins found on OM_PLUGIN_PATH and in the install directory (from their manifests; "
          "nothing is loaded), as a list of dicts.");
    m.def("set_log_level", &set_log_level, py::arg("level"), "Level below which the library is silent.");

    // Agents still open at exit are closed while the interpreter is whole: their loop threads
    // must not wait for the GIL of a finalizing interpreter.
    py::module_::import("atexit").attr("register")(py::cpp_function(&PythonAgent::close_all));
}

} // namespace orbitmesh::python
