/* The little msgpack a C test needs to drive om_plugin_call: encode an argument array of scalars,
 * strings and bytes; decode one scalar or a flat array of scalars. Not a general codec. */
#ifndef OM_TEST_MSGPACK_MINI_H
#define OM_TEST_MSGPACK_MINI_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct mp_buf {
    uint8_t data[512];
    size_t len;
} mp_buf;

static inline void mp_put(mp_buf* b, const void* bytes, size_t n)
{
    if (b->len + n <= sizeof b->data) memcpy(b->data + b->len, bytes, n);
    b->len += n; /* an overflow shows as len > sizeof data; mp_ok() reports it */
}

static inline int mp_ok(const mp_buf* b) { return b->len <= sizeof b->data; }

static inline void mp_byte(mp_buf* b, uint8_t v) { mp_put(b, &v, 1); }

static inline void mp_be(mp_buf* b, uint64_t v, int bytes)
{
    int i;
    for (i = bytes - 1; i >= 0; --i) mp_byte(b, (uint8_t)(v >> (8 * i)));
}

static inline void mp_array(mp_buf* b, uint8_t count) { mp_byte(b, (uint8_t)(0x90 | (count & 0x0F))); }
static inline void mp_nil(mp_buf* b) { mp_byte(b, 0xC0); }
static inline void mp_bool(mp_buf* b, int v) { mp_byte(b, v ? 0xC3 : 0xC2); }

static inline void mp_int(mp_buf* b, int64_t v)
{
    mp_byte(b, 0xD3);
    mp_be(b, (uint64_t)v, 8);
}

static inline void mp_uint(mp_buf* b, uint64_t v)
{
    mp_byte(b, 0xCF);
    mp_be(b, v, 8);
}

static inline void mp_f64(mp_buf* b, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    mp_byte(b, 0xCB);
    mp_be(b, bits, 8);
}

static inline void mp_str(mp_buf* b, const char* s)
{
    size_t n = strlen(s);
    mp_byte(b, 0xD9); /* str8 */
    mp_byte(b, (uint8_t)n);
    mp_put(b, s, n);
}

static inline void mp_bin(mp_buf* b, const uint8_t* data, uint8_t n)
{
    mp_byte(b, 0xC4); /* bin8 */
    mp_byte(b, n);
    mp_put(b, data, n);
}

/* One decoded value. */
typedef enum { MP_NIL, MP_BOOL, MP_INT, MP_UINT, MP_F64, MP_ARRAY, MP_OTHER } mp_kind;
typedef struct mp_value {
    mp_kind kind;
    int64_t i;  /* MP_INT, MP_BOOL */
    uint64_t u; /* MP_UINT */
    double f;   /* MP_F64 */
    uint32_t count; /* MP_ARRAY: elements follow */
} mp_value;

static inline uint64_t mp_read_be(const uint8_t* p, int bytes)
{
    uint64_t v = 0;
    int i;
    for (i = 0; i < bytes; ++i) v = (v << 8) | p[i];
    return v;
}

/* Reads one value at *p (advancing it); 0 when truncated or of a kind this codec lacks. */
static inline int mp_read(const uint8_t** p, const uint8_t* end, mp_value* out)
{
    static const int int_width[] = {1, 2, 4, 8};
    const uint8_t* q = *p;
    uint8_t t;
    memset(out, 0, sizeof *out);
    if (q >= end) return 0;
    t = *q++;
    if (t <= 0x7F) {
        out->kind = MP_UINT;
        out->u = t;
    } else if (t >= 0xE0) {
        out->kind = MP_INT;
        out->i = (int8_t)t;
    } else if ((t & 0xF0) == 0x90) {
        out->kind = MP_ARRAY;
        out->count = t & 0x0F;
    } else if (t == 0xC0) {
        out->kind = MP_NIL;
    } else if (t == 0xC2 || t == 0xC3) {
        out->kind = MP_BOOL;
        out->i = t == 0xC3;
    } else if (t >= 0xCC && t <= 0xCF) { /* uint8..uint64 */
        int w = int_width[t - 0xCC];
        if (end - q < w) return 0;
        out->kind = MP_UINT;
        out->u = mp_read_be(q, w);
        q += w;
    } else if (t >= 0xD0 && t <= 0xD3) { /* int8..int64, sign-extended */
        int w = int_width[t - 0xD0];
        uint64_t raw;
        if (end - q < w) return 0;
        raw = mp_read_be(q, w);
        if (w < 8 && (raw >> (8 * w - 1)) & 1) raw |= ~(uint64_t)0 << (8 * w);
        out->kind = MP_INT;
        out->i = (int64_t)raw;
        q += w;
    } else if (t == 0xCB) {
        uint64_t bits;
        if (end - q < 8) return 0;
        bits = mp_read_be(q, 8);
        memcpy(&out->f, &bits, sizeof out->f);
        out->kind = MP_F64;
        q += 8;
    } else {
        out->kind = MP_OTHER;
        return 0;
    }
    *p = q;
    return 1;
}

/* An integer value as int64 whichever encoding msgpack chose; 0 when it is not an integer. */
static inline int mp_as_int(const mp_value* v, int64_t* out)
{
    if (v->kind == MP_INT) *out = v->i;
    else if (v->kind == MP_UINT) *out = (int64_t)v->u;
    else return 0;
    return 1;
}

#endif /* OM_TEST_MSGPACK_MINI_H */
