// extern "C": NAT discovery. Only forwards to om::Agent inside the guard.
#include "capi/capi_guard.h"
#include "core/error.h"

#include <algorithm>
#include <cstring>

using om::capi::guard_agent;
using om::capi::require;

extern "C" {

OM_API om_status om_agent_nat_info(om_agent* agent, int32_t refresh, om_nat_report* out)
{
    return guard_agent(agent, [&] {
        require(out != nullptr, "out is NULL");
        require(out->struct_size >= offsetof(om_nat_report, mapped_address), "om_nat_report.struct_size is too small");
        require(refresh == 0 || refresh == 1, "refresh must be 0 or 1");
        om::NatResult result = reinterpret_cast<om::Agent*>(agent)->nat_info(refresh == 1);
        // ABI-RULES: write only what the caller's struct_size covers; *out says what is known
        // even when discovery failed.
        uint32_t size = out->struct_size;
        std::memcpy(out, &result.report, std::min<size_t>(size, sizeof result.report));
        out->struct_size = size;
        if (result.status != OM_OK) om::fail(result.status, result.error);
    });
}

} // extern "C"
