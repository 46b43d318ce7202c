// Where plugins are found: OM_PLUGIN_PATH (':'-separated), then the install directory, found
// relative to liborbitmesh itself (relocatable installs) and at the configured prefix.
#pragma once

#include "plugin_host/manifest.h"

#include <string>
#include <vector>

namespace om {

struct SearchDir {
    std::string path;
    bool fallback = false;  // install directories: shadowed by any OM_PLUGIN_PATH entry
};

struct DiscoveredPlugins {
    std::vector<std::pair<Manifest, bool /*fallback*/>> manifests;
    std::vector<std::string> problems;  // unreadable or malformed manifests, one line each
};

std::vector<SearchDir> default_search_path();
// Reads every "*.om.json" in each directory, in order. Loads nothing.
DiscoveredPlugins discover_plugins(const std::vector<SearchDir>& dirs);

} // namespace om
