// Extension-method signatures (grammar in plugin.h): "status(u32,out_u32)".
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace om {

enum class FfiType : uint8_t {
    Void, Status, Bool, I32, U32, I64, U64, F64, Str, Bytes,
    OutBool, OutI32, OutU32, OutI64, OutU64, OutF64
};

struct FfiSignature {
    FfiType result = FfiType::Void;
    std::vector<FfiType> params;
    std::string text;

    size_t input_count() const;   // parameters the caller supplies (not out_*)
    size_t output_count() const;  // values in the result (return value unless void/status, plus outs)
};

bool is_out_param(FfiType type);
FfiType out_target(FfiType out);  // OutU32 -> U32
const char* ffi_type_name(FfiType type);

// Throws om::Error(OM_ERR_MALFORMED) with the position of the problem.
FfiSignature parse_ffi_signature(std::string_view text);

} // namespace om
