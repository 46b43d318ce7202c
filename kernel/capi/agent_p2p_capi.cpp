// extern "C": peer-to-peer details. Only forwards to om::Agent inside the guard.
#include "capi/capi_guard.h"
#include "core/error.h"

#include <cstdlib>
#include <cstring>

using om::capi::guard_agent;
using om::capi::require;

extern "C" {

OM_API om_status om_agent_peer_pairs_json(om_agent* agent, const char* peer_id, char** out_json)
{
    return guard_agent(agent, [&] {
        require(peer_id != nullptr, "peer_id is NULL");
        require(out_json != nullptr, "out_json is NULL");
        *out_json = nullptr;
        std::string json = reinterpret_cast<om::Agent*>(agent)->peer_pairs_json(peer_id);
        char* copy = static_cast<char*>(std::malloc(json.size() + 1));
        if (!copy) om::fail(OM_ERR_NO_MEMORY, "out of memory");
        std::memcpy(copy, json.c_str(), json.size() + 1);
        *out_json = copy;
    });
}

} // extern "C"
