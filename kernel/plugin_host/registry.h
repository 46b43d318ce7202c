// Plugins by kind and name: discovered from manifests (nothing loaded), loaded on first use,
// kept loaded for the life of the registry.
#pragma once

#include "plugin_host/discovery.h"
#include "plugin_host/plugin_library.h"

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace om {

class PluginRegistry {
public:
    explicit PluginRegistry(std::vector<SearchDir> dirs);
    // The process-wide registry over default_search_path().
    static PluginRegistry& global();

    // Rescans the manifests (new plugin files show up; loaded plugins stay).
    void refresh();
    // Every manifest found, in search order, and the problems met reading the others.
    DiscoveredPlugins discovered();

    // Finds `name` (or "<kind>-name": transport "udp" is "transport-udp"), checks its kind and
    // loads it once. Throws om::Error: OM_ERR_NOT_FOUND, OM_ERR_DUPLICATE, OM_ERR_PLUGIN_LOAD
    // (including a plugin of another kind), OM_ERR_ABI_MISMATCH, OM_ERR_REFUSED.
    std::shared_ptr<PluginLibrary> load(std::string_view name, om_plugin_kind kind);

private:
    const Manifest& resolve(std::string_view name, om_plugin_kind kind);
    const Manifest* find_unique(const std::string& name);

    std::mutex mutex_;
    std::vector<SearchDir> dirs_;
    std::optional<DiscoveredPlugins> discovered_;
    std::map<std::string, std::shared_ptr<PluginLibrary>, std::less<>> loaded_;
};

} // namespace om
