// Extension methods: signature grammar, argument checks, and libffi calls with every type.
#include "core/error.h"
#include "plugin_host/ffi_method.h"

#include <catch2/catch.hpp>
#include <msgpack.hpp>

#include <cstring>
#include <string>

namespace {

struct Instance {
    int calls = 0;
};

extern "C" int32_t add_i32(void* self, int32_t a, int32_t b)
{
    ++static_cast<Instance*>(self)->calls;
    return a + b;
}
extern "C" uint64_t sum_bytes(void*, const uint8_t* p, size_t n)
{
    uint64_t s = 0;
    for (size_t i = 0; i < n; ++i) s += p[i];
    return s;
}
extern "C" int32_t divmod(void*, uint32_t a, uint32_t b, uint32_t* q, uint32_t* r)
{
    if (b == 0) return OM_ERR_INVALID_ARGUMENT;
    *q = a / b;
    *r = a % b;
    return OM_OK;
}
extern "C" double scale(void*, double x, double k)
{
    return x * k;
}
extern "C" uint32_t str_len(void*, const char* s)
{
    return static_cast<uint32_t>(std::strlen(s));
}
extern "C" int32_t negate(void*, int32_t b)
{
    return !b;
}
extern "C" void minmax(void*, int64_t a, int64_t b, int64_t* lo, int64_t* hi)
{
    *lo = a < b ? a : b;
    *hi = a < b ? b : a;
}
extern "C" uint64_t big(void*, uint64_t a)
{
    return a * 2;
}

template <class... T>
std::vector<uint8_t> pack_args(const T&... values)
{
    msgpack::sbuffer buf;
    msgpack::packer<msgpack::sbuffer> pk(buf);
    pk.pack_array(sizeof...(T));
    (pk.pack(values), ...);
    return {buf.data(), buf.data() + buf.size()};
}

msgpack::object_handle call(const om::FfiMethod& m, void* self, const std::vector<uint8_t>& args)
{
    auto out = m.invoke(self, args.data(), args.size(), [] { return std::string("detail from plugin"); });
    return msgpack::unpack(reinterpret_cast<const char*>(out.data()), out.size());
}

template <class Fn>
om::FfiMethod method(const char* name, const char* sig, Fn fn)
{
    return om::FfiMethod("test-plugin", name, sig, reinterpret_cast<void (*)(void)>(fn));
}

om_status status_of(const std::function<void()>& fn)
{
    try {
        fn();
    } catch (const om::Error& e) {
        return e.status();
    }
    return OM_OK;
}

} // namespace

TEST_CASE("signatures parse and malformed ones are refused", "[ffi]")
{
    auto s = om::parse_ffi_signature("status(u32, out_u32,bytes)");
    CHECK(s.result == om::FfiType::Status);
    CHECK(s.params.size() == 3);
    CHECK(s.input_count() == 2);
    CHECK(s.output_count() == 1);
    CHECK(om::parse_ffi_signature("void()").params.empty());
    for (const char* bad : {"", "u32", "u32(", "str()", "out_u32()", "void(void)", "void(u32,)", "void(int)", "bytes(u8)"}) {
        INFO(bad);
        CHECK(status_of([&] { om::parse_ffi_signature(bad); }) == OM_ERR_MALFORMED);
    }
}

TEST_CASE("scalar, string and byte arguments reach the C function, the instance comes first", "[ffi]")
{
    Instance self;
    auto add = method("add_i32", "i32(i32,i32)", add_i32);
    CHECK(call(add, &self, pack_args(40, 2)).get().as<int>() == 42);
    CHECK(call(add, &self, pack_args(-5, -6)).get().as<int>() == -11);
    CHECK(self.calls == 2);

    auto bytes = method("sum_bytes", "u64(bytes)", sum_bytes);
    msgpack::sbuffer buf;
    msgpack::packer<msgpack::sbuffer> pk(buf);
    pk.pack_array(1);
    pk.pack_bin(3);
    pk.pack_bin_body("\x01\x02\xff", 3);
    std::vector<uint8_t> args(buf.data(), buf.data() + buf.size());
    CHECK(call(bytes, &self, args).get().as<uint64_t>() == 258);

    auto scaled = call(method("scale", "f64(f64,f64)", scale), &self, pack_args(1.5, 4));
    CHECK(scaled.get().type == msgpack::type::FLOAT64);  // a whole number stays a float
    CHECK(scaled.get().as<double>() == Approx(6.0));
    CHECK(call(method("str_len", "u32(str)", str_len), &self, pack_args(std::string("hello"))).get().as<uint32_t>() == 5);
    CHECK(call(method("negate", "bool(bool)", negate), &self, pack_args(false)).get().as<bool>() == true);
    CHECK(call(method("big", "u64(u64)", big), &self, pack_args(uint64_t(1) << 62)).get().as<uint64_t>() == (uint64_t(1) << 63));
}

TEST_CASE("out parameters come back with the return value as an array", "[ffi]")
{
    Instance self;
    auto dm = method("divmod", "status(u32,u32,out_u32,out_u32)", divmod);
    auto r = call(dm, &self, pack_args(17u, 5u));
    auto v = r.get().as<std::vector<uint32_t>>();
    CHECK(v == std::vector<uint32_t>{3, 2});

    auto mm = method("minmax", "void(i64,i64,out_i64,out_i64)", minmax);
    CHECK(call(mm, &self, pack_args(int64_t(9), int64_t(-4))).get().as<std::vector<int64_t>>() == std::vector<int64_t>{-4, 9});
}

TEST_CASE("a failing status becomes OM_ERR_PLUGIN with the plugin's detail", "[ffi]")
{
    Instance self;
    auto dm = method("divmod", "status(u32,u32,out_u32,out_u32)", divmod);
    try {
        call(dm, &self, pack_args(1u, 0u));
        FAIL("no error");
    } catch (const om::Error& e) {
        CHECK(e.status() == OM_ERR_PLUGIN);
        CHECK(std::string(e.what()).find("OM_ERR_INVALID_ARGUMENT") != std::string::npos);
        CHECK(std::string(e.what()).find("detail from plugin") != std::string::npos);
    }
}

TEST_CASE("wrong arity, wrong types, out-of-range integers and bad msgpack are refused before the call", "[ffi]")
{
    Instance self;
    auto add = method("add_i32", "i32(i32,i32)", add_i32);
    auto refused = [&](const std::vector<uint8_t>& args) {
        return status_of([&] { add.invoke(&self, args.data(), args.size(), {}); });
    };
    CHECK(refused(pack_args(1)) == OM_ERR_TYPE_MISMATCH);
    CHECK(refused(pack_args(1, 2, 3)) == OM_ERR_TYPE_MISMATCH);
    CHECK(refused(pack_args(1, std::string("two"))) == OM_ERR_TYPE_MISMATCH);
    CHECK(refused(pack_args(1, 1.5)) == OM_ERR_TYPE_MISMATCH);
    CHECK(refused(pack_args(1, int64_t(1) << 40)) == OM_ERR_TYPE_MISMATCH);
    CHECK(refused({0x2a}) == OM_ERR_TYPE_MISMATCH);        // a bare integer, not an array
    CHECK(refused({0x92, 0x01}) == OM_ERR_MALFORMED);      // array of 2 with one element
    CHECK(refused({0xc1}) == OM_ERR_MALFORMED);            // never-used msgpack byte
    CHECK(self.calls == 0);

    auto u = method("str_len", "u32(str)", str_len);
    auto neg = pack_args(-1);
    CHECK(status_of([&] { method("big", "u64(u64)", big).invoke(&self, neg.data(), neg.size(), {}); }) == OM_ERR_TYPE_MISMATCH);
    auto num = pack_args(5);
    CHECK(status_of([&] { u.invoke(&self, num.data(), num.size(), {}); }) == OM_ERR_TYPE_MISMATCH);
}

TEST_CASE("a method without arguments accepts an empty array or no bytes at all, and returns nil", "[ffi]")
{
    static int noop_calls = 0;
    struct Local {
        static void noop(void*) { ++noop_calls; }
    };
    auto m = method("noop", "void()", &Local::noop);
    Instance self;
    auto r1 = m.invoke(&self, nullptr, 0, {});
    std::vector<uint8_t> empty{0x90};
    auto r2 = m.invoke(&self, empty.data(), empty.size(), {});
    CHECK(noop_calls == 2);
    CHECK(r1 == std::vector<uint8_t>{0xc0});
    CHECK(r2 == std::vector<uint8_t>{0xc0});
}

TEST_CASE("hostile msgpack headers and trailing bytes are refused without large allocations", "[ffi]")
{
    Instance self;
    auto add = method("add_i32", "i32(i32,i32)", add_i32);
    auto status = [&](std::vector<uint8_t> args) {
        return status_of([&] { add.invoke(&self, args.data(), args.size(), {}); });
    };
    CHECK(status({0xdd, 0xff, 0xff, 0xff, 0xff}) == OM_ERR_MALFORMED);  // array32 of 4 G elements
    CHECK(status({0xdf, 0x10, 0x00, 0x00, 0x00}) == OM_ERR_MALFORMED);  // map32 of 256 M entries
    auto ok = pack_args(1, 2);
    ok.push_back(0xc0);
    CHECK(status(ok) == OM_ERR_MALFORMED);  // a valid array and one more value
    CHECK(self.calls == 0);
}
