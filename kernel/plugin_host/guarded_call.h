// Every call into a plugin goes through here (ABI-RULES R17): an exception or a failure status
// becomes om::Error naming the plugin, the step and the plugin's own set_error text.
#pragma once

#include "core/error.h"
#include "plugin_host/host_api.h"

#include <exception>
#include <string>

namespace om {

template <class F>
auto guarded_call(om_host_ctx& ctx, const char* step, F&& fn) -> decltype(fn())
{
    try {
        return fn();
    } catch (const Error&) {
        throw;  // the kernel's own (argument checks around the call), already explained
    }
    OM_RETHROW_FORCED_UNWIND
    catch (const std::exception& e) {
        fail(OM_ERR_PLUGIN, "plugin " + ctx.plugin_name + ": " + step + " threw: " + e.what());
    } catch (...) {
        fail(OM_ERR_PLUGIN, "plugin " + ctx.plugin_name + ": " + step + " threw an unknown exception");
    }
}

// Throws when status is not OM_OK, keeping the plugin's status when it is one of ours.
// `more` adds detail from elsewhere (the layers under a decorator).
inline void check_plugin_status(om_host_ctx& ctx, const char* step, int32_t status, const std::string& more = {})
{
    if (status == OM_OK) return;
    std::string detail = ctx.take_error();
    if (!more.empty()) detail += (detail.empty() ? "" : "; ") + more;
    const char* name = om_status_name(status);
    bool known = std::string(name) != "OM_UNKNOWN_STATUS" && status < 0;
    fail(known ? status : OM_ERR_PLUGIN, "plugin " + ctx.plugin_name + ": " + step + " failed (" + name + ")" +
                                             (detail.empty() ? "" : ": " + detail));
}

} // namespace om
