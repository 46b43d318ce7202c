// Plugin settings for an agent, from either form Agent(plugin_options=...) accepts:
//   {"netsim": {"loss": 0.1, "seed": 7}}   or   "netsim.loss=0.1;netsim.seed=7"
// (entries separated by ';' or newlines). Values: str, int, float, or bool (written 1/0).
#pragma once

#include <pybind11/pybind11.h>

#include <string>
#include <vector>

namespace orbitmesh::python {

struct PluginSetting {
    std::string plugin;
    std::string key;
    std::string value;
};

// GIL held. None -> no settings. Raises InvalidArgumentError / TypeError for malformed input.
std::vector<PluginSetting> parse_plugin_settings(pybind11::handle spec);

} // namespace orbitmesh::python
