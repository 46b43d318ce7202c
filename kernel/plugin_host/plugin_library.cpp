#include "plugin_host/plugin_library.h"

#include "core/error.h"
#include "core/log.h"

#include <dlfcn.h>

#include <cstring>
#include <exception>

namespace om {
namespace {

std::string host_range()
{
    return format_abi_version(kHostAbiMin) + "-" + format_abi_version(kHostAbiMax);
}

} // namespace

std::shared_ptr<PluginLibrary> PluginLibrary::load(const Manifest& manifest, const om_host_api* host)
{
    std::shared_ptr<PluginLibrary> lib(new PluginLibrary());
    lib->manifest_ = manifest;
    const std::string& name = manifest.name;

    // Manifest-level checks first: an incompatible plugin is refused without running its code.
    if (OM_PLUGIN_ABI_MAJOR_OF(manifest.abi_version) != OM_PLUGIN_ABI_VERSION_MAJOR)
        fail(OM_ERR_ABI_MISMATCH, "plugin " + name + " (" + manifest.library_path + ") is built for plugin ABI " +
                                      format_abi_version(manifest.abi_version) + "; this kernel speaks " + host_range());

    dlerror();
    lib->handle_ = dlopen(manifest.library_path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!lib->handle_) {
        const char* why = dlerror();
        fail(OM_ERR_PLUGIN_LOAD, "plugin " + name + ": cannot load " + manifest.library_path + ": " + (why ? why : "?"));
    }
    lib->negotiate(host);
    lib->build_methods();
    log_message(OM_LOG_DEBUG, "loaded plugin " + name + " " + lib->descriptor_.version + " (ABI " +
                                  format_abi_version(lib->abi_version_) + ") from " + manifest.library_path);
    return lib;
}

PluginLibrary::~PluginLibrary()
{
    if (descriptor_.free_type_data) {
        try {
            descriptor_.free_type_data(descriptor_.type_data);
        } catch (...) {
            log_message(OM_LOG_ERROR, "plugin " + manifest_.name + ": free_type_data threw");
        }
    }
    if (handle_) dlclose(handle_);
}

void PluginLibrary::negotiate(const om_host_api* host)
{
    const std::string& name = manifest_.name;
    void* symbol = dlsym(handle_, manifest_.entry_symbol.c_str());
    if (!symbol)
        fail(OM_ERR_PLUGIN_LOAD, "plugin " + name + " (" + manifest_.library_path + ") has no entry symbol " +
                                     manifest_.entry_symbol);
    auto entry = reinterpret_cast<om_plugin_negotiate_fn>(symbol);

    char refusal[OM_ERROR_BUF_SIZE] = {0};
    om_plugin_negotiation io{};
    io.struct_size = sizeof io;
    io.host_abi_min = kHostAbiMin;
    io.host_abi_max = kHostAbiMax;
    io.host = host;
    io.out_error = refusal;
    io.out_error_cap = sizeof refusal;

    int32_t status = OM_ERR_INTERNAL;
    try {
        status = entry(&io);
    } catch (const std::exception& e) {
        fail(OM_ERR_PLUGIN_LOAD, "plugin " + name + ": negotiation threw: " + e.what());
    } catch (...) {
        fail(OM_ERR_PLUGIN_LOAD, "plugin " + name + ": negotiation threw");
    }
    refusal[sizeof refusal - 1] = '\0';
    const std::string plugin_abi = format_abi_version(io.out_abi_version);
    if (status == OM_ERR_ABI_MISMATCH)
        fail(OM_ERR_ABI_MISMATCH, "plugin " + name + " speaks plugin ABI " + plugin_abi + "; this kernel speaks " +
                                      host_range() + (refusal[0] ? std::string(" (") + refusal + ")" : ""));
    if (status != OM_OK)
        fail(OM_ERR_REFUSED, "plugin " + name + " refused to load (" + om_status_name(status) + ")" +
                                 (refusal[0] ? std::string(": ") + refusal : ""));
    if (OM_PLUGIN_ABI_MAJOR_OF(io.out_abi_version) != OM_PLUGIN_ABI_VERSION_MAJOR ||
        io.out_abi_version < kHostAbiMin || io.out_abi_version > kHostAbiMax)
        fail(OM_ERR_ABI_MISMATCH, "plugin " + name + " answered plugin ABI " + plugin_abi + "; this kernel speaks " +
                                      host_range());
    abi_version_ = io.out_abi_version;
    if (!io.out_descriptor) fail(OM_ERR_PLUGIN_LOAD, "plugin " + name + ": negotiation gave no descriptor");

    copy_sized_struct("plugin " + name + ": descriptor", io.out_descriptor, &descriptor_, sizeof descriptor_);
    const std::string said = descriptor_.name ? descriptor_.name : "";
    if (said != name)
        fail(OM_ERR_PLUGIN_LOAD, "plugin " + name + ": the library calls itself \"" + said + "\" but its manifest " +
                                     manifest_.manifest_path + " says \"" + name + "\"");
    if (descriptor_.kind != manifest_.kind)
        fail(OM_ERR_PLUGIN_LOAD, "plugin " + name + ": wrong kind: the manifest says " + plugin_kind_name(manifest_.kind) +
                                     " but the library is a " + plugin_kind_name(descriptor_.kind) + " plugin");
    if ((descriptor_.flags & OM_PLUGIN_FLAG_DECORATOR) != (manifest_.flags & OM_PLUGIN_FLAG_DECORATOR))
        fail(OM_ERR_PLUGIN_LOAD, "plugin " + name + ": the manifest and the library disagree on the decorator flag");
    if (!descriptor_.version) descriptor_.version = "";
    if (!descriptor_.description) descriptor_.description = "";
    vtable_ = copy_vtable(name, descriptor_.kind, descriptor_.flags, descriptor_.vtbl);
}

void PluginLibrary::build_methods()
{
    const std::string& name = manifest_.name;
    for (size_t i = 0; i < descriptor_.function_count; ++i) {
        const om_plugin_function& f = descriptor_.functions[i];
        if (!f.name || !f.signature) fail(OM_ERR_PLUGIN_LOAD, "plugin " + name + ": function " + std::to_string(i) + " has no name or signature");
        try {
            methods_.push_back(std::make_unique<FfiMethod>(name, f.name, f.signature, f.fn));
        } catch (const Error& e) {
            fail(OM_ERR_PLUGIN_LOAD, std::string("plugin ") + name + ": " + e.what());
        }
    }
    // The manifest lists exactly the library's methods, with the same signatures: callers plan
    // calls from the manifest without loading the plugin.
    for (const auto& declared : manifest_.functions) {
        const FfiMethod* m = method(declared.name);
        if (!m)
            fail(OM_ERR_PLUGIN_LOAD, "plugin " + name + ": the manifest declares " + declared.name + " but the library does not");
        const FfiSignature manifest_signature = parse_ffi_signature(declared.signature);
        if (manifest_signature.params != m->signature().params || manifest_signature.result != m->signature().result)
            fail(OM_ERR_PLUGIN_LOAD, "plugin " + name + ": " + declared.name + " is \"" + declared.signature +
                                         "\" in the manifest but \"" + m->signature().text + "\" in the library");
    }
    if (manifest_.functions.size() != methods_.size())
        fail(OM_ERR_PLUGIN_LOAD, "plugin " + name + ": the library has " + std::to_string(methods_.size()) +
                                     " extension method(s) but the manifest declares " + std::to_string(manifest_.functions.size()));
}

const FfiMethod* PluginLibrary::method(std::string_view name) const
{
    for (const auto& m : methods_)
        if (m->name() == name) return m.get();
    return nullptr;
}

} // namespace om
