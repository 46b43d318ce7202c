// One extension method of a plugin, callable with msgpack arguments through libffi
// (ffi_prep_cif once at load, ffi_call per call), as GObject Introspection does.
#pragma once

#include "plugin_host/ffi_signature.h"

#include <ffi.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace om {

class FfiMethod {
public:
    // Throws om::Error(OM_ERR_MALFORMED) for a bad signature, OM_ERR_INTERNAL if libffi refuses.
    FfiMethod(std::string plugin, std::string name, const std::string& signature, void (*fn)(void));
    FfiMethod(const FfiMethod&) = delete;
    FfiMethod& operator=(const FfiMethod&) = delete;

    const std::string& name() const { return name_; }
    const FfiSignature& signature() const { return signature_; }

    // args: a msgpack array with one value per input parameter. Returns the msgpack result
    // (see om_plugin_call). plugin_error() gives the plugin's set_error text after a failure.
    // Throws om::Error: OM_ERR_MALFORMED, OM_ERR_TYPE_MISMATCH, OM_ERR_PLUGIN.
    std::vector<uint8_t> invoke(void* instance, const uint8_t* args, size_t args_len,
                                const std::function<std::string()>& plugin_error) const;

private:
    std::string plugin_;
    std::string name_;
    FfiSignature signature_;
    void (*fn_)(void);
    std::vector<ffi_type*> arg_types_;  // instance pointer first, bytes take two slots
    ffi_type* result_type_;
    ffi_cif cif_{};
};

} // namespace om
