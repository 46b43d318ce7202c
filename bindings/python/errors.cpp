#include "errors.hpp"

#include "bindings.hpp"

#include <map>
#include <vector>

namespace orbitmesh::python {
namespace {

// The exception classes live as long as the process: strong references that are never released
// (releasing them at exit, after the interpreter is gone, would crash).
struct ErrorClasses {
    PyObject* base = nullptr;
    PyObject* plugin_not_found = nullptr;
    std::map<om_status, PyObject*> by_status;
};

ErrorClasses& classes()
{
    static ErrorClasses instance;
    return instance;
}

struct Subclass {
    const char* name;
    const char* builtin; // a second base from builtins, or nullptr
    std::vector<om_status> statuses;
    const char* doc;
};

const Subclass kSubclasses[] = {
    {"InvalidArgumentError", "ValueError", {OM_ERR_INVALID_ARGUMENT, OM_ERR_MALFORMED},
     "An argument or option was rejected (OM_ERR_INVALID_ARGUMENT, OM_ERR_MALFORMED)."},
    {"NotFoundError", "LookupError", {OM_ERR_NOT_FOUND}, "Something named was not found."},
    {"TimeoutError", "TimeoutError", {OM_ERR_TIMEOUT}, "The operation timed out."},
    {"NotSupportedError", "NotImplementedError", {OM_ERR_NOT_SUPPORTED},
     "The operation is not (yet) supported."},
    {"StateError", nullptr, {OM_ERR_STATE}, "The operation is not valid in the current state."},
    {"PluginError", nullptr,
     {OM_ERR_PLUGIN, OM_ERR_PLUGIN_LOAD, OM_ERR_ABI_MISMATCH, OM_ERR_DUPLICATE},
     "A plugin failed, could not be loaded, has an incompatible ABI or a duplicate name."},
    {"TypeMismatchError", "TypeError", {OM_ERR_TYPE_MISMATCH},
     "Arguments do not match a plugin method's signature."},
    {"ClosedError", nullptr, {OM_ERR_CLOSED}, "The object (agent, transport) is closed."},
    {"TooLargeError", "ValueError", {OM_ERR_TOO_LARGE}, "The message is larger than allowed."},
    {"AuthError", "PermissionError", {OM_ERR_AUTH},
     "The server refused the token or the agent id (OM_ERR_AUTH)."},
    {"RefusedError", "ConnectionRefusedError", {OM_ERR_REFUSED}, "The peer or the server refused."},
    {"UnreachableError", "ConnectionError", {OM_ERR_UNREACHABLE}, "The destination is unreachable."},
    {"WouldBlockError", "BlockingIOError", {OM_ERR_WOULD_BLOCK},
     "The outgoing queue is full; retry later."},
};

PyObject* new_class(py::module_& m, const char* name, py::tuple bases, const char* doc,
                    om_status default_status)
{
    std::string qualified = std::string("orbitmesh.") + name;
    PyObject* cls = PyErr_NewExceptionWithDoc(qualified.c_str(), doc, bases.ptr(), nullptr);
    if (!cls) throw py::error_already_set();
    py::handle handle(cls);
    handle.attr("status") = default_status;
    handle.attr("status_name") = om_status_name(default_status);
    m.add_object(name, handle); // steals nothing: add_object increments
    return cls;                 // our own reference, kept forever
}

// Error(message="", status=None): status defaults to the class's own `status`.
void define_error_methods(py::handle cls)
{
    py::object error_cls = py::reinterpret_borrow<py::object>(cls);
    error_cls.attr("__init__") = py::cpp_function(
        [](py::object self, py::object message, py::object status) {
            if (status.is_none()) status = self.attr("status");
            auto code = status.cast<om_status>();
            self.attr("args") = py::make_tuple(message);
            self.attr("message") = message;
            self.attr("status") = code;
            self.attr("status_name") = om_status_name(code);
        },
        py::is_method(error_cls), py::arg("message") = "", py::arg("status") = py::none());
    // Builtin bases such as OSError format their own way; the message is the text.
    error_cls.attr("__str__") = py::cpp_function(
        [](py::object self) { return py::str(self.attr("message")); }, py::is_method(error_cls));
    error_cls.attr("__repr__") = py::cpp_function(
        [](py::object self) {
            return py::str("{}({!r}, status={})")
                .format(py::type::handle_of(self).attr("__name__"), self.attr("message"),
                        self.attr("status_name"));
        },
        py::is_method(error_cls));
}

void raise_python_error(PyObject* cls, om_status status, const char* message)
{
    py::object instance = py::reinterpret_borrow<py::object>(cls)(py::str(message), status);
    PyErr_SetObject(cls, instance.ptr());
}

PyObject* class_for(om_status status)
{
    auto found = classes().by_status.find(status);
    return found == classes().by_status.end() ? classes().base : found->second;
}

} // namespace

void fail(om_status status, const std::string& message)
{
    throw orbitmesh::Error(status, message);
}

void register_errors(py::module_& m)
{
    ErrorClasses& all = classes();
    py::module_ builtins = py::module_::import("builtins");

    all.base = new_class(m, "Error", py::make_tuple(builtins.attr("Exception")),
                         "Base of every OrbitMesh failure: carries the C status (`status`, an int, "
                         "and `status_name`, e.g. \"OM_ERR_TIMEOUT\") and the library's `message`.",
                         OM_ERR_INTERNAL);
    define_error_methods(all.base);
    py::handle base(all.base);

    std::map<std::string, PyObject*> by_name;
    for (const Subclass& sub : kSubclasses) {
        py::tuple bases = sub.builtin ? py::make_tuple(base, builtins.attr(sub.builtin))
                                      : py::make_tuple(base);
        PyObject* cls = new_class(m, sub.name, bases, sub.doc, sub.statuses.front());
        for (om_status status : sub.statuses) all.by_status[status] = cls;
        by_name[sub.name] = cls;
    }
    all.plugin_not_found = new_class(
        m, "PluginNotFoundError",
        py::make_tuple(py::handle(by_name["PluginError"]), py::handle(by_name["NotFoundError"])),
        "A plugin (or a plugin's method) named in the options or a call does not exist.",
        OM_ERR_NOT_FOUND);

    py::register_exception_translator([](std::exception_ptr pending) {
        try {
            if (pending) std::rethrow_exception(pending);
        } catch (const PluginContextError& e) {
            PyObject* cls = e.status() == OM_ERR_NOT_FOUND ? classes().plugin_not_found
                                                           : class_for(e.status());
            raise_python_error(cls, e.status(), e.what());
        } catch (const orbitmesh::Error& e) {
            raise_python_error(class_for(e.status()), e.status(), e.what());
        }
    });
}

} // namespace orbitmesh::python
