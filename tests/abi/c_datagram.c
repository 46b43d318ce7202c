/* c_datagram: one capability through every surface, the C one. Two agents on 127.0.0.1 with
 * the default event mode (callbacks on each agent's loop thread) exchange datagrams through the
 * public C API only: 100 of different sizes A->B, a full-MTU one, and one B->A. Each arrives as
 * an OM_EVENT_DATAGRAM with the sender's address and the exact bytes; the counters agree; one
 * byte over the MTU is OM_ERR_TOO_LARGE. Every wait is bounded (5 s). */
#define _POSIX_C_SOURCE 200809L

#include <orbitmesh/orbitmesh.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"

#define DATAGRAMS 100
#define WINDOW 10         /* sent before waiting for them: keeps the socket buffer from overflowing */
#define WAIT_SECONDS 5
/* First payload byte: in RFC 7983's "other" range, so the kernel's demultiplexer hands the
 * datagram to the application rather than to STUN or TURN. */
#define MARK_SEQUENCE 0xD0 /* A->B numbered datagrams */
#define MARK_FULL_MTU 0xD1 /* A->B one datagram of exactly the MTU */
#define MARK_REPLY 0xD2    /* B->A */

/* What one agent's callback saw; written on the loop thread, read by main under the mutex. */
typedef struct inbox {
    pthread_mutex_t mutex;
    pthread_cond_t changed;
    char expected_source[OM_ERROR_BUF_SIZE];
    uint32_t full_mtu; /* expected length of the MARK_FULL_MTU datagram */
    int seen[DATAGRAMS];
    int sequence_total;
    int full_mtu_total;
    int reply_total;
    int bad; /* wrong source, size or bytes, duplicates, unknown marks */
} inbox;

static size_t size_of(int index)
{
    return 3 + (size_t)index * 13; /* 3 .. 1290 bytes, all below the 1400 default MTU */
}

static uint8_t pattern(int index, size_t offset)
{
    return (uint8_t)(index * 7 + (int)offset);
}

/* [mark][index lo][index hi][pattern...] */
static void fill(uint8_t* buf, size_t len, uint8_t mark, int index)
{
    size_t j;
    buf[0] = mark;
    buf[1] = (uint8_t)(index & 0xFF);
    buf[2] = (uint8_t)(index >> 8);
    for (j = 3; j < len; ++j) buf[j] = pattern(index, j);
}

static int well_formed(const uint8_t* data, size_t len, size_t expected_len, int index)
{
    size_t j;
    if (len != expected_len || data[1] != (uint8_t)(index & 0xFF) || data[2] != (uint8_t)(index >> 8))
        return 0;
    for (j = 3; j < len; ++j)
        if (data[j] != pattern(index, j)) return 0;
    return 1;
}

/* Runs on the agent's loop thread: check, record, wake main. Must not block for long. */
static void on_event(void* user_data, const om_event* e)
{
    inbox* box = (inbox*)user_data;
    if (e->type != OM_EVENT_DATAGRAM) return;
    pthread_mutex_lock(&box->mutex);
    if (e->address == NULL || strcmp(e->address, box->expected_source) != 0 || e->len < 3) {
        box->bad++;
    } else {
        int index = e->data[1] | (e->data[2] << 8);
        switch (e->data[0]) {
        case MARK_SEQUENCE:
            if (index < DATAGRAMS && box->seen[index] == 0 &&
                well_formed(e->data, e->len, size_of(index), index)) {
                box->seen[index] = 1;
                box->sequence_total++;
            } else {
                box->bad++;
            }
            break;
        case MARK_FULL_MTU:
            if (well_formed(e->data, e->len, box->full_mtu, index)) box->full_mtu_total++;
            else box->bad++;
            break;
        case MARK_REPLY:
            if (well_formed(e->data, e->len, size_of(index), index)) box->reply_total++;
            else box->bad++;
            break;
        default:
            box->bad++;
        }
    }
    pthread_cond_broadcast(&box->changed);
    pthread_mutex_unlock(&box->mutex);
}

static void inbox_init(inbox* box)
{
    pthread_condattr_t attr;
    memset(box, 0, sizeof *box);
    pthread_mutex_init(&box->mutex, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&box->changed, &attr);
    pthread_condattr_destroy(&attr);
}

static void inbox_destroy(inbox* box)
{
    pthread_cond_destroy(&box->changed);
    pthread_mutex_destroy(&box->mutex);
}

/* Waits until *counter >= target or WAIT_SECONDS pass; returns whether it got there. */
static int wait_for(inbox* box, const int* counter, int target)
{
    struct timespec deadline;
    int reached;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += WAIT_SECONDS;
    pthread_mutex_lock(&box->mutex);
    while (*counter < target) {
        if (pthread_cond_timedwait(&box->changed, &box->mutex, &deadline) != 0) break;
    }
    reached = *counter >= target;
    pthread_mutex_unlock(&box->mutex);
    return reached;
}

static om_agent* create_agent(inbox* box)
{
    om_agent_options options = OM_AGENT_OPTIONS_INIT;
    om_agent* agent = NULL;
    char err[OM_ERROR_BUF_SIZE] = "";
    options.bind_address = "127.0.0.1";
    options.on_event = on_event;
    options.user_data = box;
    CHECK_STATUS(om_agent_create(&options, &agent, err, sizeof err), OM_OK);
    if (agent == NULL) fprintf(stderr, "c_datagram: om_agent_create: %s\n", err);
    return agent;
}

static uint64_t counter(om_agent* agent, const char* name)
{
    uint64_t value = 0;
    CHECK_STATUS(om_agent_counter(agent, name, &value), OM_OK);
    return value;
}

static void send_one(om_agent* from, const char* to, uint8_t mark, int index, size_t len)
{
    uint8_t* buf = malloc(len);
    fill(buf, len, mark, index);
    CHECK_STATUS(om_agent_send_datagram(from, to, buf, len), OM_OK);
    free(buf);
}

static void exchange(om_agent* a, om_agent* b, inbox* box_a, inbox* box_b)
{
    char addr_a[OM_ERROR_BUF_SIZE], addr_b[OM_ERROR_BUF_SIZE];
    uint32_t mtu = 0;
    uint8_t* too_big;
    int i;

    CHECK_STATUS(om_agent_local_address(a, addr_a, sizeof addr_a, NULL), OM_OK);
    CHECK_STATUS(om_agent_local_address(b, addr_b, sizeof addr_b, NULL), OM_OK);
    CHECK_STATUS(om_agent_transport_mtu(a, &mtu), OM_OK);
    CHECK(mtu >= size_of(DATAGRAMS - 1) && mtu <= 1400);
    pthread_mutex_lock(&box_b->mutex);
    snprintf(box_b->expected_source, sizeof box_b->expected_source, "%s", addr_a);
    box_b->full_mtu = mtu;
    pthread_mutex_unlock(&box_b->mutex);
    pthread_mutex_lock(&box_a->mutex);
    snprintf(box_a->expected_source, sizeof box_a->expected_source, "%s", addr_b);
    pthread_mutex_unlock(&box_a->mutex);

    /* A->B in windows, each awaited, so a burst cannot overflow the receive buffer. */
    for (i = 0; i < DATAGRAMS; ++i) {
        send_one(a, addr_b, MARK_SEQUENCE, i, size_of(i));
        if ((i + 1) % WINDOW == 0 && !wait_for(box_b, &box_b->sequence_total, i + 1)) break;
    }
    CHECK(wait_for(box_b, &box_b->sequence_total, DATAGRAMS));

    /* Exactly the MTU passes; one byte more is refused before it reaches the wire. */
    send_one(a, addr_b, MARK_FULL_MTU, 0, mtu);
    CHECK(wait_for(box_b, &box_b->full_mtu_total, 1));
    too_big = calloc(1, (size_t)mtu + 1);
    CHECK_STATUS(om_agent_send_datagram(a, addr_b, too_big, (size_t)mtu + 1), OM_ERR_TOO_LARGE);
    CHECK(om_agent_last_error(a)[0] != '\0');
    free(too_big);

    send_one(b, addr_a, MARK_REPLY, 42, size_of(42));
    CHECK(wait_for(box_a, &box_a->reply_total, 1));

    pthread_mutex_lock(&box_b->mutex);
    CHECK(box_b->sequence_total == DATAGRAMS && box_b->full_mtu_total == 1 && box_b->bad == 0);
    pthread_mutex_unlock(&box_b->mutex);
    pthread_mutex_lock(&box_a->mutex);
    CHECK(box_a->reply_total == 1 && box_a->bad == 0);
    pthread_mutex_unlock(&box_a->mutex);

    /* Counters are updated before the event is emitted, so they are final here. */
    CHECK(counter(b, "transport.datagrams_received") == DATAGRAMS + 1);
    CHECK(counter(a, "transport.datagrams_sent") == DATAGRAMS + 1);
    CHECK(counter(a, "transport.datagrams_received") == 1);
    CHECK(counter(b, "transport.datagrams_sent") == 1);
    CHECK(counter(a, "no.such.counter") == 0);
    printf("c_datagram: %d + 1 datagrams A->B (%s -> %s), 1 B->A, mtu %u\n", DATAGRAMS, addr_a,
           addr_b, (unsigned)mtu);
}

int main(void)
{
    inbox box_a, box_b;
    om_agent *a, *b;
    inbox_init(&box_a);
    inbox_init(&box_b);
    a = create_agent(&box_a);
    b = create_agent(&box_b);
    if (a != NULL && b != NULL) {
        CHECK_STATUS(om_agent_open_transport(a), OM_OK);
        CHECK_STATUS(om_agent_open_transport(b), OM_OK);
        exchange(a, b, &box_a, &box_b);
        CHECK_STATUS(om_agent_close_transport(a), OM_OK);
        CHECK_STATUS(om_agent_close_transport(b), OM_OK);
    }
    om_agent_destroy(a); /* joins the loop thread: no callback runs after this */
    om_agent_destroy(b);
    inbox_destroy(&box_a);
    inbox_destroy(&box_b);
    return check_exit_code("c_datagram");
}
