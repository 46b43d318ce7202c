/*
 * OrbitMesh public C API: the one waist every binding goes through.
 *
 * Conventions (docs/ABI.md has the full set):
 *  - every fallible function returns om_status (0 = OM_OK, failures negative);
 *  - the detailed message of a failure on a handle comes from om_agent_last_error();
 *    constructors, which have no handle yet, take an optional caller buffer (OM_ERROR_BUF_SIZE);
 *  - every options/info struct begins with uint32_t struct_size and only ever grows at its end;
 *  - strings are UTF-8, borrowed for the duration of the call;
 *  - memory the library returns is released with om_free().
 *
 * Depends only on <stdint.h> and <stddef.h>; compiles as C11 (-pedantic) and as C++.
 */
#ifndef ORBITMESH_H
#define ORBITMESH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------------------------ */
/* Export macro                                                                               */
/* ------------------------------------------------------------------------------------------ */
#if defined(_WIN32)
#  if defined(OM_BUILDING_LIBRARY)
#    define OM_API __declspec(dllexport)
#  else
#    define OM_API __declspec(dllimport)
#  endif
#else
#  define OM_API __attribute__((visibility("default")))
#endif

/* ------------------------------------------------------------------------------------------ */
/* Versions (ABI-RULES R9): library semver, public C ABI major (= SONAME)                     */
/* ------------------------------------------------------------------------------------------ */
#define OM_VERSION_MAJOR 0
#define OM_VERSION_MINOR 5
#define OM_VERSION_PATCH 0
#define OM_VERSION "0.5.0"
#define OM_VERSION_NUMBER ((OM_VERSION_MAJOR << 16) | (OM_VERSION_MINOR << 8) | OM_VERSION_PATCH)
/* Major of the public C ABI; liborbitmesh.so.<OM_C_ABI_MAJOR> is the SONAME. */
#define OM_C_ABI_MAJOR 1

/* The library's version string, "MAJOR.MINOR.PATCH". Static storage. Safe from any thread. */
OM_API const char* om_version(void);
/* (major << 16) | (minor << 8) | patch of the library actually loaded. Safe from any thread. */
OM_API uint32_t om_version_number(void);

/* ------------------------------------------------------------------------------------------ */
/* Status codes (ABI-RULES R15): one X-macro generates the enum, names and texts.             */
/* Numbers are never reused.                                                                  */
/* ------------------------------------------------------------------------------------------ */
typedef int32_t om_status;

#define OM_STATUS_MAP(XX)                                                                     \
    XX(OK, 0, "success")                                                                      \
    XX(ERR_INVALID_ARGUMENT, -1, "invalid argument")                                          \
    XX(ERR_NO_MEMORY, -2, "out of memory")                                                    \
    XX(ERR_NOT_FOUND, -3, "not found")                                                        \
    XX(ERR_TIMEOUT, -4, "operation timed out")                                                \
    XX(ERR_BUFFER_TOO_SMALL, -5, "buffer too small")                                          \
    XX(ERR_NOT_SUPPORTED, -6, "not yet supported")                                            \
    XX(ERR_STATE, -7, "operation not valid in the current state")                             \
    XX(ERR_IO, -8, "input/output error")                                                      \
    XX(ERR_PLUGIN, -9, "a plugin failed")                                                     \
    XX(ERR_PLUGIN_LOAD, -10, "plugin could not be loaded")                                    \
    XX(ERR_ABI_MISMATCH, -11, "incompatible ABI version")                                     \
    XX(ERR_DUPLICATE, -12, "duplicate name")                                                  \
    XX(ERR_TYPE_MISMATCH, -13, "argument type or count does not match the signature")         \
    XX(ERR_INTERNAL, -14, "internal error")                                                   \
    XX(ERR_CLOSED, -15, "object is closed")                                                   \
    XX(ERR_WOULD_BLOCK, -16, "operation would block")                                         \
    XX(ERR_MALFORMED, -17, "malformed input")                                                 \
    XX(ERR_REFUSED, -18, "refused")                                                           \
    XX(ERR_AUTH, -19, "authentication failed")                                                \
    XX(ERR_UNREACHABLE, -20, "destination unreachable")                                       \
    XX(ERR_TOO_LARGE, -21, "message larger than allowed")

#define OM__STATUS_ENUM(name, value, text) OM_##name = (value),
enum { OM_STATUS_MAP(OM__STATUS_ENUM) OM__STATUS_END = -0x7FFFFFFF };
#undef OM__STATUS_ENUM

/* "OM_ERR_TIMEOUT" for OM_ERR_TIMEOUT; "OM_UNKNOWN_STATUS" for a number not in the map. */
OM_API const char* om_status_name(om_status status);
/* Static English text ("operation timed out"). Safe from any thread. */
OM_API const char* om_status_str(om_status status);

/* Size of the caller buffers constructors fill with an error message. */
#define OM_ERROR_BUF_SIZE 256

/* Releases memory the library returned (om_plugin_call results, om_plugins_list_json).
 * Accepts NULL. Safe from any thread. */
OM_API void om_free(void* ptr);

/* ------------------------------------------------------------------------------------------ */
/* Enumerations used by the seed's model. Plain int32_t constants (ABI-RULES R4).             */
/* ------------------------------------------------------------------------------------------ */
typedef int32_t om_nat_type;
enum {
    OM_NAT_UNKNOWN = 0,
    OM_NAT_OPEN = 1,
    OM_NAT_FULL_CONE = 2,
    OM_NAT_RESTRICTED = 3,
    OM_NAT_PORT_RESTRICTED = 4,
    OM_NAT_SYMMETRIC = 5
};

/* RFC 4787 mapping and filtering behaviour of a NAT: 0 unknown, 1 endpoint-independent,
 * 2 address-dependent, 3 address-and-port-dependent. The OM_NAT_BEHAVIOR_* names are in
 * <orbitmesh/plugin.h> (which has always declared them); the typedef is repeated identically. */
typedef int32_t om_nat_behavior;

/* "Open", "FullCone", "Restricted", "PortRestricted", "Symmetric", "Unknown" (any other value), and
 * "EndpointIndependent", "AddressDependent", "AddressAndPortDependent", "Unknown": the names the
 * CLI, Python and the signaling protocol use. Static strings (Added in 0.2). */
OM_API const char* om_nat_type_name(om_nat_type type);
OM_API const char* om_nat_behavior_name(om_nat_behavior behavior);

/* The active path of a peer connection (seed: ActiveTransport). */
typedef int32_t om_transport_type;
enum {
    OM_TRANSPORT_NONE = 0,
    OM_TRANSPORT_P2P = 1,
    OM_TRANSPORT_SERVER_RELAY = 2,
    OM_TRANSPORT_TURN = 3
};

typedef int32_t om_strategy;
enum {
    OM_STRATEGY_NONE = 0,
    OM_STRATEGY_DIRECT_CONNECT = 1,
    OM_STRATEGY_UDP_HOLE_PUNCH = 2,
    OM_STRATEGY_TURN_RELAY = 3,
    OM_STRATEGY_SERVER_RELAY = 4
};

/* Seed: PeerConnectionStatus. */
typedef int32_t om_peer_status;
enum {
    OM_PEER_DISCONNECTED = 0,
    OM_PEER_CONNECTING = 1,
    OM_PEER_CONNECTED = 2,
    OM_PEER_FAILED = 3
};

typedef int32_t om_delivery_mode;
enum {
    OM_DELIVERY_RELIABLE_ORDERED = 0,
    OM_DELIVERY_RELIABLE_UNORDERED = 1,
    OM_DELIVERY_UNRELIABLE = 2,
    OM_DELIVERY_SEQUENCED = 3
};
/* Added in 0.4: channels per peer (om_agent_send_on_channel), 0..OM_MAX_CHANNELS-1. Each
 * reliable-ordered channel is ordered on its own: a loss on one does not hold up another. */
#define OM_MAX_CHANNELS 256
/* Added in 0.4: largest message in the reliable modes (16 MiB). */
#define OM_MAX_RELIABLE_MESSAGE (16u * 1024u * 1024u)
/* Added in 0.4: a SHA-256 certificate fingerprint as text, "AB:CD:...:EF" (95 chars) + NUL. */
#define OM_FINGERPRINT_STRLEN 96

typedef int32_t om_log_level;
enum {
    OM_LOG_TRACE = 0,
    OM_LOG_DEBUG = 1,
    OM_LOG_INFO = 2,
    OM_LOG_WARNING = 3,
    OM_LOG_ERROR = 4,
    OM_LOG_OFF = 5
};

/* Sets the level below which the library's log (Poco "orbitmesh" logger, stderr) is silent.
 * Default OM_LOG_WARNING, or the ORBITMESH_LOG_LEVEL variable (trace..error, off).
 * Safe from any thread. */
OM_API om_status om_log_set_level(om_log_level level);

/* ------------------------------------------------------------------------------------------ */
/* Events (ARCHITECTURE "Rules of both C waists" 5)                                           */
/* ------------------------------------------------------------------------------------------ */
typedef int32_t om_event_type;
enum {
    /* A datagram reached the agent's transport and was not claimed by the kernel (RFC 7983
     * demultiplexing: not STUN, not TURN ChannelData). address = sender, data/len = payload. */
    OM_EVENT_DATAGRAM = 1,
    OM_EVENT_PEER_CONNECTED = 2,    /* peer_id */
    OM_EVENT_PEER_DISCONNECTED = 3, /* peer_id, message = reason */
    OM_EVENT_MESSAGE = 4,           /* peer_id, data/len */
    /* Something failed asynchronously: status + message (for example a transport read error). */
    OM_EVENT_ERROR = 5,
    OM_EVENT_TRANSPORT_OPENED = 6,  /* address = local transport address */
    OM_EVENT_TRANSPORT_CLOSED = 7,
    /* Signaling (om_agent_connect). */
    OM_EVENT_CONNECTED = 8,    /* registered with the server; message = the server's session id */
    OM_EVENT_DISCONNECTED = 9, /* the server connection ended; message = why */
    OM_EVENT_RECONNECTING = 10, /* a new attempt is scheduled; message says when and which */
    /* Added in 0.3 (seed StateChanged): a peer connection changed status, path or strategy.
     * peer_id; peer_status, transport and strategy say the new state; message says why. */
    OM_EVENT_PEER_STATE_CHANGED = 11,
    /* Added in 0.4: peer_id; a send that answered OM_ERR_WOULD_BLOCK may be tried again. */
    OM_EVENT_PEER_WRITABLE = 12
};

/* Everything in an event is borrowed for the duration of the callback only. */
typedef struct om_event {
    uint32_t struct_size;
    om_event_type type;
    const char* peer_id;   /* NULL when the event is not about a peer */
    const char* address;   /* "ip:port" or "[ipv6]:port", NULL when not relevant */
    const uint8_t* data;   /* payload, NULL when len == 0 */
    size_t len;
    om_status status;      /* OM_OK unless type == OM_EVENT_ERROR */
    const char* message;   /* human-readable detail or reason, may be NULL */
    uint64_t timestamp_us; /* monotonic clock, microseconds */
    /* Added in C ABI 1.1 */
    om_delivery_mode delivery_mode; /* OM_EVENT_MESSAGE: the mode the peer sent it with */
    /* Added in 0.3: peer events (CONNECTED, DISCONNECTED, STATE_CHANGED) carry the state reached;
     * the enums are declared below. 0 for other events. */
    int32_t peer_status;  /* om_peer_status */
    int32_t transport;    /* om_transport_type */
    int32_t strategy;     /* om_strategy */
    /* Added in 0.4 */
    uint32_t channel;     /* OM_EVENT_MESSAGE: the channel the peer sent it on */
} om_event;

/* Runs on the agent's loop thread (OM_EVENTS_ON_LOOP_THREAD) or inside om_agent_dispatch()
 * (OM_EVENTS_DISPATCH). It must not block and must not destroy the agent. */
typedef void (*om_event_cb)(void* user_data, const om_event* event);

typedef int32_t om_event_mode;
enum {
    OM_EVENTS_ON_LOOP_THREAD = 0, /* callbacks run on the agent's own thread (default) */
    OM_EVENTS_DISPATCH = 1        /* events queue until the application calls om_agent_dispatch */
};

/* ------------------------------------------------------------------------------------------ */
/* Agent options: every seed P2POptions field with the seed's default, plus the plugin setup. */
/* ------------------------------------------------------------------------------------------ */
typedef struct om_agent_options {
    uint32_t struct_size;

    /* Identity and signaling (used from the signaling capability on). */
    const char* server_url; /* "ws://127.0.0.1:8080", NULL for none */
    const char* agent_id;
    const char* token;

    /* Seed P2POptions: connection behaviour. Booleans are int32_t 0/1. */
    int32_t prefer_p2p;        /* 1 */
    int32_t fallback_to_relay; /* 1 */
    /* STUN: NULL = the server's embedded STUN. */
    const char* stun_server;
    int32_t stun_port; /* 3478 */
    /* TURN, for Symmetric NATs. */
    const char* turn_server;
    int32_t turn_port; /* 3478 */
    const char* turn_username;
    const char* turn_password;
    /* Timeouts. */
    int32_t connection_timeout_ms; /* 10000 */
    int32_t nat_punch_retries;     /* 10 */
    int32_t nat_punch_interval_ms; /* 100 */
    /* Transport settings. */
    int32_t keep_alive_interval_ms; /* 15000 */
    int32_t disconnect_timeout_ms;  /* 30000 */
    int32_t max_mtu;                /* 1400 */
    /* Delivery modes. */
    int32_t enable_unreliable_delivery; /* 1 */
    int32_t enable_reliable_delivery;   /* 1 */

    /* Local address of the agent's UDP socket, "ip" or "ip:port". NULL: 127.0.0.1 when the
     * server URL is loopback or absent, otherwise the wildcard. */
    const char* bind_address;

    /* Plugin per kind, by name. NULL = the default. Transports may stack decorators from the
     * outside in: "netsim:udp" wraps transport-udp in netsim. A short name "x" also finds the
     * plugin "<kind>-x" (transport "udp" is "transport-udp"). */
    const char* transport_plugin;       /* "udp" */
    const char* nat_discovery_plugin;   /* "stun" */
    const char* strategy_plugin;        /* "matrix" */
    const char* turn_plugin;            /* "client" */
    const char* delivery_plugin;        /* "reliable" */
    /* Plugin settings, "plugin.key=value" entries separated by ';' or newlines, for example
     * "netsim.loss=0.1;netsim.seed=7". Plugins read them through their host API. */
    const char* plugin_options;

    /* Events. The callback is fixed at create time so no event is missed (ABI-RULES R22). */
    om_event_cb on_event;
    void* user_data;
    /* Called exactly once with user_data when the agent is destroyed (or creation fails). */
    void (*user_data_free)(void* user_data);
    om_event_mode event_mode; /* OM_EVENTS_ON_LOOP_THREAD */

    /* Added in 0.3: peer-to-peer connections. */
    /* Seed step 4: decides a peer's connect request. NULL accepts every peer. Runs on the loop
     * thread with the options' user_data; must not block or call blocking agent functions.
     * remote_nat is what the peer reported (OM_NAT_UNKNOWN when it did not). Return 1 to accept,
     * 0 to refuse; a refusal may write its reason (NUL-terminated, at most reason_cap bytes). */
    int32_t (*accept_peer)(void* user_data, const char* peer_id, om_nat_type remote_nat, char* reason,
                           size_t reason_cap);
    /* When bound to the wildcard, host candidates come from every interface that is up, except
     * loopback and these: interface names separated by ',' (a trailing '*' matches a prefix,
     * "docker*"). NULL excludes none. */
    const char* exclude_interfaces;
    /* Added in 0.4: a PEM file with this agent's key and certificate (the identity peers pin).
     * Created (mode 0600) when missing, so the identity survives restarts. NULL: a new identity
     * each time the agent is created. */
    const char* identity_file;
    /* Added in 0.4: after a wake-up the agent's thread polls its sockets without sleeping for up
     * to this many microseconds (0..10000) before it sleeps, so an answer that comes back within
     * that time is read without a wake-up (20-40 us on a virtual machine whose idle CPUs halt).
     * Costs up to that much CPU per wake-up: for request/response on one host or a fast LAN.
     * 0 (the default): sleep at once. */
    int32_t busy_poll_us;
    /* Must be 0. Named so the struct has no tail padding: a newer library's check that unknown
     * trailing bytes are zero never meets uninitialised padding. */
    int32_t reserved0;
} om_agent_options;

#define OM_AGENT_OPTIONS_INIT                                                                 \
    {                                                                                         \
        (uint32_t)sizeof(om_agent_options), NULL, NULL, NULL, 1, 1, NULL, 3478, NULL, 3478,   \
            NULL, NULL, 10000, 10, 100, 15000, 30000, 1400, 1, 1, NULL, NULL, NULL, NULL,    \
            NULL, NULL, NULL, NULL, NULL, NULL, OM_EVENTS_ON_LOOP_THREAD, NULL, NULL, NULL, 0, 0 \
    }

/* Fills *options with the defaults above (for languages without the C macro). */
OM_API om_status om_agent_options_init(om_agent_options* options);

/* ------------------------------------------------------------------------------------------ */
/* Agent                                                                                      */
/* ------------------------------------------------------------------------------------------ */
typedef struct om_agent om_agent;

/* Creates an agent and starts its loop thread. Plugins named in the options are found and
 * loaded now, so a missing or incompatible plugin fails here. On failure *out is NULL and
 * err_buf (may be NULL) holds the reason. */
OM_API om_status om_agent_create(const om_agent_options* options, om_agent** out, char* err_buf,
                                 size_t err_buf_len);

/* Stops the loop thread, closes the transport and releases everything. Accepts NULL.
 * Must not be called from the agent's own callbacks. */
OM_API void om_agent_destroy(om_agent* agent);

/* Detail of the last failure on this agent, "" if none. Owned by the agent, valid until the
 * next call on it from any thread. */
OM_API const char* om_agent_last_error(const om_agent* agent);

/* Opens the transport stack on bind_address. Blocks until the loop thread has done it (at most
 * connection_timeout_ms). Fires OM_EVENT_TRANSPORT_OPENED. NAT discovery (om_agent_connect,
 * om_agent_nat_info) opens it too, since it tests this very socket: the first call after that
 * takes it over and returns OM_OK; otherwise an open transport is OM_ERR_STATE. */
OM_API om_status om_agent_open_transport(om_agent* agent);

/* Closes the transport stack; datagram sends fail with OM_ERR_CLOSED afterwards. */
OM_API om_status om_agent_close_transport(om_agent* agent);

/* Writes the transport's local address ("127.0.0.1:40000") with its terminating NUL into buf.
 * *needed (may be NULL) receives the size required, NUL included. OM_ERR_BUFFER_TOO_SMALL when
 * cap is smaller; OM_ERR_STATE when the transport is not open. */
OM_API om_status om_agent_local_address(om_agent* agent, char* buf, size_t cap, size_t* needed);

/* The MTU the transport stack reports (bounded by max_mtu). OM_ERR_STATE when not open. */
OM_API om_status om_agent_transport_mtu(om_agent* agent, uint32_t* out_mtu);

/* Sends one datagram through the transport stack to address ("ip:port"). Safe from any thread:
 * the send is handed to the loop thread and this call waits for its result.
 * OM_ERR_TOO_LARGE when len exceeds the MTU. */
OM_API om_status om_agent_send_datagram(om_agent* agent, const char* address, const uint8_t* data,
                                        size_t len);

/* In OM_EVENTS_DISPATCH mode: runs the callbacks of queued events on the calling thread, waiting
 * up to timeout_ms (0 = do not wait, -1 = forever) for the first one. *dispatched (may be NULL)
 * receives how many ran. OM_ERR_TIMEOUT when none arrived in time; OM_ERR_STATE in the other mode.
 */
OM_API om_status om_agent_dispatch(om_agent* agent, int32_t timeout_ms, size_t* dispatched);

/* Reads one of the agent's counters ("transport.datagrams_received", "demux.stun",
 * "plugin.netsim.dropped", ...). Unknown names read 0 with OM_OK: a counter exists from its
 * first increment. */
OM_API om_status om_agent_counter(om_agent* agent, const char* name, uint64_t* value);

/* All counters as a JSON object, in library memory released with om_free. */
OM_API om_status om_agent_counters_json(om_agent* agent, char** out_json);

/* ------------------------------------------------------------------------------------------ */
/* Plugins                                                                                    */
/* ------------------------------------------------------------------------------------------ */

/* Lists the plugins found on OM_PLUGIN_PATH and in the install directory, from their manifests
 * only (nothing is loaded), as a JSON array in library memory released with om_free. */
OM_API om_status om_plugins_list_json(char** out_json, char* err_buf, size_t err_buf_len);

/* Calls an extension method a plugin instance of this agent declares (descriptor "functions" and
 * manifest). args is a msgpack array with one element per declared argument; the kernel checks
 * arity and types against the signature, calls through libffi and writes the msgpack-encoded
 * result to *result (library memory, release with om_free): nil when the method returns nothing,
 * the value when it returns one, an array when it has several (return value first, then the out
 * parameters). Runs on the agent's loop thread; this call waits for it.
 * OM_ERR_NOT_FOUND: no such plugin or method. OM_ERR_TYPE_MISMATCH: wrong arity or types.
 * OM_ERR_PLUGIN: the method failed (a "status" return that is not OM_OK). */
OM_API om_status om_plugin_call(om_agent* agent, const char* plugin, const char* method,
                                const uint8_t* args, size_t args_len, uint8_t** result,
                                size_t* result_len);

/* ------------------------------------------------------------------------------------------ */
/* Signaling and peers (seed: ConnectAsync, ConnectToPeerAsync, SendToPeerAsync,              */
/* GetPeerConnectionState). Added in C ABI 1.1.                                               */
/* ------------------------------------------------------------------------------------------ */

/* Registers with server_url as agent_id (with token when the server needs one). Blocks until
 * registered, at most connection_timeout_ms. Afterwards the agent keeps the connection alive
 * (ping every keep-alive interval, silence beyond disconnect_timeout_ms ends it) and reconnects
 * with exponential backoff and jitter, firing OM_EVENT_DISCONNECTED, OM_EVENT_RECONNECTING and
 * OM_EVENT_CONNECTED. OM_ERR_AUTH when the server refuses the token or the id. From the agent's
 * own callback (OM_EVENTS_ON_LOOP_THREAD) it would wait for its own thread: OM_ERR_STATE. */
OM_API om_status om_agent_connect(om_agent* agent);
/* Leaves the server and stops reconnecting. Idempotent. From the agent's own callback it takes
 * effect right after the callback returns. */
OM_API om_status om_agent_disconnect(om_agent* agent);

#define OM_CANDIDATE_STRLEN 256
#define OM_DIAGNOSIS_STRLEN 512

/* A snapshot of one peer connection (seed: PeerConnectionState and its Metrics). */
typedef struct om_peer_state {
    uint32_t struct_size;
    om_peer_status status;
    om_transport_type active_transport;
    om_strategy strategy;
    om_nat_type local_nat;
    om_nat_type remote_nat;
    char local_candidate[OM_CANDIDATE_STRLEN];  /* RFC 8839 text; "" when none */
    char remote_candidate[OM_CANDIDATE_STRLEN];
    double connect_ms;  /* request to Connected */
    double rtt_ms;      /* latest round trip on the active path; 0 when not measured yet */
    uint64_t bytes_sent;
    uint64_t bytes_received;
    uint64_t messages_sent;
    uint64_t messages_received;
    double packet_loss; /* 0..1 */
    char diagnosis[OM_DIAGNOSIS_STRLEN]; /* why not direct, when not direct; "" otherwise */
    /* Added in 0.3 */
    om_strategy planned_strategy; /* what the strategy plugin chose (the seed's matrix); strategy
                                   * above is the step that made the connection */
    uint32_t pairs_checked;       /* candidate pairs that got a connectivity check */
    uint64_t checks_sent;         /* STUN connectivity checks and consent requests sent */
    uint64_t checks_received;     /* authenticated checks received from the peer */
    double last_heard_ms;         /* since the peer was last heard on the active path */
    /* Added in 0.4: the delivery session (QUIC) above the path. 0 / "" before it exists. */
    double rtt_var_ms;            /* RFC 9002 rttvar */
    double min_rtt_ms;
    uint64_t cwnd;                /* congestion window, bytes */
    uint64_t bytes_in_flight;
    uint64_t packets_sent;
    uint64_t packets_received;
    uint64_t packets_lost;
    uint64_t retransmits;
    uint64_t send_queue_bytes;    /* accepted, not yet acknowledged by the peer */
    char congestion_control[16];  /* "cubic", "reno", "bbr", "bbr2" */
    char cipher_suite[64];        /* TLS 1.3 suite of the end-to-end encryption */
    char local_fingerprint[OM_FINGERPRINT_STRLEN];  /* our certificate's SHA-256 */
    char remote_fingerprint[OM_FINGERPRINT_STRLEN]; /* the peer's, as it presented it */
} om_peer_state;

/* Connects to a registered peer (seed steps 1-6): connect_request through the server, the peer
 * accepts or refuses (accept_peer), both exchange candidates, ICE credentials and NAT reports,
 * then check candidate pairs (RFC 8445 connectivity checks) in the order the strategy plugin
 * gives. `via`: OM_TRANSPORT_NONE = the best path (direct when prefer_p2p and the strategy allow
 * it, else or on failure the relay when fallback_to_relay); OM_TRANSPORT_P2P = direct only;
 * OM_TRANSPORT_SERVER_RELAY = the server relay only. Blocks at most connection_timeout_ms (plus
 * the relay fallback); *out_state (may be NULL) receives the state reached. OM_ERR_NOT_FOUND: no
 * such peer; OM_ERR_REFUSED: it declined; OM_ERR_UNREACHABLE: no direct path and no fallback;
 * OM_ERR_NOT_SUPPORTED: a path this build cannot make yet (TURN); OM_ERR_STATE from the agent's
 * own callback (OM_EVENTS_ON_LOOP_THREAD), which must not wait for its own thread. */
OM_API om_status om_agent_connect_peer(om_agent* agent, const char* peer_id, om_transport_type via,
                                       om_peer_state* out_state);
#define OM_ADDRESS_TEXT_LEN 64

/* What NAT discovery found (RFC 5780 behaviour discovery on the agent's own UDP socket),
 * Added in 0.2. Text addresses as "203.0.113.21:4500" or "[2001:db8::1]:4500"; "" when unknown. */
typedef struct om_nat_report {
    uint32_t struct_size;
    om_nat_type nat_type;        /* the seed's NatType */
    om_nat_behavior mapping;     /* RFC 4787 mapping behaviour */
    om_nat_behavior filtering;   /* RFC 4787 filtering behaviour */
    char mapped_address[OM_ADDRESS_TEXT_LEN]; /* server-reflexive address of the agent's socket */
    char local_address[OM_ADDRESS_TEXT_LEN];  /* the socket's own address */
    char stun_server[OM_ADDRESS_TEXT_LEN];    /* the STUN server asked */
    int32_t hairpin;             /* -1 unknown, 0 no, 1 yes (RFC 5780 §4.5) */
    int32_t server_ips_used;     /* 2, or 1 when the server offers one IP only (then address-
                                  * dependent and endpoint-independent behaviour cannot be told
                                  * apart by IP); 0 when no answer came */
    double duration_ms;          /* how long discovery took */
} om_nat_report;

/* NAT discovery (seed "Get NAT Info"). Returns the agent's latest result; when discovery never
 * ran, or refresh is 1, runs it now (opening the transport when it is closed) and blocks at most
 * connection_timeout_ms. From the agent's own event callback it only reads a result already
 * known (OM_ERR_STATE otherwise), since waiting there would stall the agent. The STUN server is
 * stun_server:stun_port when set, else the one the signaling server announced at om_agent_connect,
 * else the server URL's host with stun_port. OM_ERR_STATE: no STUN server is known;
 * OM_ERR_TIMEOUT: the server never answered (*out still says what is known: Unknown). */
OM_API om_status om_agent_nat_info(om_agent* agent, int32_t refresh, om_nat_report* out);
/* The state of a peer; status OM_PEER_DISCONNECTED for one never connected. */
OM_API om_status om_agent_peer_state(om_agent* agent, const char* peer_id, om_peer_state* out_state);
/* Sends a message to a connected peer on channel 0 (om_agent_send_on_channel). */
OM_API om_status om_agent_send(om_agent* agent, const char* peer_id, const uint8_t* data, size_t len,
                               om_delivery_mode mode);
/* Added in 0.4. Sends a message to a connected peer with a delivery mode on a channel
 * (0..OM_MAX_CHANNELS-1), over the peer's one end-to-end encrypted connection (QUIC, the
 * delivery plugin), whatever its path: direct, or the server relay. Safe from any thread; the
 * data is copied. Reliable modes carry up to OM_MAX_RELIABLE_MESSAGE bytes; unreliable and
 * sequenced messages must fit one datagram (the error names the limit). OM_ERR_STATE: the peer is
 * not connected; OM_ERR_TOO_LARGE: above the mode's limit; OM_ERR_WOULD_BLOCK: the peer's send
 * queue is full (OM_EVENT_PEER_WRITABLE follows when there is room); OM_ERR_NOT_SUPPORTED: the
 * mode is disabled (enable_reliable_delivery / enable_unreliable_delivery) or no delivery plugin
 * is installed. */
OM_API om_status om_agent_send_on_channel(om_agent* agent, const char* peer_id, const uint8_t* data,
                                          size_t len, om_delivery_mode mode, uint32_t channel);
/* Added in 0.4. This agent's certificate fingerprint (SHA-256, OM_FINGERPRINT_STRLEN), which
 * peers pin: OM_ERR_BUFFER_TOO_SMALL below OM_FINGERPRINT_STRLEN, OM_ERR_NOT_SUPPORTED without a
 * delivery plugin. */
OM_API om_status om_agent_fingerprint(om_agent* agent, char* buf, size_t cap);

/* ------------------------------------------------------------------------------------------ */
/* Peer-to-peer details and ICE candidates. Added in 0.3.                                      */
/* ------------------------------------------------------------------------------------------ */

/* Every candidate pair of the peer's last connection attempt as a JSON array, highest priority
 * first: {"local","remote" (RFC 8839 text), "priority", "state" ("waiting", "in-progress",
 * "succeeded", "failed", "frozen"), "nominated", "checks_sent", "responses", "rtt_ms", "why"
 * (why it failed, "" otherwise)}. Library memory released with om_free. */
OM_API om_status om_agent_peer_pairs_json(om_agent* agent, const char* peer_id, char** out_json);

/* RFC 8445 §5.1.2.2 type preferences: the seed's host 126, server-reflexive 100, relayed 0;
 * peer-reflexive 110 (RFC 8445's recommendation, between host and server-reflexive). */
typedef int32_t om_candidate_type;
enum {
    OM_CANDIDATE_HOST = 0,
    OM_CANDIDATE_SERVER_REFLEXIVE = 1,
    OM_CANDIDATE_PEER_REFLEXIVE = 2,
    OM_CANDIDATE_RELAYED = 3
};

/* One ICE candidate (seed IceCandidate). Addresses as "ip:port" / "[ipv6]:port". */
typedef struct om_candidate {
    uint32_t struct_size;
    om_candidate_type type;
    char address[OM_ADDRESS_TEXT_LEN];         /* the transport address */
    char related_address[OM_ADDRESS_TEXT_LEN]; /* RFC 8839 raddr/rport: the base of a reflexive
                                                * candidate; "" for host candidates */
    char relay_server[OM_ADDRESS_TEXT_LEN];    /* relayed: the TURN server it came from; "" else */
    char foundation[36];                       /* RFC 8839: 1-32 ice-chars */
    uint32_t priority;                         /* RFC 8445 §5.1.2.1 */
    uint32_t component;                        /* 1 (OrbitMesh uses one component) */
} om_candidate;

/* "host", "srflx", "prflx", "relay" (RFC 8839 cand-type); "unknown" for another value. */
OM_API const char* om_candidate_type_name(om_candidate_type type);
/* Seed IceCandidate.CreateHost / CreateServerReflexive / CreateRelayed. IP literals only (no DNS
 * lookups); ports 1..65535. Priority 2^24*type_pref + 2^8*65535 + (256 - component). */
OM_API om_status om_candidate_host(const char* ip, int32_t port, om_candidate* out);
OM_API om_status om_candidate_server_reflexive(const char* public_ip, int32_t public_port,
                                               const char* local_ip, int32_t local_port,
                                               om_candidate* out);
OM_API om_status om_candidate_relayed(const char* relayed_ip, int32_t relayed_port,
                                      const char* relay_server, om_candidate* out);
/* RFC 8839 §5.1 text, "candidate:1 1 udp 2130706431 192.0.2.1 5000 typ host", into buf with its
 * NUL; *needed (may be NULL) receives the size required. OM_ERR_BUFFER_TOO_SMALL when short. */
OM_API om_status om_candidate_to_string(const om_candidate* candidate, char* buf, size_t cap,
                                        size_t* needed);
/* Parses that text (with or without the "a=" prefix). OM_ERR_MALFORMED naming what is wrong
 * (om_candidate_last_error gives the text for this thread's last failure). */
OM_API om_status om_candidate_parse(const char* text, om_candidate* out);
/* Why the calling thread's last om_candidate_* call failed; "" if none. Per thread. */
OM_API const char* om_candidate_last_error(void);

/* ------------------------------------------------------------------------------------------ */
/* Server: signaling hub over HTTP/WebSocket (and, as they land, embedded STUN, TURN, relay).  */
/* Seed P2PServerOptions fields keep their seed defaults.                                     */
/* ------------------------------------------------------------------------------------------ */
typedef struct om_server om_server;

typedef struct om_server_options {
    uint32_t struct_size;
    const char* bind;          /* primary address: HTTP, STUN and TURN listen here. "0.0.0.0" */
    int32_t http_port;         /* 8080; 0 = a free port (om_server_http_port says which) */
    int32_t stun_port;         /* seed StunPort 3478; 0 turns the embedded STUN server off,
                                * -1 picks a free port (om_server_stun_ports says which) */
    const char* stun_alt_address; /* RFC 5780 second IP; NULL = none */
    int32_t stun_alt_port;     /* RFC 5780 second port; 0 = none, -1 = a free port */
    int32_t enable_turn_relay; /* seed EnableTurnRelay 0 */
    const char* turn_realm;    /* seed TurnRealm NULL */
    const char* turn_users;    /* "name:pass" entries separated by ';' */
    const char* turn_secret;
    int32_t turn_min_port;     /* 49152 */
    int32_t turn_max_port;     /* 65535 */
    int32_t turn_allow_loopback_peers; /* tests only */
    const char* secret;        /* HS256 key that signs agent tokens */
    int32_t open;              /* 1: accept agents without tokens (logs a warning) */
    const char* redis_url;
    /* Limits. */
    int32_t replace_existing_id; /* 0: a second registration of a live id is refused; 1: replaces */
    int32_t max_frame_bytes;     /* 65536: largest signaling message */
    int32_t relay_bytes_per_s;   /* per agent, 0 = unlimited; default 16 MiB/s */
    int32_t send_queue_bytes;    /* per connection bound on queued outgoing bytes: 1 MiB */
    int32_t reactor_threads;     /* WebSocket reactor threads, 0 = one per core */
    /* Added in 0.2: the embedded STUN server. */
    int32_t stun_rate_limit;     /* Binding requests per second per source address; 0 = no limit.
                                  * Default 100 (burst twice that). */
    int32_t stun_threads;        /* STUN receive threads (SO_REUSEPORT sockets), 0 = one per core */
    /* Added in 0.5: the embedded TURN relay's limits and time-limited credentials. */
    int32_t turn_max_allocations; /* allocations at once, all users: 10000 */
    int32_t turn_user_quota;      /* allocations at once per username: 100 */
    int32_t turn_bytes_per_s;     /* relayed bytes per second per allocation, each way; 0 = no limit */
    int32_t turn_credential_ttl_s; /* lifetime of the TURN credentials handed out with turn_secret: 86400 */
    const char* turn_address;     /* "host:port" of the TURN server handed out with turn_secret (coturn
                                   * with the same static-auth-secret); NULL = this server's own relay */
} om_server_options;

#define OM_SERVER_OPTIONS_INIT                                                                \
    {                                                                                         \
        (uint32_t)sizeof(om_server_options), "0.0.0.0", 8080, 3478, NULL, 0, 0, NULL, NULL,   \
            NULL, 49152, 65535, 0, NULL, 0, NULL, 0, 65536, 16777216, 1048576, 0, 100, 0,     \
            10000, 100, 0, 86400, NULL                                                        \
    }

OM_API om_status om_server_options_init(om_server_options* options);

/* Validates the options and prepares the server; nothing listens yet. */
OM_API om_status om_server_create(const om_server_options* options, om_server** out, char* err_buf,
                                  size_t err_buf_len);
/* Listens and serves on its own threads; returns once it is serving. */
OM_API om_status om_server_start(om_server* server);
/* Stops accepting, closes every connection and joins its threads. Idempotent. */
OM_API om_status om_server_stop(om_server* server);
/* Stops if needed and releases everything. Accepts NULL. */
OM_API void om_server_destroy(om_server* server);
OM_API const char* om_server_last_error(const om_server* server);
/* The HTTP port actually bound (useful with http_port 0). OM_ERR_STATE before start. */
OM_API om_status om_server_http_port(om_server* server, int32_t* out_port);
/* The UDP ports of the embedded STUN server (Added in 0.2): primary and alternate (RFC 5780),
 * 0 when off. stun_port/stun_alt_port -1 in the options pick free ports; this says which.
 * Either pointer may be NULL. OM_ERR_STATE before start. */
OM_API om_status om_server_stun_ports(om_server* server, int32_t* out_port, int32_t* out_alt_port);
/* One of the server's counters ("agents.connected", "frames.in.relay", "auth.failures", ...). */
OM_API om_status om_server_counter(om_server* server, const char* name, uint64_t* value);
/* The /metrics text (Prometheus exposition format), in library memory released with om_free. */
OM_API om_status om_server_metrics_text(om_server* server, char** out_text);

/* Mints an agent token: an HS256 JWT whose subject is agent_id, expiring after ttl_seconds.
 * Library memory released with om_free. */
OM_API om_status om_token_create(const char* secret, const char* agent_id, int64_t ttl_seconds,
                                 char** out_token, char* err_buf, size_t err_buf_len);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* ORBITMESH_H */
