/* In-memory loopback transport (see loopback.h). Everything runs on the agent's loop thread,
 * as plugin.h promises, so there is no locking. */
#define _POSIX_C_SOURCE 200809L

#include "loopback.h"

#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct loopback_packet {
    size_t len;
    uint8_t data[]; /* copied at send time: the caller's buffer is only borrowed */
};

int32_t loopback_fail(loopback* lb, int32_t status, const char* message)
{
    if (lb != NULL && lb->host != NULL && lb->host->set_error != NULL)
        lb->host->set_error(lb->ctx, message);
    return status;
}

/* Port of "ip:port" / "[v6]:port"; 0 when there is none. */
static uint16_t port_of(const char* bind_address)
{
    const char* colon;
    const char* close_bracket;
    unsigned long port;
    char* end = NULL;
    if (bind_address == NULL) return 0;
    colon = strrchr(bind_address, ':');
    close_bracket = strrchr(bind_address, ']');
    if (colon == NULL) return 0;
    /* A bare IPv6 address has colons but no "]:" before the port. */
    if (close_bracket == NULL && strchr(bind_address, ':') != colon) return 0;
    if (close_bracket != NULL && colon < close_bracket) return 0;
    port = strtoul(colon + 1, &end, 10);
    if (end == colon + 1 || *end != '\0' || port > 65535) return 0;
    return (uint16_t)port;
}

static void signal_readable(loopback* lb)
{
    uint64_t one = 1;
    ssize_t n = write(lb->event_fd, &one, sizeof one);
    (void)n; /* only fails when the counter would overflow, which still leaves it readable */
}

static void clear_readable(loopback* lb)
{
    uint64_t value;
    ssize_t n = read(lb->event_fd, &value, sizeof value);
    (void)n; /* EAGAIN when already clear */
}

static void drop_queue(loopback* lb)
{
    while (lb->count > 0) {
        free(lb->queue[lb->head]);
        lb->head = (lb->head + 1) % LOOPBACK_QUEUE_CAP;
        lb->count--;
    }
    lb->head = 0;
}

int32_t loopback_create(const om_transport_create_args* args, void** out_instance)
{
    om_transport_create_args copy;
    loopback* lb;
    if (args == NULL || out_instance == NULL) return OM_ERR_INVALID_ARGUMENT;
    /* Read only what the host's struct_size covers (ABI-RULES R6). */
    memset(&copy, 0, sizeof copy);
    memcpy(&copy, args, args->struct_size < sizeof copy ? args->struct_size : sizeof copy);
    if (copy.sink == NULL) return OM_ERR_INVALID_ARGUMENT;

    lb = (loopback*)calloc(1, sizeof *lb);
    if (lb == NULL) return OM_ERR_NO_MEMORY;
    lb->host = copy.base.host;
    lb->ctx = copy.base.ctx;
    lb->sink = copy.sink;
    lb->sink_user_data = copy.sink_user_data;
    lb->event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (lb->event_fd < 0) {
        free(lb);
        return OM_ERR_IO;
    }
    *out_instance = lb;
    return OM_OK;
}

void loopback_destroy(void* instance)
{
    loopback* lb = (loopback*)instance;
    if (lb == NULL) return;
    drop_queue(lb);
    close(lb->event_fd);
    free(lb);
}

int32_t loopback_open(void* instance, const char* bind_address)
{
    loopback* lb = (loopback*)instance;
    uint16_t port = port_of(bind_address);
    if (lb->is_open) return loopback_fail(lb, OM_ERR_STATE, "loopback: already open");
    memset(&lb->local, 0, sizeof lb->local);
    lb->local.family = 4;
    lb->local.port = port != 0 ? port : LOOPBACK_DEFAULT_PORT;
    lb->local.bytes[0] = 127;
    lb->local.bytes[3] = 1;
    lb->is_open = 1;
    return OM_OK;
}

void loopback_close(void* instance)
{
    loopback* lb = (loopback*)instance;
    lb->is_open = 0;
    drop_queue(lb);
    clear_readable(lb);
}

int32_t loopback_send(void* instance, const om_datagram* batch, size_t count, size_t* out_sent)
{
    loopback* lb = (loopback*)instance;
    size_t sent = 0;
    if (out_sent != NULL) *out_sent = 0;
    if (!lb->is_open) return loopback_fail(lb, OM_ERR_CLOSED, "loopback: not open");
    if (batch == NULL && count > 0) return OM_ERR_INVALID_ARGUMENT;
    for (; sent < count && lb->count < LOOPBACK_QUEUE_CAP; ++sent) {
        const om_datagram* d = &batch[sent];
        loopback_packet* p;
        if (d->len > LOOPBACK_MAX_DATAGRAM)
            return loopback_fail(lb, OM_ERR_TOO_LARGE, "loopback: datagram larger than 65507 bytes");
        p = (loopback_packet*)malloc(sizeof *p + d->len);
        if (p == NULL) return OM_ERR_NO_MEMORY;
        p->len = d->len;
        if (d->len > 0) memcpy(p->data, d->data, d->len);
        lb->queue[(lb->head + lb->count) % LOOPBACK_QUEUE_CAP] = p;
        lb->count++;
        if (out_sent != NULL) *out_sent = sent + 1;
    }
    if (sent > 0) signal_readable(lb);
    return OM_OK;
}

int32_t loopback_poll_fd(void* instance)
{
    return ((loopback*)instance)->event_fd;
}

int32_t loopback_drain(void* instance, size_t max, size_t* out_count)
{
    loopback* lb = (loopback*)instance;
    size_t done = 0;
    clear_readable(lb);
    /* The sink may send again (re-entrancy), so pop before handing over. */
    while (done < max && lb->count > 0 && lb->is_open) {
        loopback_packet* p = lb->queue[lb->head];
        om_datagram d;
        lb->head = (lb->head + 1) % LOOPBACK_QUEUE_CAP;
        lb->count--;
        d.data = p->len > 0 ? p->data : NULL;
        d.len = p->len;
        d.peer = lb->local;
        lb->sink(lb->sink_user_data, &d);
        free(p);
        ++done;
    }
    if (lb->count > 0) signal_readable(lb); /* more than max were queued: stay readable */
    if (out_count != NULL) *out_count = done;
    return OM_OK;
}

int32_t loopback_local_address(void* instance, om_address* out)
{
    loopback* lb = (loopback*)instance;
    if (out == NULL) return OM_ERR_INVALID_ARGUMENT;
    if (!lb->is_open) return loopback_fail(lb, OM_ERR_STATE, "loopback: not open");
    *out = lb->local;
    return OM_OK;
}

#if FIXTURE_HAS_ABI_1_1
uint32_t loopback_mtu(void* instance)
{
    (void)instance;
    return LOOPBACK_MTU;
}
#endif
