#include "plugin_host/ffi_method.h"

#include "core/error.h"

#include <msgpack.hpp>

#include <cstring>
#include <limits>

namespace om {
namespace {

static_assert(sizeof(size_t) == sizeof(uint64_t) || sizeof(size_t) == sizeof(uint32_t));
ffi_type* const kSizeType = sizeof(size_t) == 8 ? &ffi_type_uint64 : &ffi_type_uint32;

ffi_type* scalar_type(FfiType t)
{
    switch (t) {
    case FfiType::Void: return &ffi_type_void;
    case FfiType::Status:
    case FfiType::Bool:
    case FfiType::I32: return &ffi_type_sint32;
    case FfiType::U32: return &ffi_type_uint32;
    case FfiType::I64: return &ffi_type_sint64;
    case FfiType::U64: return &ffi_type_uint64;
    case FfiType::F64: return &ffi_type_double;
    default: return &ffi_type_pointer;  // str, out_*
    }
}

// Storage for one C argument; avalues point into these, so the vector never reallocates.
union Slot {
    int32_t i32;
    uint32_t u32;
    int64_t i64;
    uint64_t u64;
    double f64;
    const void* ptr;
    size_t size;
};

// Storage an out_* parameter points at.
union OutValue {
    int32_t i32;
    uint32_t u32;
    int64_t i64;
    uint64_t u64;
    double f64;
};

[[noreturn]] void mismatch(const std::string& where, size_t index, FfiType type, const char* got)
{
    fail(OM_ERR_TYPE_MISMATCH, where + ": argument " + std::to_string(index + 1) + " must be " +
                                   ffi_type_name(type) + ", got " + got);
}

const char* msgpack_type_name(const msgpack::object& o)
{
    switch (o.type) {
    case msgpack::type::NIL: return "nil";
    case msgpack::type::BOOLEAN: return "bool";
    case msgpack::type::POSITIVE_INTEGER: return "a non-negative integer";
    case msgpack::type::NEGATIVE_INTEGER: return "a negative integer";
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64: return "a float";
    case msgpack::type::STR: return "a string";
    case msgpack::type::BIN: return "bytes";
    case msgpack::type::ARRAY: return "an array";
    case msgpack::type::MAP: return "a map";
    default: return "an extension value";
    }
}

// Integer of the msgpack object if it fits [lo, hi]; false otherwise.
bool integer_in_range(const msgpack::object& o, long double lo, long double hi, long double& out)
{
    if (o.type == msgpack::type::POSITIVE_INTEGER) out = static_cast<long double>(o.via.u64);
    else if (o.type == msgpack::type::NEGATIVE_INTEGER) out = static_cast<long double>(o.via.i64);
    else return false;
    return out >= lo && out <= hi;
}

template <class T>
bool to_integer(const msgpack::object& o, T& out)
{
    long double v;
    if (!integer_in_range(o, static_cast<long double>(std::numeric_limits<T>::min()),
                          static_cast<long double>(std::numeric_limits<T>::max()), v))
        return false;
    out = o.type == msgpack::type::POSITIVE_INTEGER ? static_cast<T>(o.via.u64) : static_cast<T>(o.via.i64);
    return true;
}

// msgpack-c packs a whole-number double as an integer; a dynamically typed caller must get a
// float back from an f64 method, so write the float 64 format (0xcb) ourselves.
void pack_float64(msgpack::packer<msgpack::sbuffer>& pk, double value)
{
    uint64_t bits;
    std::memcpy(&bits, &value, sizeof bits);
    char out[9];
    out[0] = static_cast<char>(0xcb);
    for (int i = 0; i < 8; ++i) out[1 + i] = static_cast<char>(bits >> (56 - 8 * i));
    pk.pack_bin_body(out, sizeof out);  // raw bytes into the stream
}

void pack_value(msgpack::packer<msgpack::sbuffer>& pk, FfiType type, const OutValue& v)
{
    switch (type) {
    case FfiType::Bool: pk.pack(v.i32 != 0); break;
    case FfiType::I32: pk.pack(v.i32); break;
    case FfiType::U32: pk.pack(v.u32); break;
    case FfiType::I64: pk.pack(v.i64); break;
    case FfiType::U64: pk.pack(v.u64); break;
    case FfiType::F64: pack_float64(pk, v.f64); break;
    default: pk.pack_nil(); break;
    }
}

} // namespace

FfiMethod::FfiMethod(std::string plugin, std::string name, const std::string& signature, void (*fn)(void))
    : plugin_(std::move(plugin)), name_(std::move(name)), signature_(parse_ffi_signature(signature)), fn_(fn)
{
    if (!fn_) fail(OM_ERR_MALFORMED, plugin_ + "." + name_ + ": function pointer is NULL");
    arg_types_.push_back(&ffi_type_pointer);  // the instance
    for (FfiType p : signature_.params) {
        if (p == FfiType::Bytes) {
            arg_types_.push_back(&ffi_type_pointer);
            arg_types_.push_back(kSizeType);
        } else {
            arg_types_.push_back(scalar_type(p));
        }
    }
    result_type_ = scalar_type(signature_.result);
    if (ffi_prep_cif(&cif_, FFI_DEFAULT_ABI, static_cast<unsigned>(arg_types_.size()), result_type_,
                     arg_types_.data()) != FFI_OK)
        fail(OM_ERR_INTERNAL, plugin_ + "." + name_ + ": libffi cannot describe \"" + signature + "\"");
}

std::vector<uint8_t> FfiMethod::invoke(void* instance, const uint8_t* args, size_t args_len,
                                       const std::function<std::string()>& plugin_error) const
{
    const std::string where = plugin_ + "." + name_ + " " + signature_.text;
    msgpack::object_handle handle;
    msgpack::object empty_array;
    empty_array.type = msgpack::type::ARRAY;
    empty_array.via.array.size = 0;
    empty_array.via.array.ptr = nullptr;
    const msgpack::object* root = &empty_array;
    if (args_len > 0) {
        try {
            // Sizes bounded by the input itself, so a 5-byte header cannot ask for gigabytes.
            std::size_t offset = 0;
            msgpack::unpack_limit limit(args_len, args_len, args_len, args_len, args_len, 32);
            handle = msgpack::unpack(reinterpret_cast<const char*>(args), args_len, offset, nullptr, nullptr, limit);
            if (offset != args_len)
                fail(OM_ERR_MALFORMED, where + ": " + std::to_string(args_len - offset) + " bytes after the argument array");
        } catch (const Error&) {
            throw;
        } catch (const std::exception& e) {
            fail(OM_ERR_MALFORMED, where + ": arguments are not valid msgpack: " + e.what());
        }
        root = &handle.get();
    }
    if (root->type != msgpack::type::ARRAY)
        fail(OM_ERR_TYPE_MISMATCH, where + ": arguments must be a msgpack array, got " + msgpack_type_name(*root));
    const auto& array = root->via.array;
    if (array.size != signature_.input_count())
        fail(OM_ERR_TYPE_MISMATCH, where + ": takes " + std::to_string(signature_.input_count()) +
                                       " argument(s), got " + std::to_string(array.size));

    std::vector<Slot> slots(arg_types_.size());
    std::vector<void*> values(arg_types_.size());
    std::vector<OutValue> outs(signature_.params.size());
    std::vector<std::string> strings(signature_.params.size());  // NUL-terminated copies

    slots[0].ptr = instance;
    values[0] = &slots[0];
    size_t c_index = 1, input = 0;
    for (size_t i = 0; i < signature_.params.size(); ++i) {
        FfiType type = signature_.params[i];
        Slot& slot = slots[c_index];
        values[c_index] = &slot;
        if (is_out_param(type)) {
            outs[i] = OutValue{};
            slot.ptr = &outs[i];
            ++c_index;
            continue;
        }
        const msgpack::object& o = array.ptr[input];
        const char* got = msgpack_type_name(o);
        switch (type) {
        case FfiType::Bool:
            if (o.type != msgpack::type::BOOLEAN) mismatch(where, input, type, got);
            slot.i32 = o.via.boolean ? 1 : 0;
            break;
        case FfiType::I32: if (!to_integer(o, slot.i32)) mismatch(where, input, type, got); break;
        case FfiType::U32: if (!to_integer(o, slot.u32)) mismatch(where, input, type, got); break;
        case FfiType::I64: if (!to_integer(o, slot.i64)) mismatch(where, input, type, got); break;
        case FfiType::U64: if (!to_integer(o, slot.u64)) mismatch(where, input, type, got); break;
        case FfiType::F64:
            if (o.type == msgpack::type::FLOAT32 || o.type == msgpack::type::FLOAT64) slot.f64 = o.via.f64;
            else if (o.type == msgpack::type::POSITIVE_INTEGER) slot.f64 = static_cast<double>(o.via.u64);
            else if (o.type == msgpack::type::NEGATIVE_INTEGER) slot.f64 = static_cast<double>(o.via.i64);
            else mismatch(where, input, type, got);
            break;
        case FfiType::Str:
            if (o.type != msgpack::type::STR) mismatch(where, input, type, got);
            strings[i].assign(o.via.str.ptr, o.via.str.size);
            slot.ptr = strings[i].c_str();
            break;
        case FfiType::Bytes: {
            if (o.type == msgpack::type::BIN) {
                slot.ptr = o.via.bin.ptr;
                slots[c_index + 1].size = o.via.bin.size;
            } else if (o.type == msgpack::type::STR) {
                slot.ptr = o.via.str.ptr;
                slots[c_index + 1].size = o.via.str.size;
            } else {
                mismatch(where, input, type, got);
            }
            values[c_index + 1] = &slots[c_index + 1];
            ++c_index;
            break;
        }
        default: mismatch(where, input, type, got);
        }
        ++c_index;
        ++input;
    }

    // libffi widens small integer returns to ffi_arg; 64-bit and double come back whole.
    union {
        ffi_arg word;
        uint64_t u64;
        double f64;
    } ret{};
    ffi_call(const_cast<ffi_cif*>(&cif_), fn_, &ret, values.data());

    OutValue result{};
    switch (signature_.result) {
    case FfiType::Status:
    case FfiType::Bool:
    case FfiType::I32: result.i32 = static_cast<int32_t>(ret.word); break;
    case FfiType::U32: result.u32 = static_cast<uint32_t>(ret.word); break;
    case FfiType::I64: result.i64 = static_cast<int64_t>(ret.u64); break;
    case FfiType::U64: result.u64 = ret.u64; break;
    case FfiType::F64: result.f64 = ret.f64; break;
    default: break;
    }
    if (signature_.result == FfiType::Status && result.i32 != OM_OK) {
        std::string detail = plugin_error ? plugin_error() : std::string();
        fail(OM_ERR_PLUGIN, where + " failed with " + om_status_name(result.i32) + (detail.empty() ? "" : ": " + detail));
    }

    msgpack::sbuffer buffer;
    msgpack::packer<msgpack::sbuffer> pk(buffer);
    size_t count = signature_.output_count();
    if (count > 1) pk.pack_array(static_cast<uint32_t>(count));
    if (count == 0) pk.pack_nil();
    if (signature_.result != FfiType::Void && signature_.result != FfiType::Status)
        pack_value(pk, signature_.result, result);
    for (size_t i = 0; i < signature_.params.size(); ++i)
        if (is_out_param(signature_.params[i])) pack_value(pk, out_target(signature_.params[i]), outs[i]);
    return std::vector<uint8_t>(buffer.data(), buffer.data() + buffer.size());
}

} // namespace om
