// "<name>.om.json": what the kernel knows of a plugin without loading it (ABI-RULES R14).
#pragma once

#include <orbitmesh/plugin.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace om {

struct ManifestFunction {
    std::string name;
    std::string signature;
    std::string doc;
};

struct Manifest {
    std::string manifest_path;
    std::string name;
    om_plugin_kind kind = 0;
    std::string library_path;  // absolute
    uint32_t abi_version = 0;  // packed major.minor
    std::string version;
    std::string description;
    std::string entry_symbol = OM_PLUGIN_ENTRY_SYMBOL;
    uint32_t flags = 0;
    std::vector<ManifestFunction> functions;
};

// Throws om::Error(OM_ERR_MALFORMED) saying which field of which file is wrong.
Manifest read_manifest(const std::string& path);

const char* plugin_kind_name(om_plugin_kind kind);  // "transport", "nat-discovery", ...; "unknown"
std::optional<om_plugin_kind> plugin_kind_from_name(std::string_view name);
// "1.1" -> OM_PLUGIN_ABI_MAKE(1, 1); nullopt when malformed.
std::optional<uint32_t> parse_abi_version(std::string_view text);
std::string format_abi_version(uint32_t version);

} // namespace om
