// extern "C": signaling and peers. Only forwards to om::Agent inside the guard.
#include "capi/capi_guard.h"
#include "core/error.h"

#include <cstring>
#include <string>

using om::capi::guard_agent;
using om::capi::require;
using om::fail;

namespace {
om::Agent* body(om_agent* agent)
{
    return reinterpret_cast<om::Agent*>(agent);
}
} // namespace

extern "C" {

OM_API om_status om_agent_connect(om_agent* agent)
{
    return guard_agent(agent, [&] { body(agent)->connect(); });
}

OM_API om_status om_agent_disconnect(om_agent* agent)
{
    return guard_agent(agent, [&] { body(agent)->disconnect(); });
}

OM_API om_status om_agent_connect_peer(om_agent* agent, const char* peer_id, om_transport_type via,
                                       om_peer_state* out_state)
{
    return guard_agent(agent, [&] {
        require(peer_id != nullptr, "peer_id is NULL");
        require(!out_state || out_state->struct_size >= offsetof(om_peer_state, local_candidate),
                "om_peer_state.struct_size is too small");
        body(agent)->connect_peer(peer_id, via, out_state);
    });
}

OM_API om_status om_agent_peer_state(om_agent* agent, const char* peer_id, om_peer_state* out_state)
{
    return guard_agent(agent, [&] {
        require(peer_id != nullptr && out_state != nullptr, "peer_id and out_state must not be NULL");
        require(out_state->struct_size >= offsetof(om_peer_state, local_candidate), "om_peer_state.struct_size is too small");
        body(agent)->peer_state(peer_id, *out_state);
    });
}

OM_API om_status om_agent_send(om_agent* agent, const char* peer_id, const uint8_t* data, size_t len,
                               om_delivery_mode mode)
{
    return guard_agent(agent, [&] {
        require(peer_id != nullptr, "peer_id is NULL");
        body(agent)->send(peer_id, data, len, mode, 0);
    });
}

OM_API om_status om_agent_send_on_channel(om_agent* agent, const char* peer_id, const uint8_t* data, size_t len,
                                          om_delivery_mode mode, uint32_t channel)
{
    return guard_agent(agent, [&] {
        require(peer_id != nullptr, "peer_id is NULL");
        body(agent)->send(peer_id, data, len, mode, channel);
    });
}

OM_API om_status om_agent_fingerprint(om_agent* agent, char* buf, size_t cap)
{
    return guard_agent(agent, [&] {
        require(buf != nullptr, "buf is NULL");
        std::string fingerprint = body(agent)->fingerprint();
        if (cap < OM_FINGERPRINT_STRLEN || cap <= fingerprint.size())
            fail(OM_ERR_BUFFER_TOO_SMALL, "the fingerprint needs " + std::to_string(OM_FINGERPRINT_STRLEN) + " bytes");
        std::memcpy(buf, fingerprint.c_str(), fingerprint.size() + 1);
    });
}

} // extern "C"
