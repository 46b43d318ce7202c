#include "plugin_host/ffi_signature.h"

#include "core/error.h"

#include <utility>

namespace om {
namespace {

constexpr std::pair<FfiType, const char*> kNames[] = {
    {FfiType::Void, "void"},       {FfiType::Status, "status"},   {FfiType::Bool, "bool"},
    {FfiType::I32, "i32"},         {FfiType::U32, "u32"},         {FfiType::I64, "i64"},
    {FfiType::U64, "u64"},         {FfiType::F64, "f64"},         {FfiType::Str, "str"},
    {FfiType::Bytes, "bytes"},     {FfiType::OutBool, "out_bool"}, {FfiType::OutI32, "out_i32"},
    {FfiType::OutU32, "out_u32"},  {FfiType::OutI64, "out_i64"},  {FfiType::OutU64, "out_u64"},
    {FfiType::OutF64, "out_f64"},
};

bool lookup(std::string_view name, FfiType& out)
{
    for (const auto& [type, text] : kNames)
        if (name == text) {
            out = type;
            return true;
        }
    return false;
}

std::string_view trim(std::string_view s)
{
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
    return s;
}

} // namespace

bool is_out_param(FfiType type)
{
    return type >= FfiType::OutBool;
}

FfiType out_target(FfiType out)
{
    switch (out) {
    case FfiType::OutBool: return FfiType::Bool;
    case FfiType::OutI32: return FfiType::I32;
    case FfiType::OutU32: return FfiType::U32;
    case FfiType::OutI64: return FfiType::I64;
    case FfiType::OutU64: return FfiType::U64;
    case FfiType::OutF64: return FfiType::F64;
    default: return out;
    }
}

const char* ffi_type_name(FfiType type)
{
    for (const auto& [t, text] : kNames)
        if (t == type) return text;
    return "?";
}

size_t FfiSignature::input_count() const
{
    size_t n = 0;
    for (auto p : params) n += is_out_param(p) ? 0 : 1;
    return n;
}

size_t FfiSignature::output_count() const
{
    size_t n = (result == FfiType::Void || result == FfiType::Status) ? 0 : 1;
    for (auto p : params) n += is_out_param(p) ? 1 : 0;
    return n;
}

FfiSignature parse_ffi_signature(std::string_view text)
{
    const std::string quoted = "signature \"" + std::string(text) + "\": ";
    FfiSignature sig;
    sig.text = std::string(text);
    auto open = text.find('(');
    if (open == std::string_view::npos || text.back() != ')')
        fail(OM_ERR_MALFORMED, quoted + "expected RET(ARGS)");
    std::string_view ret = trim(text.substr(0, open));
    if (!lookup(ret, sig.result) || sig.result == FfiType::Str || sig.result == FfiType::Bytes || is_out_param(sig.result))
        fail(OM_ERR_MALFORMED, quoted + "'" + std::string(ret) + "' is not a return type");
    std::string_view args = trim(text.substr(open + 1, text.size() - open - 2));
    while (!args.empty()) {
        auto comma = args.find(',');
        std::string_view arg = trim(args.substr(0, comma));
        FfiType type;
        if (!lookup(arg, type) || type == FfiType::Void || type == FfiType::Status)
            fail(OM_ERR_MALFORMED, quoted + "'" + std::string(arg) + "' is not a parameter type");
        sig.params.push_back(type);
        if (comma == std::string_view::npos) break;
        args = args.substr(comma + 1);
        if (trim(args).empty()) fail(OM_ERR_MALFORMED, quoted + "trailing comma");
    }
    return sig;
}

} // namespace om
