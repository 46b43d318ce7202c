// One loaded plugin library: dlopen, ABI negotiation, descriptor and vtable validation,
// extension methods with their cached ffi_cif. Immutable after load.
#pragma once

#include "plugin_host/ffi_method.h"
#include "plugin_host/manifest.h"
#include "plugin_host/vtable_check.h"

#include <orbitmesh/plugin.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace om {

// The oldest plugin ABI this kernel still loads, and its own.
constexpr uint32_t kHostAbiMin = OM_PLUGIN_ABI_MAKE(OM_PLUGIN_ABI_VERSION_MAJOR, 0);
constexpr uint32_t kHostAbiMax = OM_PLUGIN_ABI_VERSION;

class PluginLibrary {
public:
    // Throws om::Error: OM_ERR_PLUGIN_LOAD (dlopen, entry symbol, descriptor, vtable, manifest
    // disagreement), OM_ERR_ABI_MISMATCH, OM_ERR_REFUSED.
    static std::shared_ptr<PluginLibrary> load(const Manifest& manifest, const om_host_api* host);
    ~PluginLibrary();
    PluginLibrary(const PluginLibrary&) = delete;
    PluginLibrary& operator=(const PluginLibrary&) = delete;

    const Manifest& manifest() const { return manifest_; }
    const std::string& name() const { return manifest_.name; }
    om_plugin_kind kind() const { return descriptor_.kind; }
    uint32_t flags() const { return descriptor_.flags; }
    uint32_t abi_version() const { return abi_version_; }
    const om_plugin_descriptor& descriptor() const { return descriptor_; }

    // The vtable in the kernel's layout; nullptr when the plugin is of another kind.
    const om_transport_vtbl* transport() const { return std::get_if<om_transport_vtbl>(&vtable_); }
    template <class Vtbl>
    const Vtbl* vtable() const { return std::get_if<Vtbl>(&vtable_); }

    const FfiMethod* method(std::string_view name) const;
    const std::vector<std::unique_ptr<FfiMethod>>& methods() const { return methods_; }

private:
    PluginLibrary() = default;
    void negotiate(const om_host_api* host);
    void build_methods();

    void* handle_ = nullptr;
    Manifest manifest_;
    uint32_t abi_version_ = 0;
    om_plugin_descriptor descriptor_{};
    VtableCopy vtable_;
    std::vector<std::unique_ptr<FfiMethod>> methods_;
};

} // namespace om
