/* The seed's quick start in C: a signaling server, two agents that connect to it, alice connects
 * to bob (directly, or through the server relay), sends reliable messages, bob receives them.
 *   quickstart_c [p2p|server]      (default p2p; everything on 127.0.0.1)
 * Exits 0 when bob received every message intact and in order. */
#include <orbitmesh/orbitmesh.h>

#include <stdio.h>
#include <string.h>

enum { kMessages = 100 };

typedef struct {
    int received;    /* messages from alice, in order */
    int out_of_order;
} Inbox;

static void bob_events(void* user_data, const om_event* event)
{
    Inbox* inbox = (Inbox*)user_data;
    char expected[32];
    if (event->type != OM_EVENT_MESSAGE) return;
    snprintf(expected, sizeof expected, "hello %d", inbox->received);
    if (event->len != strlen(expected) || memcmp(event->data, expected, event->len) != 0) ++inbox->out_of_order;
    ++inbox->received;
}

static om_agent* start_agent(const char* url, const char* id, om_event_cb on_event, void* user_data)
{
    om_agent_options options = OM_AGENT_OPTIONS_INIT;
    om_agent* agent = NULL;
    char error[OM_ERROR_BUF_SIZE] = "";
    options.server_url = url;
    options.agent_id = id;
    options.bind_address = "127.0.0.1";
    options.on_event = on_event;
    options.user_data = user_data;
    options.event_mode = on_event ? OM_EVENTS_DISPATCH : OM_EVENTS_ON_LOOP_THREAD;
    if (om_agent_create(&options, &agent, error, sizeof error) != OM_OK) {
        fprintf(stderr, "om_agent_create(%s): %s\n", id, error);
        return NULL;
    }
    if (om_agent_connect(agent) != OM_OK) {
        fprintf(stderr, "om_agent_connect(%s): %s\n", id, om_agent_last_error(agent));
        om_agent_destroy(agent);
        return NULL;
    }
    return agent;
}

static int run(const char* url, om_transport_type via)
{
    Inbox inbox = {0, 0};
    om_agent* bob = start_agent(url, "bob", bob_events, &inbox);
    om_agent* alice = bob ? start_agent(url, "alice", NULL, NULL) : NULL;
    om_peer_state state;
    int status = 1;
    memset(&state, 0, sizeof state);
    state.struct_size = sizeof state; /* how much of it this program knows (ABI-RULES R6) */
    if (!alice) goto done;
    if (om_agent_connect_peer(alice, "bob", via, &state) != OM_OK) {
        fprintf(stderr, "om_agent_connect_peer: %s\n", om_agent_last_error(alice));
        goto done;
    }
    printf("alice -> bob: connected over %s in %.1f ms, cipher %s\n",
           state.active_transport == OM_TRANSPORT_P2P ? "P2P" : "the server relay", state.connect_ms,
           state.cipher_suite);
    for (int i = 0; i < kMessages; ++i) {
        char text[32];
        int n = snprintf(text, sizeof text, "hello %d", i);
        if (om_agent_send(alice, "bob", (const uint8_t*)text, (size_t)n, OM_DELIVERY_RELIABLE_ORDERED) != OM_OK) {
            fprintf(stderr, "om_agent_send: %s\n", om_agent_last_error(alice));
            goto done;
        }
    }
    /* bob's events wait in its queue until this thread dispatches them; give up after 10 s
     * without any (each dispatch waits up to 100 ms for one). */
    for (int idle = 0; idle < 100 && inbox.received < kMessages;) {
        size_t dispatched = 0;
        om_agent_dispatch(bob, 100, &dispatched);
        idle = dispatched ? 0 : idle + 1;
    }
    printf("bob received %d of %d messages, %d out of order or damaged\n", inbox.received, kMessages,
           inbox.out_of_order);
    status = inbox.received == kMessages && inbox.out_of_order == 0 ? 0 : 1;
done:
    if (alice) om_agent_destroy(alice);
    if (bob) om_agent_destroy(bob);
    return status;
}

int main(int argc, char** argv)
{
    const om_transport_type via =
        argc > 1 && strcmp(argv[1], "server") == 0 ? OM_TRANSPORT_SERVER_RELAY : OM_TRANSPORT_P2P;
    om_server_options options;
    om_server* server = NULL;
    char error[OM_ERROR_BUF_SIZE] = "";
    char url[64];
    int32_t port = 0;
    int status;
    om_server_options_init(&options);
    options.bind = "127.0.0.1";
    options.http_port = 0;  /* a free port */
    options.stun_port = -1; /* and the embedded STUN server on another */
    options.open = 1;       /* no tokens: a sample on loopback */
    if (om_server_create(&options, &server, error, sizeof error) != OM_OK || om_server_start(server) != OM_OK ||
        om_server_http_port(server, &port) != OM_OK) {
        fprintf(stderr, "server: %s\n", server ? om_server_last_error(server) : error);
        if (server) om_server_destroy(server);
        return 1;
    }
    snprintf(url, sizeof url, "ws://127.0.0.1:%d", (int)port);
    status = run(url, via);
    om_server_stop(server);
    om_server_destroy(server);
    return status;
}
