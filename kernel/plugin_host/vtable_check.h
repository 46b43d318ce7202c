// Per-kind vtable rules: copy a plugin's table into the kernel's current layout (zero-filling
// what an older plugin lacks) and name the first required slot that is missing (ABI-RULES R6, R12).
#pragma once

#include <orbitmesh/plugin.h>

#include <string>
#include <variant>

namespace om {

using VtableCopy = std::variant<std::monostate, om_transport_vtbl, om_nat_discovery_vtbl, om_strategy_vtbl,
                                om_turn_vtbl, om_delivery_vtbl>;

// Throws om::Error(OM_ERR_PLUGIN_LOAD) naming the plugin and what is wrong.
VtableCopy copy_vtable(const std::string& plugin, om_plugin_kind kind, uint32_t flags, const void* vtbl);

// Copies a struct that begins with uint32_t struct_size into `out` (sizeof known_size): reads
// min(struct_size, known_size) bytes, zero-fills the rest, and rejects a larger struct unless
// every byte past known_size is zero. Throws om::Error(OM_ERR_PLUGIN_LOAD).
void copy_sized_struct(const std::string& what, const void* src, void* out, size_t known_size);

} // namespace om
