/* plugin_negotiate: dlopens plugins and calls their om_plugin_negotiate directly, without the
 * kernel, to pin down what OM_PLUGIN_DEFINE (and each misbehaving fixture) answers.
 *
 *   plugin_negotiate current <plugin.so> <name>   a plugin built against today's plugin.h
 *   plugin_negotiate fixtures <dir>               every case of tests/plugins under <dir>
 */
#define _POSIX_C_SOURCE 200809L

#include <orbitmesh/plugin.h>

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "check.h"

typedef struct loaded {
    void* handle;
    om_plugin_negotiate_fn negotiate;
} loaded;

static loaded load(const char* path)
{
    loaded p = {NULL, NULL};
    p.handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (p.handle == NULL) {
        fprintf(stderr, "dlopen %s: %s\n", path, dlerror());
        ++check_failures;
        return p;
    }
    /* dlsym returns void*; POSIX guarantees the conversion to a function pointer works. */
    *(void**)&p.negotiate = dlsym(p.handle, OM_PLUGIN_ENTRY_SYMBOL);
    return p;
}

static void unload(loaded* p)
{
    if (p->handle != NULL) dlclose(p->handle);
}

/* One negotiation with host range min..max; error text goes to err (may be NULL). */
static int32_t negotiate(const loaded* p, uint32_t min, uint32_t max, om_plugin_negotiation* io,
                         char* err, size_t cap)
{
    static const om_host_api host = {sizeof(om_host_api), OM_PLUGIN_ABI_VERSION};
    memset(io, 0, sizeof *io);
    io->struct_size = sizeof *io;
    io->host_abi_min = min;
    io->host_abi_max = max;
    io->host = &host;
    io->out_error = err;
    io->out_error_cap = cap;
    if (err != NULL && cap > 0) err[0] = '\0';
    return p->negotiate(io);
}

static void version_text(uint32_t version, char* buf, size_t cap)
{
    snprintf(buf, cap, "%u.%u", (unsigned)OM_PLUGIN_ABI_MAJOR_OF(version),
             (unsigned)OM_PLUGIN_ABI_MINOR_OF(version));
}

/* What OM_PLUGIN_DEFINE answers a host of the same major: the older of the plugin's own
 * version and the host's newest. */
static uint32_t expected_answer(uint32_t mine, uint32_t host_max)
{
    return host_max < mine ? host_max : mine;
}

/* The contract of OM_PLUGIN_DEFINE (plugin.h) for a plugin whose own ABI is `mine`. */
static void check_define_behaviour(const loaded* p, uint32_t mine, const char* name)
{
    om_plugin_negotiation io;
    char err[OM_ERROR_BUF_SIZE];
    char mine_text[16];
    char small[12];
    const uint32_t v1_0 = OM_PLUGIN_ABI_MAKE(1, 0), v1_1 = OM_PLUGIN_ABI_MAKE(1, 1);
    const uint32_t v1_9 = OM_PLUGIN_ABI_MAKE(1, 9);
    version_text(mine, mine_text, sizeof mine_text);

    /* Today's kernel (1.0..1.1): OM_OK, the version both speak, and the descriptor. */
    CHECK_STATUS(negotiate(p, v1_0, v1_1, &io, err, sizeof err), OM_OK);
    CHECK(io.out_abi_version == expected_answer(mine, v1_1));
    CHECK(io.out_descriptor != NULL);
    if (io.out_descriptor != NULL) {
        CHECK(io.out_descriptor->abi_version == mine);
        CHECK(strcmp(io.out_descriptor->name, name) == 0);
        CHECK(io.out_descriptor->vtbl != NULL);
    }

    /* A host of another major: refused, and the message names both versions. */
    CHECK_STATUS(negotiate(p, OM_PLUGIN_ABI_MAKE(2, 0), OM_PLUGIN_ABI_MAKE(2, 3), &io, err,
                           sizeof err),
                 OM_ERR_ABI_MISMATCH);
    CHECK(strstr(err, mine_text) != NULL);
    CHECK(strstr(err, "2.0") != NULL);
    printf("%s refuses host 2.0-2.3: \"%s\"\n", name, err);

    /* An older host of the same major (1.0 only) still gets OM_OK; the plugin answers at most
     * 1.0 and the host decides. A newer host (up to 1.9) gets the plugin's own version. */
    CHECK_STATUS(negotiate(p, v1_0, v1_0, &io, err, sizeof err), OM_OK);
    CHECK(io.out_abi_version == expected_answer(mine, v1_0) && io.out_descriptor != NULL);
    CHECK_STATUS(negotiate(p, v1_0, v1_9, &io, err, sizeof err), OM_OK);
    CHECK(io.out_abi_version == mine);

    /* A short error buffer is truncated and terminated, never overrun. */
    memset(small, 'x', sizeof small);
    CHECK_STATUS(negotiate(p, OM_PLUGIN_ABI_MAKE(2, 0), OM_PLUGIN_ABI_MAKE(2, 0), &io, small, 8),
                 OM_ERR_ABI_MISMATCH);
    CHECK(memchr(small, '\0', 8) != NULL);
    CHECK(small[8] == 'x' && small[11] == 'x');
    /* No error buffer at all is fine. */
    CHECK_STATUS(negotiate(p, OM_PLUGIN_ABI_MAKE(2, 0), OM_PLUGIN_ABI_MAKE(2, 0), &io, NULL, 0),
                 OM_ERR_ABI_MISMATCH);
    CHECK_STATUS(p->negotiate(NULL), OM_ERR_INVALID_ARGUMENT);
}

/* Guards today's OM_PLUGIN_DEFINE adds (not in the frozen 1.0 macro): the plugin writes only
 * what the host's struct_size covers. */
static void check_struct_size_guards(const loaded* p)
{
    om_plugin_negotiation io;
    char err[12];
    /* A host whose struct ends before out_error: the error buffer is never touched. */
    negotiate(p, OM_PLUGIN_ABI_MAKE(2, 0), OM_PLUGIN_ABI_MAKE(2, 0), &io, err, sizeof err);
    memset(err, 'x', sizeof err);
    io.struct_size = (uint32_t)offsetof(om_plugin_negotiation, out_error);
    CHECK_STATUS(p->negotiate(&io), OM_ERR_ABI_MISMATCH);
    CHECK(err[0] == 'x');
    /* One that ends before the out fields: invalid, nothing written. */
    io.struct_size = (uint32_t)offsetof(om_plugin_negotiation, out_abi_version);
    io.out_abi_version = 0;
    CHECK_STATUS(p->negotiate(&io), OM_ERR_INVALID_ARGUMENT);
    CHECK(io.out_abi_version == 0);
}

static void check_current(const char* path, const char* name)
{
    loaded p = load(path);
    if (p.handle == NULL) return;
    CHECK(p.negotiate != NULL);
    if (p.negotiate != NULL) {
        check_define_behaviour(&p, OM_PLUGIN_ABI_VERSION, name);
        check_struct_size_guards(&p);
    }
    unload(&p);
}

/* Opens <dir>/<case>/<name>.so. */
static loaded load_case(const char* dir, const char* fixture_case, const char* name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s/%s.so", dir, fixture_case, name);
    return load(path);
}

/* Negotiates as the current kernel does and returns the descriptor (NULL on failure). */
static const om_plugin_descriptor* descriptor_of(const loaded* p)
{
    om_plugin_negotiation io;
    char err[OM_ERROR_BUF_SIZE];
    if (p->negotiate == NULL) return NULL;
    if (negotiate(p, OM_PLUGIN_ABI_MAKE(1, 0), OM_PLUGIN_ABI_VERSION, &io, err, sizeof err) != OM_OK)
        return NULL;
    return io.out_descriptor;
}

static void check_fixtures(const char* dir)
{
    static const char* const ffi_methods[] = {"add_i32", "mul_u64", "scale", "negate", "str_len",
                                              "sum_bytes", "divmod", "minmax_i64", "counter",
                                              "noop"};
    const size_t ffi_method_count = sizeof ffi_methods / sizeof ffi_methods[0];
    om_plugin_negotiation io;
    char err[OM_ERROR_BUF_SIZE];
    const om_plugin_descriptor* d;
    size_t i;
    loaded p;

    /* Valid current plugins behave exactly as OM_PLUGIN_DEFINE promises. */
    {
        char path[4096];
        snprintf(path, sizeof path, "%s/duplicate_a/fixture-dup.so", dir);
        check_current(path, "fixture-dup");
    }

    /* fixture-ffi and fixture-ffi-mismatch carry the same ten extension methods. */
    p = load_case(dir, "ffi", "fixture-ffi");
    CHECK((d = descriptor_of(&p)) != NULL);
    if (d != NULL) {
        CHECK(d->function_count == ffi_method_count);
        for (i = 0; i < ffi_method_count && i < d->function_count; ++i) {
            CHECK(strcmp(d->functions[i].name, ffi_methods[i]) == 0);
            CHECK(d->functions[i].signature != NULL && d->functions[i].fn != NULL);
        }
    }
    unload(&p);
    p = load_case(dir, "ffi_mismatch", "fixture-ffi-mismatch");
    CHECK((d = descriptor_of(&p)) != NULL);
    if (d != NULL) {
        CHECK(d->function_count == ffi_method_count);
        CHECK(strcmp(d->functions[0].signature, "i32(i32,i32)") == 0);
    }
    unload(&p);

    /* The frozen 1.0 plugin answers 1.0 to a 1.0-1.1 host and refuses another major (its
     * macro is the frozen one: no struct_size guards to check). */
    p = load_case(dir, "abi_1_0", "fixture-abi10");
    if (p.negotiate != NULL) check_define_behaviour(&p, OM_PLUGIN_ABI_MAKE(1, 0), "fixture-abi10");
    unload(&p);

    /* The plugin from the future says 2.0 whatever it is offered: the host must refuse it. */
    p = load_case(dir, "abi_2_0", "fixture-abi20");
    if (p.negotiate != NULL) {
        CHECK_STATUS(negotiate(&p, OM_PLUGIN_ABI_MAKE(1, 0), OM_PLUGIN_ABI_MAKE(1, 1), &io, err,
                               sizeof err),
                     OM_OK);
        CHECK(io.out_abi_version == OM_PLUGIN_ABI_MAKE(2, 0));
        CHECK(io.out_descriptor != NULL &&
              io.out_descriptor->abi_version == OM_PLUGIN_ABI_MAKE(2, 0));
    }
    unload(&p);

    /* The refusing plugin says why, within the caller's buffer. */
    p = load_case(dir, "refuses", "fixture-refuses");
    if (p.negotiate != NULL) {
        char small[8];
        CHECK_STATUS(negotiate(&p, OM_PLUGIN_ABI_MAKE(1, 0), OM_PLUGIN_ABI_VERSION, &io, err,
                               sizeof err),
                     OM_ERR_REFUSED);
        CHECK(strcmp(err, "fixture-refuses: this plugin needs a feature the host lacks") == 0);
        CHECK(io.out_descriptor == NULL);
        CHECK_STATUS(negotiate(&p, OM_PLUGIN_ABI_MAKE(1, 0), OM_PLUGIN_ABI_VERSION, &io, small,
                               sizeof small),
                     OM_ERR_REFUSED);
        CHECK(strcmp(small, "fixture") == 0);
    }
    unload(&p);

    /* No entry point under the right name, only a look-alike. */
    p = load_case(dir, "no_entry", "fixture-no-entry");
    CHECK(p.handle != NULL && p.negotiate == NULL);
    if (p.handle != NULL) CHECK(dlsym(p.handle, "om_plugin_negotiate_typo") != NULL);
    unload(&p);

    /* Kind and manifest disagree: the descriptor says strategy, with a usable vtable. */
    p = load_case(dir, "wrong_kind", "fixture-wrong-kind");
    CHECK((d = descriptor_of(&p)) != NULL);
    if (d != NULL) {
        const om_strategy_vtbl* v = (const om_strategy_vtbl*)d->vtbl;
        CHECK(d->kind == OM_PLUGIN_KIND_STRATEGY);
        CHECK(v->create != NULL && v->destroy != NULL && v->choose != NULL);
    }
    unload(&p);

    /* The send slot is the only hole in the transport vtable. */
    p = load_case(dir, "missing_slot", "fixture-missing-slot");
    CHECK((d = descriptor_of(&p)) != NULL);
    if (d != NULL) {
        const om_transport_vtbl* v = (const om_transport_vtbl*)d->vtbl;
        CHECK(d->kind == OM_PLUGIN_KIND_TRANSPORT);
        CHECK(v->send == NULL);
        CHECK(v->create && v->destroy && v->open && v->close && v->poll_fd && v->drain &&
              v->local_address);
    }
    unload(&p);

    /* The throwing plugin negotiates normally; its methods throw only when called. */
    p = load_case(dir, "throws", "fixture-throws");
    CHECK((d = descriptor_of(&p)) != NULL);
    if (d != NULL) {
        CHECK(d->function_count == 1 && strcmp(d->functions[0].name, "boom") == 0);
        CHECK(strcmp(d->functions[0].signature, "status()") == 0);
    }
    unload(&p);
}

int main(int argc, char** argv)
{
    if (argc == 4 && strcmp(argv[1], "current") == 0) {
        check_current(argv[2], argv[3]);
    } else if (argc == 3 && strcmp(argv[1], "fixtures") == 0) {
        check_fixtures(argv[2]);
    } else {
        fprintf(stderr, "usage: %s current <plugin.so> <name> | fixtures <dir>\n", argv[0]);
        return 2;
    }
    return check_exit_code("plugin_negotiate");
}
