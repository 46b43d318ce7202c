/* ffi_all: calls EVERY public function of liborbitmesh the way ctypes, cffi and Node FFI do:
 * dlopen the library, dlsym each name, describe it with an ffi_cif and call it only through
 * ffi_call; one event callback is a libffi closure, as a binding's would be. The sequence is a
 * real use: two agents on 127.0.0.1 exchange a datagram.
 *
 * usage: ffi_all <liborbitmesh.so> <orbitmesh.map>
 * Fails if any name the map exports was not called through libffi. Not linked with orbitmesh;
 * orbitmesh.h is included only for the struct layouts and constants. */
#define _POSIX_C_SOURCE 200809L

#include <orbitmesh/orbitmesh.h>

#include <dlfcn.h>
#include <ffi.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"

/* ---- binding table: one cif per function, as a binding generator would emit ---------------- */
#define MAX_ARGS 8
#define MAX_BINDINGS 64

typedef struct binding {
    const char* name;
    void* fn;
    ffi_cif cif;
    ffi_type* arg_types[MAX_ARGS];
    unsigned calls;
} binding;

static void* library;
static binding bindings[MAX_BINDINGS];
static size_t binding_count;

static ffi_type* size_type(void)
{
    return sizeof(size_t) == 8 ? &ffi_type_uint64 : &ffi_type_uint32;
}

static binding* bind(const char* name, ffi_type* ret, unsigned nargs, ffi_type* const* args)
{
    binding* b = &bindings[binding_count++];
    b->name = name;
    b->fn = dlsym(library, name);
    if (b->fn == NULL) {
        fprintf(stderr, "ffi_all: dlsym %s: %s\n", name, dlerror());
        exit(1);
    }
    if (nargs > 0) memcpy(b->arg_types, args, nargs * sizeof *args);
    if (ffi_prep_cif(&b->cif, FFI_DEFAULT_ABI, nargs, ret, b->arg_types) != FFI_OK) {
        fprintf(stderr, "ffi_all: ffi_prep_cif failed for %s\n", name);
        exit(1);
    }
    return b;
}

static void invoke(binding* b, void* ret, void** argv)
{
    ffi_call(&b->cif, FFI_FN(b->fn), ret, argv);
    b->calls++;
}

/* Integer returns come back in a full ffi_arg and are narrowed (libffi's rule). */
static int32_t call_i32(binding* b, void** argv)
{
    ffi_arg r = 0;
    invoke(b, &r, argv);
    return (int32_t)r;
}

static uint32_t call_u32(binding* b, void** argv)
{
    ffi_arg r = 0;
    invoke(b, &r, argv);
    return (uint32_t)r;
}

static void* call_ptr(binding* b, void** argv)
{
    void* r = NULL;
    invoke(b, &r, argv);
    return r;
}

static void call_void(binding* b, void** argv)
{
    ffi_arg unused = 0;
    invoke(b, &unused, argv);
}

static struct {
    binding *version, *version_number, *status_name, *status_str, *free, *log_set_level;
    binding *options_init, *create, *destroy, *last_error, *open_transport, *close_transport;
    binding *local_address, *transport_mtu, *send_datagram, *dispatch, *counter, *counters_json;
    binding *plugins_list_json, *plugin_call;
    binding *server_options_init, *server_create, *server_start, *server_stop, *server_destroy;
    binding *server_last_error, *server_http_port, *server_counter, *server_metrics_text, *token_create;
    binding *connect, *disconnect, *connect_peer, *peer_state, *send;
    binding *nat_info, *server_stun_ports, *nat_type_name, *nat_behavior_name;
    binding *peer_pairs_json, *candidate_type_name, *candidate_host, *candidate_srflx;
    binding *candidate_relayed, *candidate_to_string, *candidate_parse, *candidate_last_error;
    binding *send_on_channel, *fingerprint;
} api;

static void bind_all(void)
{
    ffi_type* const P = &ffi_type_pointer;
    ffi_type* const I32 = &ffi_type_sint32;
    ffi_type* const SZ = size_type();
    api.version = bind("om_version", P, 0, NULL);
    api.version_number = bind("om_version_number", &ffi_type_uint32, 0, NULL);
    api.status_name = bind("om_status_name", P, 1, (ffi_type* []){I32});
    api.status_str = bind("om_status_str", P, 1, (ffi_type* []){I32});
    api.free = bind("om_free", &ffi_type_void, 1, (ffi_type* []){P});
    api.log_set_level = bind("om_log_set_level", I32, 1, (ffi_type* []){I32});
    api.options_init = bind("om_agent_options_init", I32, 1, (ffi_type* []){P});
    api.create = bind("om_agent_create", I32, 4, (ffi_type* []){P, P, P, SZ});
    api.destroy = bind("om_agent_destroy", &ffi_type_void, 1, (ffi_type* []){P});
    api.last_error = bind("om_agent_last_error", P, 1, (ffi_type* []){P});
    api.open_transport = bind("om_agent_open_transport", I32, 1, (ffi_type* []){P});
    api.close_transport = bind("om_agent_close_transport", I32, 1, (ffi_type* []){P});
    api.local_address = bind("om_agent_local_address", I32, 4, (ffi_type* []){P, P, SZ, P});
    api.transport_mtu = bind("om_agent_transport_mtu", I32, 2, (ffi_type* []){P, P});
    api.send_datagram = bind("om_agent_send_datagram", I32, 4, (ffi_type* []){P, P, P, SZ});
    api.dispatch = bind("om_agent_dispatch", I32, 3, (ffi_type* []){P, I32, P});
    api.counter = bind("om_agent_counter", I32, 3, (ffi_type* []){P, P, P});
    api.counters_json = bind("om_agent_counters_json", I32, 2, (ffi_type* []){P, P});
    api.plugins_list_json = bind("om_plugins_list_json", I32, 3, (ffi_type* []){P, P, SZ});
    api.plugin_call = bind("om_plugin_call", I32, 7, (ffi_type* []){P, P, P, P, SZ, P, P});
    api.server_options_init = bind("om_server_options_init", I32, 1, (ffi_type* []){P});
    api.server_create = bind("om_server_create", I32, 4, (ffi_type* []){P, P, P, SZ});
    api.server_start = bind("om_server_start", I32, 1, (ffi_type* []){P});
    api.server_stop = bind("om_server_stop", I32, 1, (ffi_type* []){P});
    api.server_destroy = bind("om_server_destroy", &ffi_type_void, 1, (ffi_type* []){P});
    api.server_last_error = bind("om_server_last_error", P, 1, (ffi_type* []){P});
    api.server_http_port = bind("om_server_http_port", I32, 2, (ffi_type* []){P, P});
    api.server_counter = bind("om_server_counter", I32, 3, (ffi_type* []){P, P, P});
    api.server_metrics_text = bind("om_server_metrics_text", I32, 2, (ffi_type* []){P, P});
    api.token_create = bind("om_token_create", I32, 6, (ffi_type* []){P, P, &ffi_type_sint64, P, P, SZ});
    api.connect = bind("om_agent_connect", I32, 1, (ffi_type* []){P});
    api.disconnect = bind("om_agent_disconnect", I32, 1, (ffi_type* []){P});
    api.connect_peer = bind("om_agent_connect_peer", I32, 4, (ffi_type* []){P, P, I32, P});
    api.peer_state = bind("om_agent_peer_state", I32, 3, (ffi_type* []){P, P, P});
    api.send = bind("om_agent_send", I32, 5, (ffi_type* []){P, P, P, SZ, I32});
    api.send_on_channel = bind("om_agent_send_on_channel", I32, 6, (ffi_type* []){P, P, P, SZ, I32, &ffi_type_uint32});
    api.fingerprint = bind("om_agent_fingerprint", I32, 3, (ffi_type* []){P, P, SZ});
    api.nat_info = bind("om_agent_nat_info", I32, 3, (ffi_type* []){P, I32, P});
    api.server_stun_ports = bind("om_server_stun_ports", I32, 3, (ffi_type* []){P, P, P});
    api.nat_type_name = bind("om_nat_type_name", P, 1, (ffi_type* []){I32});
    api.nat_behavior_name = bind("om_nat_behavior_name", P, 1, (ffi_type* []){I32});
    api.peer_pairs_json = bind("om_agent_peer_pairs_json", I32, 3, (ffi_type* []){P, P, P});
    api.candidate_type_name = bind("om_candidate_type_name", P, 1, (ffi_type* []){I32});
    api.candidate_host = bind("om_candidate_host", I32, 3, (ffi_type* []){P, I32, P});
    api.candidate_srflx = bind("om_candidate_server_reflexive", I32, 5, (ffi_type* []){P, I32, P, I32, P});
    api.candidate_relayed = bind("om_candidate_relayed", I32, 4, (ffi_type* []){P, I32, P, P});
    api.candidate_to_string = bind("om_candidate_to_string", I32, 4, (ffi_type* []){P, P, SZ, P});
    api.candidate_parse = bind("om_candidate_parse", I32, 2, (ffi_type* []){P, P});
    api.candidate_last_error = bind("om_candidate_last_error", P, 0, NULL);
}

/* ---- typed wrappers: each builds the argv of pointers-to-arguments libffi wants ------------- */
static const char* ffi_status_name(om_status s) { return call_ptr(api.status_name, (void*[]){&s}); }
static const char* ffi_status_str(om_status s) { return call_ptr(api.status_str, (void*[]){&s}); }
static void ffi_free(void* p) { call_void(api.free, (void*[]){&p}); }
static void ffi_destroy(om_agent* a) { call_void(api.destroy, (void*[]){&a}); }
static om_status ffi_open(om_agent* a) { return call_i32(api.open_transport, (void*[]){&a}); }
static om_status ffi_close(om_agent* a) { return call_i32(api.close_transport, (void*[]){&a}); }

static const char* ffi_last_error(om_agent* a)
{
    return call_ptr(api.last_error, (void*[]){&a});
}

static om_status ffi_create(om_agent_options* o, om_agent** out, char* err, size_t cap)
{
    return call_i32(api.create, (void*[]){&o, &out, &err, &cap});
}

static om_status ffi_local_address(om_agent* a, char* buf, size_t cap, size_t* needed)
{
    return call_i32(api.local_address, (void*[]){&a, &buf, &cap, &needed});
}

static om_status ffi_mtu(om_agent* a, uint32_t* mtu)
{
    return call_i32(api.transport_mtu, (void*[]){&a, &mtu});
}

static om_status ffi_send(om_agent* a, const char* to, const uint8_t* data, size_t len)
{
    return call_i32(api.send_datagram, (void*[]){&a, &to, &data, &len});
}

static om_status ffi_dispatch(om_agent* a, int32_t timeout_ms, size_t* dispatched)
{
    return call_i32(api.dispatch, (void*[]){&a, &timeout_ms, &dispatched});
}

static om_status ffi_counter(om_agent* a, const char* name, uint64_t* value)
{
    return call_i32(api.counter, (void*[]){&a, &name, &value});
}

static om_status ffi_plugin_call(om_agent* a, const char* plugin, const char* method,
                                 const uint8_t* args, size_t len, uint8_t** result,
                                 size_t* result_len)
{
    return call_i32(api.plugin_call,
                    (void*[]){&a, &plugin, &method, &args, &len, &result, &result_len});
}

/* ---- events --------------------------------------------------------------------------------- */
typedef struct event_log {
    int datagrams;
    char source[OM_ERROR_BUF_SIZE];
    uint8_t data[256];
    size_t len;
    int freed; /* user_data_free calls */
} event_log;

static void record_event(event_log* log, const om_event* e)
{
    if (e->type != OM_EVENT_DATAGRAM) return;
    log->datagrams++;
    snprintf(log->source, sizeof log->source, "%s", e->address ? e->address : "");
    log->len = e->len < sizeof log->data ? e->len : sizeof log->data;
    if (log->len > 0) memcpy(log->data, e->data, log->len);
}

/* A plain C callback (agent A). */
static void plain_on_event(void* user_data, const om_event* event)
{
    record_event((event_log*)user_data, event);
}

static void count_free(void* user_data)
{
    ((event_log*)user_data)->freed++;
}

/* A libffi closure (agent B), the way ctypes.CFUNCTYPE or ffi-napi build callbacks. */
static void closure_on_event(ffi_cif* cif, void* ret, void** args, void* closure_data)
{
    (void)cif;
    (void)ret;
    (void)closure_data;
    record_event(*(event_log**)args[0], *(const om_event**)args[1]);
}

typedef struct event_closure {
    ffi_cif cif;
    ffi_type* arg_types[2];
    ffi_closure* closure; /* writable side */
    om_event_cb code;     /* executable side */
} event_closure;

static int make_event_closure(event_closure* c)
{
    void* code = NULL;
    c->arg_types[0] = &ffi_type_pointer;
    c->arg_types[1] = &ffi_type_pointer;
    c->closure = ffi_closure_alloc(sizeof(ffi_closure), &code);
    if (c->closure == NULL) return 0;
    if (ffi_prep_cif(&c->cif, FFI_DEFAULT_ABI, 2, &ffi_type_void, c->arg_types) != FFI_OK) return 0;
    if (ffi_prep_closure_loc(c->closure, &c->cif, closure_on_event, NULL, code) != FFI_OK) return 0;
    memcpy(&c->code, &code, sizeof c->code); /* object pointer -> function pointer */
    return 1;
}

/* ---- ICE candidates (0.3): the seed's factories, RFC 8445 priorities, RFC 8839 text ---------- */
static const char* ffi_candidate_type_name(om_candidate_type t)
{
    return call_ptr(api.candidate_type_name, (void*[]){&t});
}

static const char* ffi_candidate_last_error(void)
{
    return call_ptr(api.candidate_last_error, NULL);
}

static om_status ffi_candidate_host(const char* ip, int32_t port, om_candidate* out)
{
    return call_i32(api.candidate_host, (void*[]){&ip, &port, &out});
}

static om_status ffi_candidate_to_string(const om_candidate* c, char* buf, size_t cap, size_t* needed)
{
    return call_i32(api.candidate_to_string, (void*[]){&c, &buf, &cap, &needed});
}

static om_status ffi_candidate_parse(const char* text, om_candidate* out)
{
    return call_i32(api.candidate_parse, (void*[]){&text, &out});
}

/* Output structs say their size, as every om_* struct does (ABI-RULES R6). */
static om_candidate* new_candidate(void)
{
    om_candidate* c = calloc(1, sizeof *c);
    c->struct_size = sizeof *c;
    return c;
}

static void check_candidate_names(void)
{
    CHECK(strcmp(ffi_candidate_type_name(OM_CANDIDATE_HOST), "host") == 0);
    CHECK(strcmp(ffi_candidate_type_name(OM_CANDIDATE_SERVER_REFLEXIVE), "srflx") == 0);
    CHECK(strcmp(ffi_candidate_type_name(OM_CANDIDATE_PEER_REFLEXIVE), "prflx") == 0);
    CHECK(strcmp(ffi_candidate_type_name(OM_CANDIDATE_RELAYED), "relay") == 0);
    CHECK(strcmp(ffi_candidate_type_name(99), "unknown") == 0);
}

/* Host: type preference 126, so 2^24*126 + 2^8*65535 + 255; text round-trips through parse. */
static void check_host_candidate(void)
{
    om_candidate* host = new_candidate();
    om_candidate* back = new_candidate();
    char text[256], tiny[8];
    size_t needed = 0;
    CHECK_STATUS(ffi_candidate_host("192.0.2.1", 5000, host), OM_OK);
    CHECK(host->type == OM_CANDIDATE_HOST && host->priority == 2130706431u && host->component == 1);
    CHECK(strcmp(host->address, "192.0.2.1:5000") == 0 && host->related_address[0] == '\0');
    CHECK(host->foundation[0] != '\0');

    CHECK_STATUS(ffi_candidate_to_string(host, tiny, sizeof tiny, &needed), OM_ERR_BUFFER_TOO_SMALL);
    CHECK(needed > sizeof tiny && needed <= sizeof text);
    CHECK_STATUS(ffi_candidate_to_string(host, text, sizeof text, &needed), OM_OK);
    CHECK(strlen(text) + 1 == needed);
    CHECK(strncmp(text, "candidate:", 10) == 0);
    CHECK(strstr(text, " 1 udp 2130706431 192.0.2.1 5000 typ host") != NULL);
    printf("host candidate: %s\n", text);

    CHECK_STATUS(ffi_candidate_parse(text, back), OM_OK);
    CHECK(back->type == OM_CANDIDATE_HOST && back->priority == host->priority);
    CHECK(strcmp(back->address, host->address) == 0 && strcmp(back->foundation, host->foundation) == 0);
    {
        char with_prefix[300];
        snprintf(with_prefix, sizeof with_prefix, "a=%s", text);
        memset(back->address, 0, sizeof back->address);
        CHECK_STATUS(ffi_candidate_parse(with_prefix, back), OM_OK);
        CHECK(strcmp(back->address, "192.0.2.1:5000") == 0);
    }
    /* IPv6 addresses are bracketed in the "ip:port" form. */
    CHECK_STATUS(ffi_candidate_host("2001:db8::1", 5000, host), OM_OK);
    CHECK(strcmp(host->address, "[2001:db8::1]:5000") == 0 && host->priority == 2130706431u);
    free(host);
    free(back);
}

/* Server-reflexive (preference 100) carries its base as raddr/rport; relayed (preference 0)
 * names its TURN server. */
static void check_reflexive_and_relayed(void)
{
    om_candidate* c = new_candidate();
    char text[256];
    const char *pub = "203.0.113.5", *local = "10.0.0.1", *relay = "198.51.100.7", *server = "198.51.100.1";
    int32_t pub_port = 6000, local_port = 4000, relay_port = 7000;
    CHECK_STATUS(call_i32(api.candidate_srflx, (void*[]){&pub, &pub_port, &local, &local_port, &c}), OM_OK);
    CHECK(c->type == OM_CANDIDATE_SERVER_REFLEXIVE && c->priority == 1694498815u);
    CHECK(strcmp(c->address, "203.0.113.5:6000") == 0 && strcmp(c->related_address, "10.0.0.1:4000") == 0);
    CHECK_STATUS(ffi_candidate_to_string(c, text, sizeof text, NULL), OM_OK);
    CHECK(strstr(text, " 203.0.113.5 6000 typ srflx raddr 10.0.0.1 rport 4000") != NULL);

    CHECK_STATUS(call_i32(api.candidate_relayed, (void*[]){&relay, &relay_port, &server, &c}), OM_OK);
    CHECK(c->type == OM_CANDIDATE_RELAYED && c->priority == 16777215u);
    CHECK(strcmp(c->address, "198.51.100.7:7000") == 0 && strstr(c->relay_server, server) != NULL);
    CHECK_STATUS(ffi_candidate_to_string(c, text, sizeof text, NULL), OM_OK);
    CHECK(strstr(text, " 198.51.100.7 7000 typ relay") != NULL);
    free(c);
}

/* Refusals name what is wrong in the calling thread's last error. */
static void check_candidate_errors(void)
{
    om_candidate* c = new_candidate();
    CHECK_STATUS(ffi_candidate_parse("candidate:1 1 udp notanumber 192.0.2.1 5000 typ host", c),
                 OM_ERR_MALFORMED);
    CHECK(ffi_candidate_last_error()[0] != '\0');
    printf("parse refusal: %s\n", ffi_candidate_last_error());
    CHECK(ffi_candidate_host("not-an-ip", 5000, c) != OM_OK);
    CHECK(ffi_candidate_last_error()[0] != '\0');
    CHECK(ffi_candidate_host("192.0.2.1", 0, c) != OM_OK);
    CHECK(ffi_candidate_host("192.0.2.1", 65536, c) != OM_OK);
    free(c);
}

static void check_candidates(void)
{
    check_candidate_names();
    check_host_candidate();
    check_reflexive_and_relayed();
    check_candidate_errors();
}

/* ---- the scenario ---------------------------------------------------------------------------- */
static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void check_library_functions(void)
{
#define CHECK_STATUS_TEXT(name, value, text)                                                  \
    CHECK(strcmp(ffi_status_name(value), "OM_" #name) == 0);                                  \
    CHECK(strcmp(ffi_status_str(value), text) == 0);
    OM_STATUS_MAP(CHECK_STATUS_TEXT)
#undef CHECK_STATUS_TEXT
    CHECK(strcmp(ffi_status_name(-9999), "OM_UNKNOWN_STATUS") == 0);
    CHECK(ffi_status_str(-9999) != NULL);

    CHECK(strcmp((const char*)call_ptr(api.version, NULL), OM_VERSION) == 0);
    CHECK(call_u32(api.version_number, NULL) == OM_VERSION_NUMBER);
    {
        om_log_level level = OM_LOG_WARNING;
        CHECK_STATUS(call_i32(api.log_set_level, (void*[]){&level}), OM_OK);
    }
}

/* Options in malloc'd memory, filled by om_agent_options_init and then by field, as a binding
 * that mirrors the C struct does. */
static om_agent_options* new_options(om_event_cb cb, event_log* log, const char* transport)
{
    om_agent_options* o = malloc(sizeof *o);
    memset(o, 0xAB, sizeof *o); /* init must set every field */
    CHECK_STATUS(call_i32(api.options_init, (void*[]){&o}), OM_OK);
    CHECK(o->struct_size == sizeof *o && o->max_mtu == 1400 && o->stun_port == 3478);
    CHECK(o->server_url == NULL && o->on_event == NULL);
    o->bind_address = "127.0.0.1";
    o->transport_plugin = transport;
    o->event_mode = OM_EVENTS_DISPATCH; /* no callback on a foreign thread */
    o->on_event = cb;
    o->user_data = log;
    o->user_data_free = count_free;
    return o;
}

static void check_failed_create(void)
{
    event_log log = {0};
    om_agent_options* o = new_options(plain_on_event, &log, "no-such-transport");
    om_agent* agent = (om_agent*)&log; /* must be reset to NULL */
    char err[OM_ERROR_BUF_SIZE] = "";
    CHECK(ffi_create(o, &agent, err, sizeof err) != OM_OK);
    CHECK(agent == NULL);
    CHECK(err[0] != '\0');
    CHECK(log.freed == 1);
    printf("create with a missing transport: %s\n", err);
    free(o);
}

/* Dispatches b until a datagram arrived, at most 5 s. */
static void dispatch_until_datagram(om_agent* b, event_log* log)
{
    const double deadline = now_s() + 5.0;
    while (log->datagrams == 0 && now_s() < deadline) {
        size_t n = 0;
        om_status s = ffi_dispatch(b, 100, &n);
        CHECK(s == OM_OK || s == OM_ERR_TIMEOUT);
    }
}

static void check_plugins(om_agent* a)
{
    static const uint8_t empty_array[] = {0x90}; /* msgpack [] */
    char* json = NULL;
    char err[OM_ERROR_BUF_SIZE] = "";
    uint8_t* result = NULL;
    size_t result_len = 0;
    void* null_ptr = NULL;
    char* errp = err;
    size_t cap = sizeof err;
    char** out = &json;

    CHECK_STATUS(call_i32(api.plugins_list_json, (void*[]){&out, &errp, &cap}), OM_OK);
    CHECK(json != NULL && strstr(json, "\"transport-udp\"") != NULL);
    ffi_free(json);
    ffi_free(null_ptr); /* om_free(NULL) is a no-op */

    CHECK_STATUS(ffi_plugin_call(a, "transport-udp", "get_socket_buffers", empty_array,
                                 sizeof empty_array, &result, &result_len),
                 OM_OK);
    CHECK(result != NULL && result_len > 0);
    ffi_free(result);

    /* A failing call leaves its detail in last_error. */
    result = NULL;
    CHECK_STATUS(ffi_plugin_call(a, "transport-udp", "no_such_method", empty_array,
                                 sizeof empty_array, &result, &result_len),
                 OM_ERR_NOT_FOUND);
    CHECK(result == NULL);
    CHECK(ffi_last_error(a)[0] != '\0');
    printf("last_error after a failed om_plugin_call: %s\n", ffi_last_error(a));
}

static void check_counters(om_agent* b)
{
    uint64_t received = 0;
    char* json = NULL;
    char** out = &json;
    CHECK_STATUS(ffi_counter(b, "transport.datagrams_received", &received), OM_OK);
    CHECK(received == 1);
    CHECK_STATUS(call_i32(api.counters_json, (void*[]){&b, &out}), OM_OK);
    CHECK(json != NULL && strstr(json, "\"transport.datagrams_received\"") != NULL);
    ffi_free(json);
}

static void run_scenario(void)
{
    static const char payload[] = "ffi: a datagram sent through libffi";
    event_log log_a = {0}, log_b = {0};
    event_closure closure;
    om_agent_options *opt_a, *opt_b;
    om_agent *a = NULL, *b = NULL;
    char err[OM_ERROR_BUF_SIZE] = "";
    char addr_a[OM_ERROR_BUF_SIZE], addr_b[OM_ERROR_BUF_SIZE], tiny[4];
    size_t needed = 0;
    uint32_t mtu = 0;
    om_agent* no_agent = NULL;

    if (!make_event_closure(&closure)) {
        fprintf(stderr, "ffi_all: cannot build the event closure\n");
        ++check_failures;
        return;
    }
    opt_a = new_options(plain_on_event, &log_a, "udp");
    opt_b = new_options(closure.code, &log_b, "udp");
    CHECK_STATUS(ffi_create(opt_a, &a, err, sizeof err), OM_OK);
    CHECK_STATUS(ffi_create(opt_b, &b, err, sizeof err), OM_OK);
    if (a == NULL || b == NULL) {
        fprintf(stderr, "ffi_all: om_agent_create failed: %s\n", err);
        ffi_destroy(a);
        ffi_destroy(b);
        return;
    }
    CHECK_STATUS(ffi_open(a), OM_OK);
    CHECK_STATUS(ffi_open(b), OM_OK);

    /* Too small a buffer says how much is needed. */
    CHECK_STATUS(ffi_local_address(a, tiny, sizeof tiny, &needed), OM_ERR_BUFFER_TOO_SMALL);
    CHECK(needed > sizeof tiny && needed <= sizeof addr_a);
    CHECK_STATUS(ffi_local_address(a, addr_a, sizeof addr_a, &needed), OM_OK);
    CHECK(strlen(addr_a) + 1 == needed && strncmp(addr_a, "127.0.0.1:", 10) == 0);
    CHECK_STATUS(ffi_local_address(b, addr_b, sizeof addr_b, NULL), OM_OK);

    CHECK_STATUS(ffi_mtu(a, &mtu), OM_OK);
    CHECK(mtu > 0 && mtu <= 1400);

    CHECK_STATUS(ffi_send(a, addr_b, (const uint8_t*)payload, sizeof payload), OM_OK);
    dispatch_until_datagram(b, &log_b);
    CHECK(log_b.datagrams == 1);
    CHECK(strcmp(log_b.source, addr_a) == 0);
    CHECK(log_b.len == sizeof payload && memcmp(log_b.data, payload, sizeof payload) == 0);
    {
        size_t ran = 0; /* a's own events (transport opened) */
        om_status s = ffi_dispatch(a, 0, &ran);
        CHECK(s == OM_OK || s == OM_ERR_TIMEOUT);
    }

    check_counters(b);
    check_plugins(a);

    CHECK_STATUS(ffi_close(a), OM_OK);
    CHECK_STATUS(ffi_send(a, addr_b, (const uint8_t*)payload, sizeof payload), OM_ERR_CLOSED);

    ffi_destroy(a);
    ffi_destroy(b);
    ffi_destroy(no_agent); /* destroy(NULL) is a no-op */
    CHECK(log_a.freed == 1 && log_b.freed == 1);
    ffi_closure_free(closure.closure);
    free(opt_a);
    free(opt_b);
}

/* ---- signaling: two agents register with the server and relay one message -------------------- */
typedef struct message_log {
    int messages;
    char from[64];
    atomic_int requests; /* accept_peer calls; they run on the loop thread */
    char requester[64];
} message_log;

/* accept_peer as a libffi closure, as a binding's decision callback would be: records the
 * requester and accepts. */
static void closure_accept_peer(ffi_cif* cif, void* ret, void** args, void* closure_data)
{
    message_log* log = *(message_log**)args[0];
    const char* peer = *(const char**)args[1];
    (void)cif;
    (void)closure_data;
    snprintf(log->requester, sizeof log->requester, "%s", peer ? peer : "");
    atomic_fetch_add(&log->requests, 1);
    *(ffi_arg*)ret = 1;
}

typedef int32_t (*accept_peer_fn)(void*, const char*, om_nat_type, char*, size_t);

typedef struct accept_closure {
    ffi_cif cif;
    ffi_type* arg_types[5];
    ffi_closure* closure;
    accept_peer_fn code;
} accept_closure;

static int make_accept_closure(accept_closure* c)
{
    void* code = NULL;
    c->arg_types[0] = &ffi_type_pointer;
    c->arg_types[1] = &ffi_type_pointer;
    c->arg_types[2] = &ffi_type_sint32;
    c->arg_types[3] = &ffi_type_pointer;
    c->arg_types[4] = size_type();
    c->closure = ffi_closure_alloc(sizeof(ffi_closure), &code);
    if (c->closure == NULL) return 0;
    if (ffi_prep_cif(&c->cif, FFI_DEFAULT_ABI, 5, &ffi_type_sint32, c->arg_types) != FFI_OK) return 0;
    if (ffi_prep_closure_loc(c->closure, &c->cif, closure_accept_peer, NULL, code) != FFI_OK) return 0;
    memcpy(&c->code, &code, sizeof c->code);
    return 1;
}

static void on_message(void* user_data, const om_event* e)
{
    message_log* log = (message_log*)user_data;
    if (e->type != OM_EVENT_MESSAGE) return;
    log->messages++;
    snprintf(log->from, sizeof log->from, "%s", e->peer_id ? e->peer_id : "");
}

static void run_agent_signaling(int32_t port)
{
    char url[64];
    message_log la = {0}, lb = {0};
    accept_closure accept;
    om_agent *a = NULL, *b = NULL;
    om_agent_options *oa = new_options(NULL, NULL, "udp"), *ob = new_options(NULL, NULL, "udp");
    const char* peer = "ffi-b";
    om_transport_type via = OM_TRANSPORT_SERVER_RELAY;
    om_peer_state* state = calloc(1, sizeof *state);
    const uint8_t payload[] = {'h', 'i'};
    const uint8_t* data = payload;
    size_t len = sizeof payload;
    om_delivery_mode mode = OM_DELIVERY_RELIABLE_ORDERED;
    if (!make_accept_closure(&accept)) {
        fprintf(stderr, "ffi_all: cannot build the accept_peer closure\n");
        ++check_failures;
        return;
    }
    snprintf(url, sizeof url, "ws://127.0.0.1:%d", (int)port);
    oa->server_url = url;
    oa->agent_id = "ffi-a";
    oa->on_event = on_message;
    oa->user_data = &la;
    oa->user_data_free = NULL;
    ob->server_url = url;
    ob->agent_id = "ffi-b";
    ob->on_event = on_message;
    ob->user_data = &lb;
    ob->user_data_free = NULL;
    ob->accept_peer = accept.code;
    ob->exclude_interfaces = "docker*,veth*"; /* bound to 127.0.0.1: changes nothing */
    CHECK_STATUS(ffi_create(oa, &a, NULL, 0), OM_OK);
    CHECK_STATUS(ffi_create(ob, &b, NULL, 0), OM_OK);
    CHECK_STATUS(call_i32(api.connect, (void*[]){&a}), OM_OK);
    CHECK_STATUS(call_i32(api.connect, (void*[]){&b}), OM_OK);
    state->struct_size = sizeof *state;
    CHECK_STATUS(call_i32(api.connect_peer, (void*[]){&a, &peer, &via, &state}), OM_OK);
    CHECK(state->status == OM_PEER_CONNECTED && state->active_transport == OM_TRANSPORT_SERVER_RELAY);
    CHECK(atomic_load(&lb.requests) == 1 && strcmp(lb.requester, "ffi-a") == 0);
    {
        /* The relay was asked for: no candidate pair was checked, the list is an empty array. */
        char* pairs = NULL;
        char** out = &pairs;
        CHECK_STATUS(call_i32(api.peer_pairs_json, (void*[]){&a, &peer, &out}), OM_OK);
        CHECK(pairs != NULL && pairs[0] == '[');
        CHECK(state->pairs_checked == 0);
        ffi_free(pairs);
    }
    CHECK_STATUS(call_i32(api.send, (void*[]){&a, &peer, &data, &len, &mode}), OM_OK);
    {
        const double deadline = now_s() + 5.0;
        while (lb.messages == 0 && now_s() < deadline) ffi_dispatch(b, 100, NULL);
    }
    CHECK(lb.messages == 1 && strcmp(lb.from, "ffi-a") == 0);
    {
        /* The same on channel 5, and each agent's certificate fingerprint (95 chars). */
        uint32_t channel = 5;
        char* fp = calloc(1, OM_FINGERPRINT_STRLEN);
        size_t cap = OM_FINGERPRINT_STRLEN;
        const double deadline = now_s() + 5.0;
        CHECK_STATUS(call_i32(api.send_on_channel, (void*[]){&a, &peer, &data, &len, &mode, &channel}), OM_OK);
        while (lb.messages < 2 && now_s() < deadline) ffi_dispatch(b, 100, NULL);
        CHECK(lb.messages == 2);
        CHECK_STATUS(call_i32(api.fingerprint, (void*[]){&a, &fp, &cap}), OM_OK);
        CHECK(strlen(fp) == OM_FINGERPRINT_STRLEN - 1 && fp[2] == ':');
        cap = 10;
        CHECK_STATUS(call_i32(api.fingerprint, (void*[]){&a, &fp, &cap}), OM_ERR_BUFFER_TOO_SMALL);
        free(fp);
    }
    CHECK_STATUS(call_i32(api.peer_state, (void*[]){&a, &peer, &state}), OM_OK);
    CHECK(state->messages_sent == 2);
    {
        /* The server announced its STUN port; discovery ran before registration. On loopback
         * nothing translates: Open, and the server has one IP. */
        om_nat_report* report = calloc(1, sizeof *report);
        int32_t refresh = 0;
        report->struct_size = sizeof *report;
        CHECK_STATUS(call_i32(api.nat_info, (void*[]){&a, &refresh, &report}), OM_OK);
        CHECK(report->nat_type == OM_NAT_OPEN && strncmp(report->mapped_address, "127.0.0.1:", 10) == 0);
        CHECK(strcmp(report->mapped_address, report->local_address) == 0 && report->server_ips_used == 1);
        CHECK(strcmp(call_ptr(api.nat_type_name, (void*[]){&report->nat_type}), "Open") == 0);
        /* No alternate port or address: the behaviour tests cannot run, only Test I. */
        CHECK(strcmp(call_ptr(api.nat_behavior_name, (void*[]){&report->mapping}), "Unknown") == 0);
        CHECK(report->filtering == 0);
        {
            int32_t bogus = 99;
            CHECK(strcmp(call_ptr(api.nat_type_name, (void*[]){&bogus}), "Unknown") == 0);
            CHECK(strcmp(call_ptr(api.nat_behavior_name, (void*[]){&bogus}), "Unknown") == 0);
        }
        refresh = 2; /* refused, with a message */
        CHECK_STATUS(call_i32(api.nat_info, (void*[]){&a, &refresh, &report}), OM_ERR_INVALID_ARGUMENT);
        free(report);
    }
    CHECK_STATUS(call_i32(api.disconnect, (void*[]){&a}), OM_OK);
    ffi_destroy(a);
    ffi_destroy(b);
    ffi_closure_free(accept.closure);
    free(state);
    free(oa);
    free(ob);
}

/* ---- the server: an open one on 127.0.0.1 with a free port, its counters, a token ---------- */
static void run_server_scenario(void)
{
    om_server_options* o = malloc(sizeof *o);
    om_server* server = NULL;
    om_server* no_server = NULL;
    om_server** out = &server;
    char err[OM_ERROR_BUF_SIZE] = "";
    char* errp = err;
    size_t cap = sizeof err;
    int32_t port = 0;
    int32_t* port_out = &port;
    uint64_t value = 1;
    uint64_t* value_out = &value;
    const char* counter_name = "auth.failures";
    char* text = NULL;
    char** text_out = &text;
    const char* secret = "ffi-secret";
    const char* agent = "ffi-agent";
    int64_t ttl = 60;
    char* token = NULL;
    char** token_out = &token;

    memset(o, 0xAB, sizeof *o); /* init must set every field */
    CHECK_STATUS(call_i32(api.server_options_init, (void*[]){&o}), OM_OK);
    CHECK(o->struct_size == sizeof *o && o->http_port == 8080 && o->max_frame_bytes == 65536 &&
          o->stun_port == 3478 && o->stun_rate_limit == 100 && o->stun_threads == 0);
    o->bind = "127.0.0.1";
    o->http_port = 0;
    o->stun_port = -1; /* a free port: agents learn it from the handshake */
    o->open = 1;
    CHECK_STATUS(call_i32(api.server_create, (void*[]){&o, &out, &errp, &cap}), OM_OK);
    CHECK(server != NULL);
    if (server == NULL) {
        fprintf(stderr, "ffi_all: om_server_create failed: %s\n", err);
        free(o);
        return;
    }
    CHECK_STATUS(call_i32(api.server_http_port, (void*[]){&server, &port_out}), OM_ERR_STATE);
    CHECK(((const char*)call_ptr(api.server_last_error, (void*[]){&server}))[0] != '\0');
    CHECK_STATUS(call_i32(api.server_start, (void*[]){&server}), OM_OK);
    CHECK_STATUS(call_i32(api.server_http_port, (void*[]){&server, &port_out}), OM_OK);
    CHECK(port > 0 && port < 65536);
    {
        int32_t stun = 0, alt = -5;
        int32_t *stun_out = &stun, *alt_out = &alt;
        CHECK_STATUS(call_i32(api.server_stun_ports, (void*[]){&server, &stun_out, &alt_out}), OM_OK);
        CHECK(stun > 0 && stun < 65536 && alt == 0);
    }
    CHECK_STATUS(call_i32(api.server_counter, (void*[]){&server, &counter_name, &value_out}), OM_OK);
    CHECK(value == 0);
    CHECK_STATUS(call_i32(api.server_metrics_text, (void*[]){&server, &text_out}), OM_OK);
    CHECK(text != NULL);
    ffi_free(text);
    run_agent_signaling(port);
    CHECK_STATUS(call_i32(api.server_stop, (void*[]){&server}), OM_OK);
    CHECK_STATUS(call_i32(api.server_stop, (void*[]){&server}), OM_OK); /* idempotent */
    call_void(api.server_destroy, (void*[]){&server});
    call_void(api.server_destroy, (void*[]){&no_server}); /* destroy(NULL) is a no-op */

    CHECK_STATUS(call_i32(api.token_create, (void*[]){&secret, &agent, &ttl, &token_out, &errp, &cap}), OM_OK);
    CHECK(token != NULL && strchr(token, '.') != NULL);
    ffi_free(token);
    ttl = 0; /* refused, with a message */
    CHECK_STATUS(call_i32(api.token_create, (void*[]){&secret, &agent, &ttl, &token_out, &errp, &cap}),
                 OM_ERR_INVALID_ARGUMENT);
    CHECK(err[0] != '\0');
    free(o);
}

/* ---- coverage: every name the map exports must have been called ---------------------------- */
static int was_called(const char* name)
{
    size_t i;
    for (i = 0; i < binding_count; ++i)
        if (strcmp(bindings[i].name, name) == 0) return bindings[i].calls > 0;
    return 0;
}

/* Reads the global: names of a linker version script and checks each was called. */
static void check_coverage(const char* map_path)
{
    FILE* f = fopen(map_path, "r");
    char text[16384];
    size_t len;
    char *p, *token;
    int in_global = 0, names = 0;
    if (f == NULL) {
        fprintf(stderr, "ffi_all: cannot open %s\n", map_path);
        ++check_failures;
        return;
    }
    len = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[len] = '\0';
    /* Blank out comments, then split on blanks and punctuation. */
    while ((p = strstr(text, "/*")) != NULL) {
        char* end = strstr(p + 2, "*/");
        size_t n = end ? (size_t)(end + 2 - p) : strlen(p);
        memset(p, ' ', n);
    }
    /* "}" ends a node's global list: "} OM_1;" names the parent node, not a symbol. */
    for (token = strtok(text, " \t\r\n;{"); token != NULL; token = strtok(NULL, " \t\r\n;{")) {
        if (strcmp(token, "global:") == 0) {
            in_global = 1;
        } else if (token[0] == '}' || strcmp(token, "local:") == 0 || strchr(token, ':') != NULL) {
            in_global = 0;
        } else if (in_global) {
            ++names;
            if (!was_called(token)) {
                fprintf(stderr, "ffi_all: exported but not called through libffi: %s\n", token);
                ++check_failures;
            }
        }
    }
    printf("ffi_all: %d exported functions, %zu bound\n", names, binding_count);
    CHECK(names > 0);
}

int main(int argc, char** argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s <liborbitmesh.so> <orbitmesh.map>\n", argv[0]);
        return 2;
    }
    library = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (library == NULL) {
        fprintf(stderr, "ffi_all: dlopen: %s\n", dlerror());
        return 1;
    }
    bind_all();
    check_library_functions();
    check_failed_create();
    check_candidates();
    run_scenario();
    run_server_scenario();
    check_coverage(argv[2]);
    /* No dlclose, like ctypes: the kernel's plugin registry lives for the process. */
    return check_exit_code("ffi_all");
}
