/* Two OrbitMesh agents on 127.0.0.1: A sends one datagram to B, B prints it. */
#include <orbitmesh/orbitmesh.h>

#include <stdio.h>
#include <string.h>

static void on_event(void* user_data, const om_event* event)
{
    if (event->type == OM_EVENT_DATAGRAM) {
        printf("B received \"%.*s\" from %s\n", (int)event->len, (const char*)event->data,
               event->address);
        *(int*)user_data = 1;
    }
}

/* B queues its events until we dispatch them on this thread (OM_EVENTS_DISPATCH). */
static om_agent* start_agent(om_event_cb callback, void* user_data)
{
    om_agent_options options = OM_AGENT_OPTIONS_INIT;
    om_agent* agent = NULL;
    char error[OM_ERROR_BUF_SIZE] = "";
    options.bind_address = "127.0.0.1";
    options.on_event = callback;
    options.user_data = user_data;
    options.event_mode = callback ? OM_EVENTS_DISPATCH : OM_EVENTS_ON_LOOP_THREAD;
    if (om_agent_create(&options, &agent, error, sizeof error) != OM_OK) {
        fprintf(stderr, "om_agent_create: %s\n", error);
        return NULL;
    }
    if (om_agent_open_transport(agent) != OM_OK) {
        fprintf(stderr, "om_agent_open_transport: %s\n", om_agent_last_error(agent));
        om_agent_destroy(agent);
        return NULL;
    }
    return agent;
}

int main(void)
{
    int received = 0;
    char b_address[64] = "";
    const char* text = "hello from A";
    om_agent* a = start_agent(NULL, NULL);
    om_agent* b = start_agent(on_event, &received);

    printf("OrbitMesh %s\n", om_version());
    if (a && b && om_agent_local_address(b, b_address, sizeof b_address, NULL) == OM_OK &&
        om_agent_send_datagram(a, b_address, (const uint8_t*)text, strlen(text)) == OM_OK) {
        printf("A sent \"%s\" to %s\n", text, b_address);
        for (int i = 0; i < 50 && !received; ++i) om_agent_dispatch(b, 100, NULL);
    }
    om_agent_destroy(a);
    om_agent_destroy(b);
    printf("%s\n", received ? "done" : "nothing arrived");
    return received ? 0 : 1;
}
