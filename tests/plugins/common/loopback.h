/* In-memory loopback transport shared by the fixture plugins: every datagram sent comes back to
 * the same instance, with its own (fake) local address as the source. No sockets, so fixtures
 * exercise the kernel's plugin host without touching the network.
 *
 * Written against the ABI 1.0 subset of plugin.h, so the frozen fixture-abi10 and the current
 * fixtures share it; the mtu slot exists only when FIXTURE_HAS_ABI_1_1. */
#ifndef FIXTURE_LOOPBACK_H
#define FIXTURE_LOOPBACK_H

#include "fixture_abi.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Queued datagrams per instance; a full queue makes send stop early (out_sent < count). */
#define LOOPBACK_QUEUE_CAP 256
/* Largest datagram accepted (the IPv4 UDP payload limit); larger is OM_ERR_TOO_LARGE. */
#define LOOPBACK_MAX_DATAGRAM 65507u
/* What the mtu slot answers, below the default max_mtu (1400) so a test can tell that the
 * kernel asked the slot (an ABI 1.0 plugin has no slot: the kernel must fall back to max_mtu). */
#define LOOPBACK_MTU 1200u
/* Port of the fake local address when the bind address has none or 0 ("discard"). */
#define LOOPBACK_DEFAULT_PORT 9

typedef struct loopback_packet loopback_packet;

typedef struct loopback {
    const om_host_api* host;
    om_host_ctx* ctx;
    om_datagram_sink_fn sink;
    void* sink_user_data;
    int event_fd;      /* readable while the queue is not empty */
    int is_open;
    om_address local;  /* 127.0.0.1:<bind port or 9> */
    loopback_packet* queue[LOOPBACK_QUEUE_CAP];
    size_t head;
    size_t count;
    uint32_t method_calls; /* extension-method calls, for fixture-ffi's "counter" */
} loopback;

int32_t loopback_create(const om_transport_create_args* args, void** out_instance);
void loopback_destroy(void* instance);
int32_t loopback_open(void* instance, const char* bind_address);
void loopback_close(void* instance);
int32_t loopback_send(void* instance, const om_datagram* batch, size_t count, size_t* out_sent);
int32_t loopback_poll_fd(void* instance);
int32_t loopback_drain(void* instance, size_t max, size_t* out_count);
int32_t loopback_local_address(void* instance, om_address* out);
#if FIXTURE_HAS_ABI_1_1
uint32_t loopback_mtu(void* instance);
#endif

/* Reports a failure through the host (set_error) and returns status. */
int32_t loopback_fail(loopback* lb, int32_t status, const char* message);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* FIXTURE_LOOPBACK_H */
