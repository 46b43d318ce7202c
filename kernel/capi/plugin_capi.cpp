// extern "C": plugin listing and extension methods. Only forwards.
#include "capi/capi_guard.h"
#include "plugin_host/registry.h"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

#include <sstream>

namespace {

Poco::JSON::Object::Ptr manifest_json(const om::Manifest& m)
{
    Poco::JSON::Object::Ptr o = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
    o->set("name", m.name);
    o->set("kind", std::string(om::plugin_kind_name(m.kind)));
    o->set("version", m.version);
    o->set("abi_version", om::format_abi_version(m.abi_version));
    o->set("description", m.description);
    o->set("decorator", (m.flags & OM_PLUGIN_FLAG_DECORATOR) != 0);
    o->set("library_path", m.library_path);
    o->set("manifest_path", m.manifest_path);
    Poco::JSON::Array::Ptr functions = new Poco::JSON::Array();
    for (const auto& f : m.functions) {
        Poco::JSON::Object::Ptr fo = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
        fo->set("name", f.name);
        fo->set("signature", f.signature);
        fo->set("doc", f.doc);
        functions->add(fo);
    }
    o->set("functions", functions);
    return o;
}

} // namespace

extern "C" {

OM_API om_status om_plugins_list_json(char** out_json, char* err_buf, size_t err_buf_len)
{
    if (out_json) *out_json = nullptr;
    return om::capi::guard_buffer(err_buf, err_buf_len, [&] {
        om::capi::require(out_json != nullptr, "out_json is NULL");
        Poco::JSON::Array list;
        for (const auto& [manifest, fallback] : om::PluginRegistry::global().discovered().manifests) {
            auto entry = manifest_json(manifest);
            entry->set("shadowed_search_dir", fallback);
            list.add(entry);
        }
        std::ostringstream out;
        list.stringify(out);
        *out_json = om::capi::dup_for_caller(out.str());
    });
}

OM_API om_status om_plugin_call(om_agent* agent, const char* plugin, const char* method, const uint8_t* args,
                                size_t args_len, uint8_t** result, size_t* result_len)
{
    if (result) *result = nullptr;
    if (result_len) *result_len = 0;
    return om::capi::guard_agent(agent, [&] {
        om::capi::require(plugin && method && result && result_len, "plugin, method, result and result_len must not be NULL");
        om::capi::require(args || args_len == 0, "args is NULL");
        auto bytes = reinterpret_cast<om::Agent*>(agent)->plugin_call(plugin, method, args, args_len);
        auto* out = static_cast<uint8_t*>(std::malloc(bytes.size() ? bytes.size() : 1));
        if (!out) throw std::bad_alloc();
        std::memcpy(out, bytes.data(), bytes.size());
        *result = out;
        *result_len = bytes.size();
    });
}

} // extern "C"
