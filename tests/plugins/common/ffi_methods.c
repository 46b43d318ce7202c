/* Extension methods of fixture-ffi (see ffi_methods.h). The instance is the loopback transport;
 * each method counts itself in method_calls, which "counter" returns, so a test can prove the
 * kernel passes the right instance pointer first. Keep in step with
 * manifests/fixture-ffi.functions.json: the kernel refuses a manifest that disagrees. */
#include "ffi_methods.h"

#include <string.h>

#include "loopback.h"

static loopback* touch(void* instance)
{
    loopback* lb = (loopback*)instance;
    lb->method_calls++;
    return lb;
}

static int32_t add_i32(void* instance, int32_t a, int32_t b)
{
    touch(instance);
    return (int32_t)((uint32_t)a + (uint32_t)b); /* wraps instead of overflow UB */
}

static uint64_t mul_u64(void* instance, uint64_t a, uint64_t b)
{
    touch(instance);
    return a * b;
}

static double scale(void* instance, double value, double factor)
{
    touch(instance);
    return value * factor;
}

static int32_t negate(void* instance, int32_t value)
{
    touch(instance);
    return value ? 0 : 1;
}

static uint32_t str_len(void* instance, const char* text)
{
    touch(instance);
    return text != NULL ? (uint32_t)strlen(text) : 0u;
}

static uint64_t sum_bytes(void* instance, const uint8_t* data, size_t len)
{
    uint64_t sum = 0;
    size_t i;
    touch(instance);
    for (i = 0; i < len; ++i) sum += data[i];
    return sum;
}

static int32_t divmod(void* instance, uint32_t dividend, uint32_t divisor, uint32_t* quotient,
                      uint32_t* remainder)
{
    loopback* lb = touch(instance);
    if (divisor == 0) return loopback_fail(lb, OM_ERR_INVALID_ARGUMENT, "division by zero");
    *quotient = dividend / divisor;
    *remainder = dividend % divisor;
    return OM_OK;
}

static void minmax_i64(void* instance, int64_t a, int64_t b, int64_t* min, int64_t* max)
{
    touch(instance);
    *min = a < b ? a : b;
    *max = a < b ? b : a;
}

static uint32_t counter(void* instance)
{
    return touch(instance)->method_calls;
}

static void noop(void* instance)
{
    touch(instance);
}

#define FN(f) ((void (*)(void))(f))

const om_plugin_function fixture_ffi_functions[FIXTURE_FFI_FUNCTION_COUNT] = {
    {"add_i32", "i32(i32,i32)", FN(add_i32), "a + b, wrapping"},
    {"mul_u64", "u64(u64,u64)", FN(mul_u64), "a * b, wrapping"},
    {"scale", "f64(f64,f64)", FN(scale), "value * factor"},
    {"negate", "bool(bool)", FN(negate), "logical not"},
    {"str_len", "u32(str)", FN(str_len), "length of a UTF-8 string in bytes"},
    {"sum_bytes", "u64(bytes)", FN(sum_bytes), "sum of the bytes"},
    {"divmod", "status(u32,u32,out_u32,out_u32)", FN(divmod),
     "quotient and remainder, fails with division by zero when divisor is 0"},
    {"minmax_i64", "void(i64,i64,out_i64,out_i64)", FN(minmax_i64), "smaller and larger of a, b"},
    {"counter", "u32()", FN(counter),
     "extension-method calls on this instance so far, this one included"},
    {"noop", "void()", FN(noop), "does nothing (but counts)"},
};
