// One live plugin instance inside an agent: its library, its host context and its handle.
#pragma once

#include "plugin_host/host_api.h"
#include "plugin_host/plugin_library.h"

#include <memory>

namespace om {

struct PluginInstance {
    std::shared_ptr<PluginLibrary> library;
    std::unique_ptr<om_host_ctx> ctx;
    void* instance = nullptr;
};

// A host context for `library` owned by `owner`, with the plugin's settings from the options.
inline std::unique_ptr<om_host_ctx> make_host_ctx(PluginOwner& owner, const PluginLibrary& library,
                                                  const PluginOptions& options)
{
    auto ctx = std::make_unique<om_host_ctx>();
    ctx->owner = &owner;
    ctx->plugin_name = library.name();
    if (auto it = options.find(library.name()); it != options.end()) ctx->settings = it->second;
    return ctx;
}

} // namespace om
