/*
 * OrbitMesh plugin C ABI: the second waist.
 *
 * A plugin is a shared library that exports exactly one symbol, om_plugin_negotiate
 * (OM_PLUGIN_DEFINE writes it). The host offers its ABI range and its host API table; the
 * plugin writes back the version both support and its static descriptor, and does nothing else.
 * A JSON manifest "<name>.om.json" beside the library lets the kernel list plugins unloaded.
 *
 * Rules (docs/ABI.md, docs/plugins.md):
 *  - every struct starts with uint32_t struct_size and only grows at its end; each addition is
 *    marked with the ABI minor that added it. The host reads only what struct_size covers;
 *  - plugins do not link liborbitmesh: everything they need is in om_host_api;
 *  - every vtable call happens on the owning agent's loop thread, except om_host_api.post,
 *    which is safe from any thread;
 *  - a function returning int32_t returns an om_status (OM_OK = 0, failures negative); a plugin
 *    says why with host->set_error before returning the failure.
 */
#ifndef ORBITMESH_PLUGIN_H
#define ORBITMESH_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#include "orbitmesh.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------------------------ */
/* Plugin ABI version: (major << 16) | minor. A new minor only appends; a new major breaks.   */
/*  1.0  initial: negotiation, descriptor, host API, one vtable per kind                      */
/*  1.1  descriptor: extension methods (functions, function_count);                           */
/*       transport vtable: mtu; host API: counter_add, config_get                             */
/*  1.2  delivery: paths (om_delivery_path), roles, channels, pinned fingerprints, session   */
/*       events (established, writable, failed), GSO-shaped packet output, richer metrics    */
/*  1.3  delivery: send_messages (a run of messages in one call, one flush), metrics say the  */
/*       largest unreliable and sequenced message on the current path                        */
/*  1.4  turn: the request gains an event callback (the allocation lost, a permission        */
/*       refused); reflexive_address (the Allocate answer's XOR-MAPPED-ADDRESS)               */
/* ------------------------------------------------------------------------------------------ */
#define OM_PLUGIN_ABI_MAKE(major, minor) ((uint32_t)(((uint32_t)(major) << 16) | (uint32_t)(minor)))
#define OM_PLUGIN_ABI_MAJOR_OF(v) ((uint32_t)(v) >> 16)
#define OM_PLUGIN_ABI_MINOR_OF(v) ((uint32_t)(v)&0xFFFFu)
#define OM_PLUGIN_ABI_VERSION_MAJOR 1
#define OM_PLUGIN_ABI_VERSION_MINOR 4
/* A plain integer expression, usable in #if. */
#define OM_PLUGIN_ABI_VERSION ((OM_PLUGIN_ABI_VERSION_MAJOR << 16) | OM_PLUGIN_ABI_VERSION_MINOR)

#define OM_PLUGIN_ENTRY_SYMBOL "om_plugin_negotiate"
/* Version of the "<name>.om.json" manifest format. */
#define OM_PLUGIN_MANIFEST_FORMAT "1.0"

#if defined(_WIN32)
#  define OM_PLUGIN_EXPORT __declspec(dllexport)
#else
#  define OM_PLUGIN_EXPORT __attribute__((visibility("default")))
#endif

/* ------------------------------------------------------------------------------------------ */
/* Plain values shared by the kinds                                                           */
/* ------------------------------------------------------------------------------------------ */
typedef int32_t om_plugin_kind;
enum {
    OM_PLUGIN_KIND_TRANSPORT = 1,
    OM_PLUGIN_KIND_NAT_DISCOVERY = 2,
    OM_PLUGIN_KIND_STRATEGY = 3,
    OM_PLUGIN_KIND_TURN = 4,
    OM_PLUGIN_KIND_DELIVERY = 5
};

/* Descriptor flags. */
enum {
    /* A transport that wraps another one (create receives `inner`), such as netsim. */
    OM_PLUGIN_FLAG_DECORATOR = 1u << 0
};

/* An IPv4 or IPv6 transport address; bytes in network order. */
typedef struct om_address {
    uint16_t family; /* 4 or 6; 0 = none */
    uint16_t port;   /* host order */
    uint32_t scope_id;
    uint8_t bytes[16]; /* IPv4 uses the first 4 */
} om_address;

/* Longest text form of an address, "[ffff:...:ffff%4294967295]:65535" with its NUL. */
#define OM_ADDRESS_STRLEN 64

/* One datagram. Received datagrams are borrowed for the duration of the sink call. */
typedef struct om_datagram {
    const uint8_t* data;
    size_t len;
    om_address peer; /* destination when sending, source when receiving */
} om_datagram;

/* ------------------------------------------------------------------------------------------ */
/* Host API: the only way a plugin reaches the kernel (ABI-RULES R11)                         */
/* ------------------------------------------------------------------------------------------ */

/* Identifies one plugin instance inside one agent: log prefix, counters, timers, config. */
typedef struct om_host_ctx om_host_ctx;

typedef void (*om_host_task_fn)(void* user_data);
typedef void (*om_host_timer_fn)(void* user_data, uint64_t timer_id);

typedef struct om_host_api {
    uint32_t struct_size;
    uint32_t abi_version; /* the kernel's OM_PLUGIN_ABI_VERSION */

    /* Log through the kernel's logger (om_log_level), prefixed with the plugin's name. */
    void (*log)(om_host_ctx* ctx, int32_t level, const char* message);
    /* Monotonic clock in microseconds. */
    uint64_t (*now_us)(om_host_ctx* ctx);
    /* One-shot (interval_us == 0) or periodic timer on the agent's loop thread. The timer id is
     * never 0. Timers die with the plugin instance. */
    int32_t (*timer_start)(om_host_ctx* ctx, uint64_t delay_us, uint64_t interval_us,
                           om_host_timer_fn fn, void* user_data, uint64_t* out_timer_id);
    /* Cancelling an id that already fired or was cancelled is OM_OK. */
    int32_t (*timer_cancel)(om_host_ctx* ctx, uint64_t timer_id);
    /* Runs fn(user_data) on the agent's loop thread. The one host function that is safe from
     * any thread: a plugin with a blocking worker hands its results back through it. */
    int32_t (*post)(om_host_ctx* ctx, om_host_task_fn fn, void* user_data);
    /* Records the detail of the failure the plugin is about to return; the kernel adds it to
     * the agent's last error. */
    void (*set_error)(om_host_ctx* ctx, const char* message);
    /* Memory the host may free or that crosses the waist (ABI-RULES R18). */
    void* (*alloc)(size_t size);
    void (*free)(void* ptr);
    /* Sends datagrams through the agent's whole transport stack (NAT discovery, TURN and
     * delivery use it; transports do not). */
    int32_t (*send_datagram)(om_host_ctx* ctx, const om_datagram* datagram);
    /* Text form of an address into buf (OM_ADDRESS_STRLEN is enough) and its parser, which
     * accepts "1.2.3.4:5", "[::1]:5" and, with default_port, a bare address. */
    int32_t (*address_format)(const om_address* address, char* buf, size_t cap);
    int32_t (*address_parse)(const char* text, uint16_t default_port, om_address* out);

    /* Added in ABI 1.1 */
    /* Adds delta to the agent counter "plugin.<plugin name>.<name>". */
    void (*counter_add)(om_host_ctx* ctx, const char* name, int64_t delta);
    /* The plugin's setting `key` from the agent's plugin_options ("<plugin>.<key>=value"),
     * NULL when unset. Borrowed; valid for the instance's lifetime. */
    const char* (*config_get)(om_host_ctx* ctx, const char* key);
} om_host_api;

/* ------------------------------------------------------------------------------------------ */
/* Extension methods (Added in ABI 1.1), called through libffi by om_plugin_call             */
/* ------------------------------------------------------------------------------------------ */
/*
 * signature grammar:  RET "(" [ARG ("," ARG)*] ")"
 *   RET  = void | status | bool | i32 | u32 | i64 | u64 | f64
 *   ARG  = bool | i32 | u32 | i64 | u64 | f64 | str | bytes
 *        | out_bool | out_i32 | out_u32 | out_i64 | out_u64 | out_f64
 * The C function always receives the plugin instance (void*) first, then one C parameter per
 * ARG: str is const char*, bytes is (const uint8_t*, size_t), out_X is a pointer to X.
 * bool is int32_t 0/1 in C. "status" is an om_status that the kernel turns into an error.
 * Example: "status(u32,out_u32)" is int32_t fn(void* instance, uint32_t, uint32_t*).
 */
typedef struct om_plugin_function {
    const char* name;
    const char* signature;
    void (*fn)(void); /* cast to the real type given by the signature */
    const char* doc;  /* one line for humans, may be NULL */
} om_plugin_function;

/* ------------------------------------------------------------------------------------------ */
/* Instance creation, shared by every kind                                                    */
/* ------------------------------------------------------------------------------------------ */
typedef struct om_plugin_create_args {
    uint32_t struct_size;
    const om_host_api* host;
    om_host_ctx* ctx;
    const char* agent_id; /* may be NULL */
} om_plugin_create_args;

/* ------------------------------------------------------------------------------------------ */
/* Kind: transport                                                                            */
/* ------------------------------------------------------------------------------------------ */

/* Where a transport hands received datagrams, called on the loop thread. */
typedef void (*om_datagram_sink_fn)(void* sink_user_data, const om_datagram* datagram);

struct om_transport_vtbl;
/* The transport a decorator wraps. */
typedef struct om_transport_ref {
    const struct om_transport_vtbl* vtbl;
    void* instance;
} om_transport_ref;

typedef struct om_transport_create_args {
    uint32_t struct_size;
    om_plugin_create_args base;
    /* Every received datagram goes here, during drain or later (a decorator that delays). */
    om_datagram_sink_fn sink;
    void* sink_user_data;
    /* Decorators only: the transport below. Its datagrams reach the decorator through the
     * decorator's inner_received slot. vtbl is NULL for a bottom transport. */
    om_transport_ref inner;
} om_transport_create_args;

typedef struct om_transport_vtbl {
    uint32_t struct_size;
    /* required */
    int32_t (*create)(const om_transport_create_args* args, void** out_instance);
    void (*destroy)(void* instance);
    /* Binds to bind_address ("ip:port", port 0 = any) and becomes ready to send. */
    int32_t (*open)(void* instance, const char* bind_address);
    void (*close)(void* instance);
    /* Sends count datagrams; *out_sent receives how many left (a full socket buffer stops
     * early with OM_OK). */
    int32_t (*send)(void* instance, const om_datagram* batch, size_t count, size_t* out_sent);
    /* A descriptor the kernel polls for readability, -1 when none. */
    int32_t (*poll_fd)(void* instance);
    /* Reads up to max datagrams without blocking, handing each to the sink. */
    int32_t (*drain)(void* instance, size_t max, size_t* out_count);
    int32_t (*local_address)(void* instance, om_address* out);
    /* Required when the descriptor has OM_PLUGIN_FLAG_DECORATOR: a datagram from `inner`. */
    void (*inner_received)(void* instance, const om_datagram* datagram);

    /* Added in ABI 1.1 */
    /* Largest payload the transport carries without fragmentation; absent = max_mtu. */
    uint32_t (*mtu)(void* instance);
} om_transport_vtbl;

/* ------------------------------------------------------------------------------------------ */
/* Kind: NAT discovery (RFC 5780 behaviour discovery over the agent's transport)              */
/* ------------------------------------------------------------------------------------------ */
typedef int32_t om_nat_behavior;
enum {
    OM_NAT_BEHAVIOR_UNKNOWN = 0,
    OM_NAT_BEHAVIOR_ENDPOINT_INDEPENDENT = 1,
    OM_NAT_BEHAVIOR_ADDRESS_DEPENDENT = 2,
    OM_NAT_BEHAVIOR_ADDRESS_AND_PORT_DEPENDENT = 3
};

typedef struct om_nat_info {
    uint32_t struct_size;
    om_nat_type nat_type;
    om_nat_behavior mapping;
    om_nat_behavior filtering;
    om_address mapped_address;
    om_address local_address;
    int32_t hairpin;          /* -1 unknown, 0 no, 1 yes */
    int32_t server_ips_used;  /* 1 when the server offered a single IP */
} om_nat_info;

typedef void (*om_nat_done_fn)(void* user_data, int32_t status, const om_nat_info* info);

typedef struct om_nat_request {
    uint32_t struct_size;
    om_address server;      /* primary STUN server */
    int32_t timeout_ms;     /* overall budget: done is called within it */
    om_nat_done_fn done;    /* called once on the loop thread, never from inside start() */
    void* done_user_data;
    /* Appended in kernel 0.2 (read only when struct_size covers it): the transport's own
     * address as the route to the server sees it (a wildcard bind resolved to the source IP the
     * kernel picks), so that a mapped address equal to it means no NAT (Open). */
    om_address local_address;
} om_nat_request;

typedef struct om_nat_discovery_vtbl {
    uint32_t struct_size;
    int32_t (*create)(const om_plugin_create_args* args, void** out_instance);
    void (*destroy)(void* instance);
    /* Starts the tests; sends through host->send_datagram. */
    int32_t (*start)(void* instance, const om_nat_request* request);
    /* A STUN datagram (RFC 7983 first byte 0-3) for this plugin. Returns 1 when consumed. */
    int32_t (*on_datagram)(void* instance, const om_datagram* datagram);
    void (*cancel)(void* instance);
} om_nat_discovery_vtbl;

/* ------------------------------------------------------------------------------------------ */
/* Kind: strategy (seed "Connection Strategy Selection")                                      */
/* ------------------------------------------------------------------------------------------ */
typedef struct om_strategy_input {
    uint32_t struct_size;
    om_nat_type local_nat;
    om_nat_type remote_nat;
    int32_t prefer_p2p;
    int32_t fallback_to_relay;
    int32_t turn_available;
    int32_t initiator; /* 1 when this agent asked for the connection */
} om_strategy_input;

#define OM_STRATEGY_MAX_STEPS 4
typedef struct om_strategy_output {
    uint32_t struct_size;
    om_strategy strategy;                         /* what the state reports */
    int32_t step_count;                           /* strategies to try in order */
    om_strategy steps[OM_STRATEGY_MAX_STEPS];
} om_strategy_output;

typedef struct om_candidate_pair_info {
    om_address local;
    om_address remote;
    int32_t local_type;  /* 0 host, 1 server-reflexive, 2 peer-reflexive, 3 relayed */
    int32_t remote_type;
    uint64_t priority;   /* RFC 8445 §6.1.2.3 pair priority */
} om_candidate_pair_info;

typedef struct om_strategy_vtbl {
    uint32_t struct_size;
    int32_t (*create)(const om_plugin_create_args* args, void** out_instance);
    void (*destroy)(void* instance);
    int32_t (*choose)(void* instance, const om_strategy_input* input, om_strategy_output* output);
    /* Optional: reorders pairs in place, first checked first. */
    int32_t (*order_pairs)(void* instance, const om_strategy_input* input,
                           om_candidate_pair_info* pairs, size_t count);
} om_strategy_vtbl;

/* ------------------------------------------------------------------------------------------ */
/* Kind: TURN client (RFC 8656)                                                                */
/* ------------------------------------------------------------------------------------------ */
typedef void (*om_turn_allocated_fn)(void* user_data, int32_t status, const om_address* relayed);

/* Added in ABI 1.4: what happens to an allocation after it was made. */
typedef int32_t om_turn_event_type;
enum {
    OM_TURN_EVENT_LOST = 1,           /* the allocation is gone: a refresh refused or unanswered,
                                         the server's connection closed; nothing is relayed now */
    OM_TURN_EVENT_PERMISSION_FAILED = 2 /* a permission or channel for `peer` was refused */
};
typedef void (*om_turn_event_fn)(void* user_data, om_turn_event_type type, int32_t status, const om_address* peer,
                                 const char* message);

typedef struct om_turn_request {
    uint32_t struct_size;
    om_address server;
    const char* username;
    const char* password;
    int32_t timeout_ms;
    om_turn_allocated_fn done;
    void* done_user_data;
    /* Payloads that arrive from peers through the relay, unwrapped. */
    om_datagram_sink_fn sink;
    void* sink_user_data;

    /* Added in ABI 1.4 (read only when struct_size covers it) */
    om_turn_event_fn on_event; /* may be NULL; called on the loop thread */
    void* event_user_data;
} om_turn_request;

typedef struct om_turn_vtbl {
    uint32_t struct_size;
    int32_t (*create)(const om_plugin_create_args* args, void** out_instance);
    void (*destroy)(void* instance);
    /* Allocates and keeps the allocation refreshed until release. */
    int32_t (*allocate)(void* instance, const om_turn_request* request);
    int32_t (*create_permission)(void* instance, const om_address* peer);
    /* Sends to peer through the relay (ChannelData once a channel is bound, else Send). */
    int32_t (*send)(void* instance, const om_datagram* datagram);
    /* A datagram from the TURN server (STUN or ChannelData). Returns 1 when consumed. */
    int32_t (*on_datagram)(void* instance, const om_datagram* datagram);
    void (*release)(void* instance);

    /* Added in ABI 1.4 */
    /* Optional: the server-reflexive address the Allocate answer carried (XOR-MAPPED-ADDRESS).
     * OM_ERR_NOT_FOUND before an allocation succeeded or when the answer had none. */
    int32_t (*reflexive_address)(void* instance, om_address* out);
} om_turn_vtbl;

/* ------------------------------------------------------------------------------------------ */
/* Kind: delivery (messages <-> datagrams, acks, retransmission, metrics)                     */
/* ------------------------------------------------------------------------------------------ */
/*
 * One session per peer. The kernel owns the paths (a direct UDP pair, the server relay, TURN);
 * the session only sees path ids and never addresses. A session starts on one path and is told
 * when the kernel moves it to another (path_changed); the client side migrates (only a QUIC
 * client may), the server side follows the packets. Everything a session sends leaves through
 * send_packets on the path id it names; every packet of the peer arrives through on_packet with
 * the path id it came over. Who owns the wire: the session's packets are the whole datagram on a
 * direct path (RFC 9443 first byte 64-127 or 192-255; the kernel demultiplexes by source
 * address, see docs/protocol.md) and the whole payload of a relay message.
 */
typedef struct om_delivery_metrics {
    uint32_t struct_size;
    double rtt_ms;
    uint64_t bytes_sent;
    uint64_t bytes_received;
    uint64_t messages_sent;
    uint64_t messages_received;
    uint64_t retransmits;
    double packet_loss; /* 0..1 */

    /* Added in ABI 1.2 */
    double rtt_var_ms;
    double min_rtt_ms;
    uint64_t cwnd;            /* congestion window, bytes */
    uint64_t bytes_in_flight;
    uint64_t packets_sent;
    uint64_t packets_received;
    uint64_t packets_lost;
    uint64_t send_queue_bytes; /* accepted from the application, not yet acknowledged */
    uint64_t send_queue_limit; /* send_message answers OM_ERR_WOULD_BLOCK beyond it */
    char congestion_control[16];      /* "cubic", "reno", "bbr", "bbr2" */
    char cipher_suite[64];            /* "TLS_AES_128_GCM_SHA256"; "" before the handshake */
    char local_fingerprint[OM_FINGERPRINT_STRLEN];
    char remote_fingerprint[OM_FINGERPRINT_STRLEN]; /* the certificate the peer presented */
    int32_t established;      /* 1 once the handshake completed and the peer is authenticated */
    uint32_t path_id;         /* the path the session sends on */
    /* Added in ABI 1.3: the largest message send_message takes in these modes on the current
     * path (one DATAGRAM frame); 0 unknown. The kernel checks them on the caller's thread. */
    uint64_t max_unreliable_message;
    uint64_t max_sequenced_message;
} om_delivery_metrics;

/* Added in ABI 1.2: one path under a session. */
typedef struct om_delivery_path {
    uint32_t path_id; /* nonzero; a path that comes back gets a new id */
    uint32_t mtu;     /* largest packet the path carries (the QUIC UDP payload), from max_mtu */
    uint64_t rtt_us;  /* round trip measured on the path (ICE checks, relay pings); 0 unknown */
} om_delivery_path;

/* Added in ABI 1.2: the session's side. The ICE-controlling agent is the client. */
enum { OM_DELIVERY_ROLE_CLIENT = 1, OM_DELIVERY_ROLE_SERVER = 2 };

/* Added in ABI 1.2: what a session tells the kernel (session_event). */
enum {
    OM_DELIVERY_EVENT_ESTABLISHED = 1, /* handshake done, the peer's fingerprint matched */
    OM_DELIVERY_EVENT_WRITABLE = 2,    /* room again after send_message said OM_ERR_WOULD_BLOCK */
    OM_DELIVERY_EVENT_FAILED = 3       /* the session is over: status and reason say why (the
                                        * fingerprint did not match, idle timeout, the peer
                                        * closed, ...). No call but session_close follows. */
};

/* Added in ABI 1.3: one message of a send_messages run. */
typedef struct om_delivery_message {
    om_delivery_mode mode;
    uint32_t channel;
    const uint8_t* data;
    size_t len;
} om_delivery_message;
/* The delivery plugin's outputs, given at session creation. */
typedef struct om_delivery_session_args {
    uint32_t struct_size;
    uint32_t mtu;
    /* ABI 1.0 output: one frame onto the current path (kept for 1.0/1.1 plugins). */
    int32_t (*send_frame)(void* io_user_data, const uint8_t* frame, size_t len);
    /* ABI 1.0 output: whole messages for the application (channel 0). */
    void (*deliver)(void* io_user_data, om_delivery_mode mode, const uint8_t* data, size_t len);
    void* io_user_data;

    /* Added in ABI 1.2 */
    const char* peer_id;
    int32_t role;                   /* OM_DELIVERY_ROLE_* */
    om_delivery_path path;          /* the first path */
    /* The peer must present a certificate with this SHA-256 fingerprint
     * (OM_FINGERPRINT_STRLEN text, "AB:CD:..."); a mismatch fails the session. */
    const char* remote_fingerprint;
    uint32_t keep_alive_ms;         /* keep-alive on an idle connection; 0 none */
    uint32_t idle_timeout_ms;       /* silence after which the session fails */
    int32_t enable_reliable;        /* 0: reliable modes are refused (OM_ERR_NOT_SUPPORTED) */
    int32_t enable_unreliable;      /* 0: unreliable and sequenced modes are refused */
    /* Packets onto a path: data holds ceil(len / segment_size) packets of segment_size bytes,
     * the last one possibly shorter (the shape of one UDP GSO write). Returns OM_OK, or
     * OM_ERR_WOULD_BLOCK when the path cannot take them now (the session retries later). */
    int32_t (*send_packets)(void* io_user_data, uint32_t path_id, const uint8_t* data, size_t len,
                            size_t segment_size);
    /* Whole messages for the application, with the channel they were sent on. */
    void (*deliver_message)(void* io_user_data, om_delivery_mode mode, uint32_t channel,
                            const uint8_t* data, size_t len);
    /* OM_DELIVERY_EVENT_*; reason may be NULL. May be called from inside any session call. */
    void (*session_event)(void* io_user_data, int32_t event, int32_t status, const char* reason);
} om_delivery_session_args;

typedef struct om_delivery_vtbl {
    uint32_t struct_size;
    int32_t (*create)(const om_plugin_create_args* args, void** out_instance);
    void (*destroy)(void* instance);
    int32_t (*session_open)(void* instance, const om_delivery_session_args* args,
                            void** out_session);
    void (*session_close)(void* instance, void* session);
    int32_t (*send)(void* instance, void* session, om_delivery_mode mode, const uint8_t* data,
                    size_t len);
    /* A frame from the peer (RFC 7983: not STUN, not ChannelData). */
    int32_t (*on_frame)(void* instance, void* session, const uint8_t* frame, size_t len);
    int32_t (*metrics)(void* instance, void* session, om_delivery_metrics* out);

    /* Added in ABI 1.2 */
    /* A message on a channel (0..OM_MAX_CHANNELS-1). OM_ERR_TOO_LARGE past the mode's limit (the
     * error names it), OM_ERR_WOULD_BLOCK when the send queue is full (a WRITABLE event
     * follows), OM_ERR_NOT_SUPPORTED for a disabled mode, OM_ERR_STATE before ESTABLISHED is
     * allowed (the session queues messages until the handshake ends). */
    int32_t (*send_message)(void* instance, void* session, om_delivery_mode mode, uint32_t channel,
                            const uint8_t* data, size_t len);
    /* A packet of the peer, and the path it arrived over. */
    int32_t (*on_packet)(void* instance, void* session, uint32_t path_id, const uint8_t* data,
                         size_t len);
    /* The kernel moved the session to another path (the old one died, or a better one came). */
    int32_t (*path_changed)(void* instance, void* session, const om_delivery_path* path);
    /* This agent's certificate fingerprint, which the kernel sends to peers (OM_FINGERPRINT_STRLEN). */
    int32_t (*local_fingerprint)(void* instance, char* buf, size_t cap);
    /* Added in ABI 1.3 */
    /* send_message for each of count messages in order, the packets written once at the end (so
     * a burst leaves as one GSO write). Stops at the first message refused: *accepted is how many
     * were taken before it and the status is that message's (OM_OK when all were taken). */
    int32_t (*send_messages)(void* instance, void* session, const om_delivery_message* messages,
                             size_t count, size_t* accepted);
} om_delivery_vtbl;

/* ------------------------------------------------------------------------------------------ */
/* Descriptor and negotiation (ABI-RULES R10, R12)                                            */
/* ------------------------------------------------------------------------------------------ */
typedef struct om_plugin_descriptor {
    uint32_t struct_size;
    uint32_t abi_version;    /* the version the plugin was built for */
    const char* name;        /* unique; equals the library and manifest basename */
    om_plugin_kind kind;
    const char* version;     /* the plugin's own version string */
    const char* description; /* one line */
    uint32_t flags;          /* OM_PLUGIN_FLAG_* */
    const void* vtbl;        /* om_<kind>_vtbl, starting with struct_size */
    /* Type-level data, released once when the library unloads. */
    void* type_data;
    void (*free_type_data)(void* type_data);

    /* Added in ABI 1.1 */
    const om_plugin_function* functions;
    size_t function_count;
} om_plugin_descriptor;

typedef struct om_plugin_negotiation {
    uint32_t struct_size;
    /* in: the versions the host speaks, one major, minors host_abi_min..host_abi_max */
    uint32_t host_abi_min;
    uint32_t host_abi_max;
    const om_host_api* host;
    /* out */
    uint32_t out_abi_version;
    const om_plugin_descriptor* out_descriptor;
    /* out: why the plugin refuses, when it returns an error */
    char* out_error;
    size_t out_error_cap;
} om_plugin_negotiation;

typedef int32_t (*om_plugin_negotiate_fn)(om_plugin_negotiation* io);

/*
 * OM_PLUGIN_DEFINE(descriptor): writes the plugin's one export, with C linkage from C or C++.
 * The plugin was compiled against OM_PLUGIN_ABI_VERSION. With a host of the same major it answers
 * the older of its own version and the host's newest (a newer host reads only what the plugin's
 * struct sizes cover; an older host gets a plugin that checks host->struct_size before using
 * newer host slots); the host then refuses an answer below its minimum. With another major it
 * refuses, naming both versions.
 */
#ifdef __cplusplus
#  define OM__PLUGIN_EXTERN_C extern "C"
#else
#  define OM__PLUGIN_EXTERN_C
#endif
#define OM_PLUGIN_DEFINE(descriptor)                                                          \
    OM__PLUGIN_EXTERN_C OM_PLUGIN_EXPORT int32_t om_plugin_negotiate(om_plugin_negotiation* io) \
    {                                                                                         \
        const uint32_t mine = OM_PLUGIN_ABI_VERSION;                                          \
        if (io == NULL || io->struct_size < offsetof(om_plugin_negotiation, out_error))       \
            return OM_ERR_INVALID_ARGUMENT;                                                   \
        io->out_abi_version = mine;                                                           \
        if (OM_PLUGIN_ABI_MAJOR_OF(io->host_abi_max) != OM_PLUGIN_ABI_MAJOR_OF(mine)) {       \
            om_plugin__refuse(io, mine);                                                      \
            return OM_ERR_ABI_MISMATCH;                                                       \
        }                                                                                     \
        if (io->host_abi_max < mine) io->out_abi_version = io->host_abi_max;                  \
        io->out_descriptor = &(descriptor);                                                   \
        return OM_OK;                                                                         \
    }

/* Helper of OM_PLUGIN_DEFINE: writes "plugin ABI X.Y cannot talk to host ABI A.B-A.C". */
static inline void om_plugin__refuse(om_plugin_negotiation* io, uint32_t mine)
{
    static const char digits[] = "0123456789";
    uint32_t values[6];
    const char* parts[6] = {"plugin speaks ABI ", ".", "; host offers ", ".", "-", "."};
    size_t pos = 0;
    int i;
    values[0] = OM_PLUGIN_ABI_MAJOR_OF(mine);
    values[1] = OM_PLUGIN_ABI_MINOR_OF(mine);
    values[2] = OM_PLUGIN_ABI_MAJOR_OF(io->host_abi_min);
    values[3] = OM_PLUGIN_ABI_MINOR_OF(io->host_abi_min);
    values[4] = OM_PLUGIN_ABI_MAJOR_OF(io->host_abi_max);
    values[5] = OM_PLUGIN_ABI_MINOR_OF(io->host_abi_max);
    if (io->struct_size < sizeof(om_plugin_negotiation) || io->out_error == NULL || io->out_error_cap == 0) return;
    for (i = 0; i < 6; ++i) {
        const char* p = parts[i];
        char tmp[12];
        int n = 0;
        uint32_t v = values[i];
        while (*p && pos + 1 < io->out_error_cap) io->out_error[pos++] = *p++;
        do { tmp[n++] = digits[v % 10]; v /= 10; } while (v && n < 11);
        while (n > 0 && pos + 1 < io->out_error_cap) io->out_error[pos++] = tmp[--n];
    }
    io->out_error[pos] = '\0';
}

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* ORBITMESH_PLUGIN_H */
