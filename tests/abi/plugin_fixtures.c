/* plugin_fixtures: the fixture plugins of tests/plugins, through the public C API only.
 *  - fixture-abi10, built against the frozen ABI 1.0 header, loads into this kernel and carries
 *    a datagram (ABI-RULES R24 d); it has no mtu slot, so the MTU is max_mtu;
 *  - fixture-ffi's extension methods cover the whole signature grammar through om_plugin_call;
 *  - fixture-throws' exceptions stop at the kernel: calls fail, the agent lives on;
 *  - every misbehaving fixture makes om_agent_create fail with the right status and a message
 *    that names what the user must fix.
 * OM_PLUGIN_PATH (set by CTest) lists every fixture directory. Events use OM_EVENTS_DISPATCH, so
 * the test is single-threaded; every wait is bounded. */
#define _POSIX_C_SOURCE 200809L

#include <orbitmesh/orbitmesh.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "msgpack_mini.h"

#define WAIT_MS 5000

/* ---- agents and events ---------------------------------------------------------------------- */
typedef struct event_log {
    int datagrams;
    int errors;
    char source[OM_ERROR_BUF_SIZE];
    char error_message[OM_ERROR_BUF_SIZE];
    uint8_t data[64];
    size_t len;
} event_log;

static void on_event(void* user_data, const om_event* e)
{
    event_log* log = (event_log*)user_data;
    if (e->type == OM_EVENT_DATAGRAM) {
        log->datagrams++;
        snprintf(log->source, sizeof log->source, "%s", e->address ? e->address : "");
        log->len = e->len < sizeof log->data ? e->len : sizeof log->data;
        if (log->len > 0) memcpy(log->data, e->data, log->len);
    } else if (e->type == OM_EVENT_ERROR) {
        log->errors++;
        snprintf(log->error_message, sizeof log->error_message, "%s", e->message ? e->message : "");
    }
}

/* om_agent_create with this transport; err receives the reason of a failure. */
static om_status create(const char* transport, event_log* log, om_agent** out, char* err)
{
    om_agent_options options = OM_AGENT_OPTIONS_INIT;
    options.bind_address = "127.0.0.1";
    options.transport_plugin = transport;
    options.event_mode = OM_EVENTS_DISPATCH;
    options.on_event = on_event;
    options.user_data = log;
    err[0] = '\0';
    return om_agent_create(&options, out, err, OM_ERROR_BUF_SIZE);
}

static om_agent* create_open(const char* transport, event_log* log)
{
    char err[OM_ERROR_BUF_SIZE];
    om_agent* agent = NULL;
    CHECK_STATUS(create(transport, log, &agent, err), OM_OK);
    if (agent == NULL) {
        fprintf(stderr, "plugin_fixtures: %s: %s\n", transport, err);
        return NULL;
    }
    CHECK_STATUS(om_agent_open_transport(agent), OM_OK);
    return agent;
}

/* Dispatches until *counter > 0, at most WAIT_MS. */
static void dispatch_until(om_agent* agent, const int* counter)
{
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    do {
        size_t n = 0;
        om_status s = om_agent_dispatch(agent, 50, &n);
        CHECK(s == OM_OK || s == OM_ERR_TIMEOUT);
        clock_gettime(CLOCK_MONOTONIC, &now);
    } while (*counter == 0 &&
             (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 < WAIT_MS);
}

static int contains(const char* text, const char* part)
{
    return text != NULL && strstr(text, part) != NULL;
}

/* ---- the frozen ABI 1.0 plugin carries a datagram ------------------------------------------- */
static void check_abi_1_0_loopback(void)
{
    static const uint8_t payload[] = "\xE0 through a plugin built for ABI 1.0";
    event_log log = {0};
    char local[OM_ERROR_BUF_SIZE];
    uint32_t mtu = 0;
    uint64_t received = 0;
    om_agent* agent = create_open("fixture-abi10", &log);
    if (agent == NULL) return;
    CHECK_STATUS(om_agent_local_address(agent, local, sizeof local, NULL), OM_OK);
    CHECK(strncmp(local, "127.0.0.1:", 10) == 0);
    CHECK_STATUS(om_agent_transport_mtu(agent, &mtu), OM_OK);
    CHECK(mtu == 1400); /* no mtu slot in ABI 1.0: the kernel falls back to max_mtu */

    /* The loopback returns what it sends, from its own address. */
    CHECK_STATUS(om_agent_send_datagram(agent, local, payload, sizeof payload), OM_OK);
    dispatch_until(agent, &log.datagrams);
    CHECK(log.datagrams == 1);
    CHECK(strcmp(log.source, local) == 0);
    CHECK(log.len == sizeof payload && memcmp(log.data, payload, sizeof payload) == 0);
    CHECK_STATUS(om_agent_counter(agent, "transport.datagrams_received", &received), OM_OK);
    CHECK(received == 1);
    om_agent_destroy(agent);
}

/* ---- fixture-ffi: every shape of signature through om_plugin_call ---------------------------- */
static om_agent* ffi_agent;

/* Calls a method of fixture-ffi; decodes a scalar result into *out (may be NULL). */
static om_status call(const char* method, const mp_buf* args, mp_value* out, mp_value* second)
{
    uint8_t* result = NULL;
    size_t len = 0;
    om_status s = om_plugin_call(ffi_agent, "fixture-ffi", method, args->data, args->len, &result,
                                 &len);
    if (s == OM_OK) {
        const uint8_t* p = result;
        mp_value first;
        CHECK(result != NULL && len > 0);
        CHECK(mp_read(&p, result + len, &first));
        /* Several results come as an array: return value first, then out parameters. */
        if (first.kind == MP_ARRAY && second != NULL) {
            CHECK(first.count == 2);
            CHECK(mp_read(&p, result + len, out));
            CHECK(mp_read(&p, result + len, second));
        } else if (out != NULL) {
            *out = first;
        }
        CHECK(p == result + len); /* nothing left over */
    } else {
        CHECK(result == NULL);
    }
    om_free(result);
    return s;
}

static int64_t int_of(const mp_value* v)
{
    int64_t i = 0;
    CHECK(mp_as_int(v, &i));
    return i;
}

static void check_ffi_methods(void)
{
    static const uint8_t bytes[] = {1, 2, 3, 250};
    event_log log = {0};
    uint32_t mtu = 0;
    mp_buf a;
    mp_value r, r2;
    ffi_agent = create_open("fixture-ffi", &log);
    if (ffi_agent == NULL) return;
    CHECK_STATUS(om_agent_transport_mtu(ffi_agent, &mtu), OM_OK);
    CHECK(mtu == 1200); /* the ABI 1.1 mtu slot was asked (LOOPBACK_MTU) */

    a.len = 0; mp_array(&a, 2); mp_int(&a, 2); mp_int(&a, -5);
    CHECK_STATUS(call("add_i32", &a, &r, NULL), OM_OK);
    CHECK(int_of(&r) == -3);

    /* Wrong type and wrong arity are refused before the plugin runs (not counted below). */
    a.len = 0; mp_array(&a, 2); mp_str(&a, "x"); mp_int(&a, 1);
    CHECK_STATUS(call("add_i32", &a, NULL, NULL), OM_ERR_TYPE_MISMATCH);
    a.len = 0; mp_array(&a, 1); mp_int(&a, 1);
    CHECK_STATUS(call("add_i32", &a, NULL, NULL), OM_ERR_TYPE_MISMATCH);

    a.len = 0; mp_array(&a, 2); mp_uint(&a, (uint64_t)1 << 40); mp_uint(&a, 3);
    CHECK_STATUS(call("mul_u64", &a, &r, NULL), OM_OK);
    CHECK(r.kind == MP_UINT && r.u == ((uint64_t)3 << 40));

    a.len = 0; mp_array(&a, 2); mp_f64(&a, 1.5); mp_f64(&a, -2.5);
    CHECK_STATUS(call("scale", &a, &r, NULL), OM_OK);
    CHECK(r.kind == MP_F64 && r.f == -3.75);
    /* msgpack-c's pack_double writes an integral double as an integer: check the value only. */
    a.len = 0; mp_array(&a, 2); mp_f64(&a, 1.5); mp_f64(&a, -2.0);
    CHECK_STATUS(call("scale", &a, &r, NULL), OM_OK);
    CHECK(r.kind == MP_F64 ? r.f == -3.0 : int_of(&r) == -3);

    a.len = 0; mp_array(&a, 1); mp_bool(&a, 1);
    CHECK_STATUS(call("negate", &a, &r, NULL), OM_OK);
    CHECK(r.kind == MP_BOOL && r.i == 0);

    a.len = 0; mp_array(&a, 1); mp_str(&a, "hello, world");
    CHECK_STATUS(call("str_len", &a, &r, NULL), OM_OK);
    CHECK(int_of(&r) == 12);

    a.len = 0; mp_array(&a, 1); mp_bin(&a, bytes, sizeof bytes);
    CHECK_STATUS(call("sum_bytes", &a, &r, NULL), OM_OK);
    CHECK(int_of(&r) == 256);

    /* A status method returns only its out parameters. */
    a.len = 0; mp_array(&a, 2); mp_uint(&a, 17); mp_uint(&a, 5);
    CHECK_STATUS(call("divmod", &a, &r, &r2), OM_OK);
    CHECK(int_of(&r) == 3 && int_of(&r2) == 2);
    /* A failing status becomes OM_ERR_PLUGIN with the plugin's set_error text. */
    a.len = 0; mp_array(&a, 2); mp_uint(&a, 1); mp_uint(&a, 0);
    CHECK_STATUS(call("divmod", &a, NULL, NULL), OM_ERR_PLUGIN);
    CHECK(contains(om_agent_last_error(ffi_agent), "division by zero"));

    a.len = 0; mp_array(&a, 2); mp_int(&a, 7); mp_int(&a, -9);
    CHECK_STATUS(call("minmax_i64", &a, &r, &r2), OM_OK);
    CHECK(int_of(&r) == -9 && int_of(&r2) == 7);

    a.len = 0; mp_array(&a, 0);
    CHECK_STATUS(call("noop", &a, &r, NULL), OM_OK);
    CHECK(r.kind == MP_NIL);

    /* Eleven calls reached the plugin above; this is the twelfth: the same instance each time. */
    CHECK_STATUS(call("counter", &a, &r, NULL), OM_OK);
    CHECK(int_of(&r) == 12);

    CHECK_STATUS(call("no_such_method", &a, NULL, NULL), OM_ERR_NOT_FOUND);
    CHECK(mp_ok(&a));
    om_agent_destroy(ffi_agent);
    ffi_agent = NULL;
}

/* ---- fixture-throws: exceptions stop at the kernel ------------------------------------------ */
static void check_throwing_plugin(void)
{
    static const uint8_t empty_array[] = {0x90};
    event_log log = {0};
    char local[OM_ERROR_BUF_SIZE];
    uint8_t* result = NULL;
    size_t len = 0;
    uint64_t drain_errors = 0;
    om_agent* agent = create_open("fixture-throws", &log);
    if (agent == NULL) return;

    /* open made the fd readable; drain threw on the loop thread and was reported as an event. */
    dispatch_until(agent, &log.errors);
    CHECK(log.errors >= 1 && contains(log.error_message, "drain exploded"));
    CHECK_STATUS(om_agent_counter(agent, "transport.drain_errors", &drain_errors), OM_OK);
    CHECK(drain_errors >= 1);

    CHECK_STATUS(om_agent_local_address(agent, local, sizeof local, NULL), OM_OK);
    CHECK_STATUS(om_agent_send_datagram(agent, local, empty_array, 1), OM_ERR_PLUGIN);
    CHECK(contains(om_agent_last_error(agent), "send exploded"));
    CHECK_STATUS(om_plugin_call(agent, "fixture-throws", "boom", empty_array, 1, &result, &len),
                 OM_ERR_PLUGIN);
    CHECK(result == NULL && contains(om_agent_last_error(agent), "boom exploded"));

    /* Still alive and answering. */
    CHECK_STATUS(om_agent_local_address(agent, local, sizeof local, NULL), OM_OK);
    CHECK_STATUS(om_agent_close_transport(agent), OM_OK);
    om_agent_destroy(agent);
}

/* ---- misbehaving fixtures are refused at create, saying why --------------------------------- */
typedef struct refusal {
    const char* plugin;
    om_status status;
    const char* says[2]; /* parts of the message the user needs; NULL when unused */
} refusal;

static const refusal refusals[] = {
    /* Two OM_PLUGIN_PATH directories offer the name: both are named. */
    {"fixture-dup", OM_ERR_DUPLICATE, {"duplicate_a", "duplicate_b"}},
    {"fixture-wrong-kind", OM_ERR_PLUGIN_LOAD, {"fixture-wrong-kind", "strategy"}},
    {"fixture-missing-slot", OM_ERR_PLUGIN_LOAD, {"fixture-missing-slot", "send"}},
    /* The plugin's own reason reaches the user. */
    {"fixture-refuses", OM_ERR_REFUSED,
     {"fixture-refuses: this plugin needs a feature the host lacks", NULL}},
    /* A plugin answering another major is refused naming its version and ours. */
    {"fixture-abi20", OM_ERR_ABI_MISMATCH, {"2.0", "1.4"}},
    {"fixture-no-entry", OM_ERR_PLUGIN_LOAD, {"fixture-no-entry", "om_plugin_negotiate"}},
    {"fixture-ffi-mismatch", OM_ERR_PLUGIN_LOAD, {"fixture-ffi-mismatch", "add_i32"}},
    /* Broken manifests are skipped by discovery, so their plugins do not exist. */
    {"fixture-bad-manifest", OM_ERR_NOT_FOUND, {"fixture-bad-manifest", NULL}},
};

static void check_refusals(void)
{
    size_t i, j;
    for (i = 0; i < sizeof refusals / sizeof refusals[0]; ++i) {
        const refusal* r = &refusals[i];
        event_log log = {0};
        char err[OM_ERROR_BUF_SIZE];
        om_agent* agent = (om_agent*)&log; /* must come back NULL */
        om_status s = create(r->plugin, &log, &agent, err);
        printf("%s: %s: %s\n", r->plugin, om_status_name(s), err);
        CHECK_STATUS(s, r->status);
        CHECK(agent == NULL);
        for (j = 0; j < 2; ++j) {
            if (r->says[j] != NULL && !contains(err, r->says[j])) {
                fprintf(stderr, "  the message of %s does not mention \"%s\"\n", r->plugin, r->says[j]);
                ++check_failures;
            }
        }
    }
}

/* Listing reads manifests only: the broken ones are left out, the rest are all there. */
static void check_listing(void)
{
    char* json = NULL;
    char err[OM_ERROR_BUF_SIZE] = "";
    CHECK_STATUS(om_plugins_list_json(&json, err, sizeof err), OM_OK);
    CHECK(contains(json, "\"fixture-ffi\"") && contains(json, "\"fixture-abi10\""));
    CHECK(contains(json, "\"fixture-refuses\"")); /* listed although it would refuse to load */
    CHECK(!contains(json, "fixture-no-name") && !contains(json, "\"fixture-bad-manifest\""));
    om_free(json);
}

int main(void)
{
    om_log_set_level(OM_LOG_OFF); /* the refusals are expected; their text is checked here */
    check_listing();
    check_abi_1_0_loopback();
    check_ffi_methods();
    check_throwing_plugin();
    check_refusals();
    return check_exit_code("plugin_fixtures");
}
