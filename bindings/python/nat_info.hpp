// orbitmesh.NatInfo: a read-only snapshot of one om_nat_report (seed "Get NAT Info").
#pragma once

#include <orbitmesh/orbitmesh.h>

namespace orbitmesh::python {

struct NatInfoSnapshot {
    om_nat_report report{};
};

} // namespace orbitmesh::python
