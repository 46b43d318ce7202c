// The agent's plugin_options text: "plugin.key=value" entries separated by ';' or newlines.
#pragma once

#include <map>
#include <string>
#include <string_view>

namespace om {

using PluginSettings = std::map<std::string, std::string>;             // key -> value
using PluginOptions = std::map<std::string, PluginSettings, std::less<>>;  // plugin -> settings

// Throws om::Error(OM_ERR_INVALID_ARGUMENT) naming the entry that is malformed.
PluginOptions parse_plugin_options(std::string_view text);

} // namespace om
