// The kernel side of NAT discovery with plugins that break the rules, and with applications that
// call back into the agent at awkward moments (each case was a crash or a stall once).
#include "agent/agent.h"
#include "test_support.h"

#include <chrono>
#include <thread>

namespace {

struct NatAgent {
    std::unique_ptr<om::Agent> agent;
    om_event_cb on_event = nullptr;
    void* user_data = nullptr;

    NatAgent(om::PluginRegistry& reg, const char* nat_plugin, int timeout_ms, om_event_cb cb = nullptr,
             void* cb_data = nullptr)
    {
        om_agent_options o = om::default_agent_options();
        o.bind_address = "127.0.0.1";
        o.nat_discovery_plugin = nat_plugin;
        o.stun_server = "127.0.0.1";
        o.stun_port = 9;  // discard: nothing answers
        o.connection_timeout_ms = timeout_ms;
        o.on_event = cb;
        o.user_data = cb_data;
        agent = std::make_unique<om::Agent>(o, reg);
    }
};

} // namespace

TEST_CASE("a plugin that answers from inside cancel after its budget is only counted as late", "[agent][nat]")
{
    auto reg = test::registry_of({"nat_cancel"});
    NatAgent a(reg, "fixture-nat-cancel", 300);
    auto started = std::chrono::steady_clock::now();
    om::NatResult result = a.agent->nat_info(false);
    CHECK(result.status == OM_ERR_TIMEOUT);
    CHECK(test::contains(result.error, "did not finish within 300 ms"));
    CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(3));
    CHECK(a.agent->counters().get("nat.plugin_overran") == 1);
    CHECK(a.agent->counters().get("nat.late_answers") == 1);
}

TEST_CASE("closing the transport during discovery ends it; a plugin answering from cancel is late", "[agent][nat]")
{
    auto reg = test::registry_of({"nat_cancel"});
    NatAgent a(reg, "fixture-nat-cancel", 5000);
    om::NatResult result;
    std::thread asker([&] { result = a.agent->nat_info(false); });
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    a.agent->close_transport();
    asker.join();
    CHECK(result.status == OM_ERR_CLOSED);
    CHECK(a.agent->counters().get("nat.late_answers") == 1);
    // A new run starts cleanly after the aborted one.
    a.agent->open_transport();
    std::thread again([&] { result = a.agent->nat_info(true); });
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    a.agent->close_transport();
    again.join();
    CHECK(result.status == OM_ERR_CLOSED);
    CHECK(a.agent->counters().get("nat.late_answers") == 2);
}

namespace {

// Closes the transport from the TRANSPORT_OPENED callback that discovery's own open fires.
void close_on_open(void* user_data, const om_event* event)
{
    if (event->type == OM_EVENT_TRANSPORT_OPENED) (*static_cast<om::Agent**>(user_data))->close_transport();
}

// Asks for the NAT from inside the agent's own callback.
struct AskFromCallback {
    om::Agent* agent = nullptr;
    om_status status = OM_OK;
    bool asked = false;
};
void ask_on_open(void* user_data, const om_event* event)
{
    auto* ask = static_cast<AskFromCallback*>(user_data);
    if (event->type != OM_EVENT_TRANSPORT_OPENED || ask->asked) return;
    ask->asked = true;
    try {
        ask->agent->nat_info(false);
    } catch (const om::Error& e) {
        ask->status = e.status();
    }
}

} // namespace

TEST_CASE("a callback that closes the transport discovery just opened gets an error, not a crash", "[agent][nat]")
{
    auto reg = test::registry_of({"nat_cancel"});
    om::Agent* self = nullptr;
    NatAgent a(reg, "fixture-nat-cancel", 1000, close_on_open, &self);
    self = a.agent.get();
    auto e = test::error_of([&] { a.agent->nat_info(false); });
    CHECK(e.status() == OM_ERR_CLOSED);
}

TEST_CASE("om_agent_nat_info from the agent's own callback fails at once instead of stalling", "[agent][nat]")
{
    auto reg = test::registry_of({"nat_cancel"});
    AskFromCallback ask;
    NatAgent a(reg, "fixture-nat-cancel", 2000, ask_on_open, &ask);
    ask.agent = a.agent.get();
    auto started = std::chrono::steady_clock::now();
    a.agent->open_transport();
    CHECK(std::chrono::steady_clock::now() - started < std::chrono::milliseconds(1000));
    CHECK(ask.asked);
    CHECK(ask.status == OM_ERR_STATE);
}

TEST_CASE("the transport discovery opened is taken over by the first om_agent_open_transport", "[agent][nat]")
{
    auto reg = test::registry_of({"nat_cancel"});
    NatAgent a(reg, "fixture-nat-cancel", 300);
    CHECK(a.agent->nat_info(false).status == OM_ERR_TIMEOUT);  // opened the transport to test it
    const std::string local = a.agent->local_address();
    a.agent->open_transport();  // takes it over: OM_OK, same socket
    CHECK(a.agent->local_address() == local);
    CHECK(test::error_of([&] { a.agent->open_transport(); }).status() == OM_ERR_STATE);
}
