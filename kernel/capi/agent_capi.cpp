// extern "C": the agent. Only forwards to om::Agent inside the guard.
#include "capi/capi_guard.h"
#include "plugin_host/registry.h"

#include <thread>

using om::Agent;
using om::capi::guard_agent;
using om::capi::guard_buffer;
using om::capi::require;

namespace {
Agent* body(om_agent* agent)
{
    return reinterpret_cast<Agent*>(agent);
}
} // namespace

extern "C" {

OM_API om_status om_agent_options_init(om_agent_options* options)
{
    if (!options) return OM_ERR_INVALID_ARGUMENT;
    *options = om::default_agent_options();
    return OM_OK;
}

OM_API om_status om_agent_create(const om_agent_options* options, om_agent** out, char* err_buf, size_t err_buf_len)
{
    if (out) *out = nullptr;
    om_status status = guard_buffer(err_buf, err_buf_len, [&] {
        require(options != nullptr, "options is NULL");
        require(out != nullptr, "out is NULL");
        *out = reinterpret_cast<om_agent*>(new Agent(*options, om::PluginRegistry::global()));
    });
    // The agent owns user_data only once it exists; on failure it is released here, once.
    if (status != OM_OK && options && options->struct_size >= offsetof(om_agent_options, event_mode) &&
        options->user_data_free)
        options->user_data_free(options->user_data);
    return status;
}

OM_API void om_agent_destroy(om_agent* agent)
{
    Agent* self = body(agent);
    if (!self) return;
    try {
        if (self->in_own_callback()) {
            // From the agent's own callback: it cannot join its own thread or free itself under
            // dispatch. Dispatch frees it when it returns; the loop thread hands it to a thread.
            if (!self->loop().in_loop_thread()) {
                self->request_destroy_after_dispatch();
                return;
            }
            std::thread([self] { delete self; }).detach();
            return;
        }
        delete self;
    } catch (...) {
    }
}

OM_API const char* om_agent_last_error(const om_agent* agent)
{
    if (!agent) return "agent is NULL";
    return reinterpret_cast<const Agent*>(agent)->last_error();
}

OM_API om_status om_agent_open_transport(om_agent* agent)
{
    return guard_agent(agent, [&] { body(agent)->open_transport(); });
}

OM_API om_status om_agent_close_transport(om_agent* agent)
{
    return guard_agent(agent, [&] { body(agent)->close_transport(); });
}

OM_API om_status om_agent_local_address(om_agent* agent, char* buf, size_t cap, size_t* needed)
{
    return guard_agent(agent, [&] {
        std::string text = body(agent)->local_address();
        if (needed) *needed = text.size() + 1;
        if (!buf || cap < text.size() + 1)
            om::fail(OM_ERR_BUFFER_TOO_SMALL, "the address needs " + std::to_string(text.size() + 1) + " bytes");
        std::memcpy(buf, text.c_str(), text.size() + 1);
    });
}

OM_API om_status om_agent_transport_mtu(om_agent* agent, uint32_t* out_mtu)
{
    return guard_agent(agent, [&] {
        require(out_mtu != nullptr, "out_mtu is NULL");
        *out_mtu = body(agent)->transport_mtu();
    });
}

OM_API om_status om_agent_send_datagram(om_agent* agent, const char* address, const uint8_t* data, size_t len)
{
    return guard_agent(agent, [&] {
        require(address != nullptr, "address is NULL");
        body(agent)->send_datagram(address, data, len);
    });
}

OM_API om_status om_agent_dispatch(om_agent* agent, int32_t timeout_ms, size_t* dispatched)
{
    if (dispatched) *dispatched = 0;
    om_status status = guard_agent(agent, [&] {
        size_t n = body(agent)->dispatch(timeout_ms);
        if (dispatched) *dispatched = n;
    });
    if (agent && body(agent)->destroy_after_dispatch()) {
        delete body(agent);  // a callback called om_agent_destroy during this dispatch
        return OM_ERR_CLOSED;
    }
    return status;
}

OM_API om_status om_agent_counter(om_agent* agent, const char* name, uint64_t* value)
{
    return guard_agent(agent, [&] {
        require(name != nullptr && value != nullptr, "name and value must not be NULL");
        *value = body(agent)->counters().get(name);
    });
}

OM_API om_status om_agent_counters_json(om_agent* agent, char** out_json)
{
    if (out_json) *out_json = nullptr;
    return guard_agent(agent, [&] {
        require(out_json != nullptr, "out_json is NULL");
        *out_json = om::capi::dup_for_caller(body(agent)->counters().to_json());
    });
}

} // extern "C"
