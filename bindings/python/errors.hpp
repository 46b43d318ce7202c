// Python exceptions for orbitmesh::Error: orbitmesh.Error carries `status`, `status_name` and
// `message`; one subclass per important status, each also deriving from the matching builtin
// (TimeoutError, ValueError, TypeError, ...) so ordinary `except` clauses keep working.
#pragma once

#include <orbitmesh/orbitmesh.hpp>

#include <string>

namespace orbitmesh::python {

// Thrown where a failure is about a plugin by construction (creating an agent, plugin_call):
// OM_ERR_NOT_FOUND then becomes orbitmesh.PluginNotFoundError (a PluginError and a
// NotFoundError) instead of a plain NotFoundError.
class PluginContextError : public orbitmesh::Error {
public:
    explicit PluginContextError(const orbitmesh::Error& cause) : orbitmesh::Error(cause) {}
};

// Shorthand for errors the binding raises itself (the translator turns them into Python).
[[noreturn]] void fail(om_status status, const std::string& message);

} // namespace orbitmesh::python
