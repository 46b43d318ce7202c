#include "plugin_host/registry.h"

#include "core/error.h"
#include "core/log.h"
#include "plugin_host/host_api.h"

namespace om {
namespace {

const char* short_name_prefix(om_plugin_kind kind)
{
    switch (kind) {
    case OM_PLUGIN_KIND_TRANSPORT: return "transport-";
    case OM_PLUGIN_KIND_NAT_DISCOVERY: return "nat-";
    case OM_PLUGIN_KIND_STRATEGY: return "strategy-";
    case OM_PLUGIN_KIND_TURN: return "turn-";
    case OM_PLUGIN_KIND_DELIVERY: return "delivery-";
    default: return "";
    }
}

} // namespace

PluginRegistry::PluginRegistry(std::vector<SearchDir> dirs) : dirs_(std::move(dirs)) {}

PluginRegistry& PluginRegistry::global()
{
    static PluginRegistry* registry = new PluginRegistry(default_search_path());  // never unloads plugins
    return *registry;
}

void PluginRegistry::refresh()
{
    std::lock_guard<std::mutex> lock(mutex_);
    discovered_ = discover_plugins(dirs_);
    for (const auto& problem : discovered_->problems) log_message(OM_LOG_WARNING, "plugin discovery: " + problem);
}

DiscoveredPlugins PluginRegistry::discovered()
{
    refresh();
    std::lock_guard<std::mutex> lock(mutex_);
    return *discovered_;
}

const Manifest* PluginRegistry::find_unique(const std::string& name)
{
    const Manifest* primary = nullptr;
    const Manifest* fallback = nullptr;
    for (const auto& [manifest, is_fallback] : discovered_->manifests) {
        if (manifest.name != name) continue;
        if (is_fallback) {
            if (!fallback) fallback = &manifest;
            continue;
        }
        // Two OM_PLUGIN_PATH entries offering one name: which one the user meant is unknowable.
        if (primary && primary->library_path != manifest.library_path)
            fail(OM_ERR_DUPLICATE, "plugin name \"" + name + "\" is declared twice: by " + primary->manifest_path +
                                       " and by " + manifest.manifest_path);
        if (!primary) primary = &manifest;
    }
    return primary ? primary : fallback;  // OM_PLUGIN_PATH shadows the install directory
}

const Manifest& PluginRegistry::resolve(std::string_view name, om_plugin_kind kind)
{
    if (!discovered_) {
        discovered_ = discover_plugins(dirs_);
        for (const auto& problem : discovered_->problems) log_message(OM_LOG_WARNING, "plugin discovery: " + problem);
    }
    const std::string exact(name);
    const std::string prefixed = short_name_prefix(kind) + exact;
    const Manifest* found = find_unique(exact);
    if (!found && prefixed != exact) found = find_unique(prefixed);
    if (!found) {
        std::string where;
        for (const auto& d : dirs_) where += (where.empty() ? "" : ", ") + d.path;
        fail(OM_ERR_NOT_FOUND, std::string(plugin_kind_name(kind)) + " plugin \"" + exact + "\" not found (looked for " +
                                   exact + (prefixed != exact ? " and " + prefixed : "") + " in " + where + ")");
    }
    if (found->kind != kind)
        fail(OM_ERR_PLUGIN_LOAD, "plugin " + found->name + " is a " + plugin_kind_name(found->kind) +
                                     " plugin, not a " + plugin_kind_name(kind) + " plugin");
    return *found;
}

std::shared_ptr<PluginLibrary> PluginRegistry::load(std::string_view name, om_plugin_kind kind)
{
    std::lock_guard<std::mutex> lock(mutex_);
    const Manifest* manifest = nullptr;
    try {
        manifest = &resolve(name, kind);
    } catch (const Error& e) {
        if (e.status() != OM_ERR_NOT_FOUND) throw;
        discovered_.reset();  // a plugin installed since the last scan
        manifest = &resolve(name, kind);
    }
    auto it = loaded_.find(manifest->name);
    if (it != loaded_.end()) {
        if (it->second->manifest().library_path != manifest->library_path)
            fail(OM_ERR_DUPLICATE, "plugin name \"" + manifest->name + "\" is already loaded from " +
                                       it->second->manifest().library_path + ", not loading " + manifest->library_path);
        return it->second;
    }
    auto lib = PluginLibrary::load(*manifest, host_api());
    loaded_.emplace(manifest->name, lib);
    return lib;
}

} // namespace om
