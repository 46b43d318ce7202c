// orbitmesh.PeerConnectionState and orbitmesh.ConnectionMetrics: read-only snapshots of one
// om_peer_state (seed: PeerConnectionState and its Metrics).
#pragma once

#include <orbitmesh/orbitmesh.h>

#include <string>

namespace orbitmesh::python {

struct PeerStateSnapshot {
    std::string peer_id;
    om_peer_state state{};
};

struct MetricsSnapshot {
    om_peer_state state{};
};

} // namespace orbitmesh::python
