// The pieces of the `orbitmesh` Python module; module.cpp calls each register_* once, in order.
#pragma once

#include <pybind11/pybind11.h>

namespace orbitmesh::python {

namespace py = pybind11;

void register_errors(py::module_& m);   // errors.cpp: orbitmesh.Error and its subclasses
void register_enums(py::module_& m);    // enums.cpp: NatType, Transport, ...
void register_nat_info(py::module_& m); // nat_info.cpp: orbitmesh.NatInfo
void register_options(py::module_& m);  // options.cpp: P2POptions, P2PServerOptions
void register_event(py::module_& m);    // event.cpp: orbitmesh.Event
void register_peer_state(py::module_& m); // peer_state.cpp: PeerConnectionState, ConnectionMetrics
void register_candidate(py::module_& m); // candidate.cpp: IceCandidate (alias Candidate)
void register_agent(py::module_& m);    // agent_bindings.cpp: orbitmesh.Agent
void register_server(py::module_& m);   // server.cpp: orbitmesh.Server, create_token

} // namespace orbitmesh::python
