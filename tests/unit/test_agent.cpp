// The agent end to end over real sockets on 127.0.0.1: transport stacks, events, counters,
// errors, guarded plugin calls and extension methods.
#include "agent/agent.h"
#include "test_support.h"

#include <msgpack.hpp>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

using test::contains;
using test::error_of;

namespace {

struct RecordedEvent {
    om_event_type type;
    std::string address;
    std::string data;
    om_status status;
    std::string message;
    std::thread::id thread;
};

struct Recorder {
    std::mutex mutex;
    std::vector<RecordedEvent> events;
};

} // namespace

namespace {

void record(void* user_data, const om_event* e)
{
    auto* r = static_cast<Recorder*>(user_data);
    std::lock_guard<std::mutex> lock(r->mutex);
    r->events.push_back({e->type, e->address ? e->address : "", std::string(reinterpret_cast<const char*>(e->data), e->len),
                         e->status, e->message ? e->message : "", std::this_thread::get_id()});
}

struct TestAgent {
    Recorder recorder;
    std::unique_ptr<om::Agent> agent;

    TestAgent(om::PluginRegistry& reg, const char* transport = "udp", const char* plugin_options = nullptr,
              om_event_mode mode = OM_EVENTS_DISPATCH)
    {
        om_agent_options o = om::default_agent_options();
        o.bind_address = "127.0.0.1";
        o.transport_plugin = transport;
        o.plugin_options = plugin_options;
        o.on_event = record;
        o.user_data = &recorder;
        o.event_mode = mode;
        agent = std::make_unique<om::Agent>(o, reg);
    }

    // Dispatches (or waits, in loop-thread mode) until `count` datagram events or the deadline.
    std::vector<RecordedEvent> datagrams(size_t count, int ms = 3000)
    {
        auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
        while (std::chrono::steady_clock::now() < deadline) {
            {
                std::lock_guard<std::mutex> lock(recorder.mutex);
                size_t n = 0;
                for (auto& e : recorder.events) n += e.type == OM_EVENT_DATAGRAM;
                if (n >= count) break;
            }
            try {
                agent->dispatch(20);
            } catch (const om::Error& e) {
                if (e.status() == OM_ERR_STATE) std::this_thread::sleep_for(std::chrono::milliseconds(5));
                else if (e.status() != OM_ERR_TIMEOUT) throw;
            }
        }
        std::lock_guard<std::mutex> lock(recorder.mutex);
        std::vector<RecordedEvent> out;
        for (auto& e : recorder.events)
            if (e.type == OM_EVENT_DATAGRAM) out.push_back(e);
        return out;
    }

    void send(const std::string& to, const std::string& bytes)
    {
        agent->send_datagram(to, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    }
};

std::vector<uint8_t> no_args()
{
    return {0x90};
}

} // namespace

TEST_CASE("two agents exchange datagrams over transport-udp on loopback", "[agent]")
{
    auto reg = test::registry_of({});
    TestAgent a(reg), b(reg);
    a.agent->open_transport();
    b.agent->open_transport();
    std::string a_addr = a.agent->local_address(), b_addr = b.agent->local_address();
    CHECK(contains(a_addr, "127.0.0.1:"));
    CHECK(a.agent->transport_mtu() == 1400);  // loopback's MTU is larger: max_mtu caps it

    for (int i = 0; i < 50; ++i) a.send(b_addr, "hello #" + std::to_string(i));
    b.send(a_addr, "back");
    auto at_b = b.datagrams(50);
    auto at_a = a.datagrams(1);
    REQUIRE(at_b.size() == 50);
    REQUIRE(at_a.size() == 1);
    CHECK(at_a[0].data == "back");
    CHECK(at_a[0].address == b_addr);
    for (int i = 0; i < 50; ++i) {
        CHECK(at_b[i].address == a_addr);
        CHECK(at_b[i].data == "hello #" + std::to_string(i));  // loopback keeps order
    }
    CHECK(a.agent->counters().get("transport.datagrams_sent") == 50);
    CHECK(b.agent->counters().get("transport.datagrams_received") == 50);
    CHECK(b.agent->counters().get("demux.delivery") == 50);
    // The plugin counts a receive batch after handing its datagrams on, so its counter may trail
    // the events by one batch for a moment.
    for (int i = 0; i < 200 && b.agent->counters().get("plugin.transport-udp.datagrams_received") < 50; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    CHECK(b.agent->counters().get("plugin.transport-udp.datagrams_received") == 50);
}

TEST_CASE("events arrive on the loop thread in the default mode, open and close are events", "[agent]")
{
    auto reg = test::registry_of({});
    TestAgent a(reg, "udp", nullptr, OM_EVENTS_ON_LOOP_THREAD);
    a.agent->open_transport();
    a.send(a.agent->local_address(), "to myself");
    auto got = a.datagrams(1);
    REQUIRE(got.size() == 1);
    CHECK(got[0].thread != std::this_thread::get_id());
    a.agent->close_transport();
    std::lock_guard<std::mutex> lock(a.recorder.mutex);
    REQUIRE(a.recorder.events.size() >= 3);
    CHECK(a.recorder.events.front().type == OM_EVENT_TRANSPORT_OPENED);
    CHECK(a.recorder.events.back().type == OM_EVENT_TRANSPORT_CLOSED);
}

TEST_CASE("datagrams that look like STUN or ChannelData reach the application when no plugin claims them", "[agent][demux]")
{
    auto reg = test::registry_of({});
    TestAgent a(reg);
    a.agent->open_transport();
    std::string self = a.agent->local_address();
    a.send(self, std::string("\x00\x01 stun-ish", 11));
    a.send(self, "\x40\x00 channel-ish");
    REQUIRE(a.datagrams(2).size() == 2);
    CHECK(a.agent->counters().get("demux.stun") == 1);
    CHECK(a.agent->counters().get("demux.turn_channel") == 1);
    CHECK(a.agent->counters().get("demux.unclaimed") == 2);
}

TEST_CASE("STUN Binding indications (keep-alives) are counted, never the application's datagram", "[agent][demux]")
{
    auto reg = test::registry_of({});
    TestAgent a(reg), b(reg);
    a.agent->open_transport();
    b.agent->open_transport();
    // RFC 8445 §11 / RFC 7675: type 0x0011, length 0, the magic cookie, a transaction id.
    const std::string indication("\x00\x11\x00\x00\x21\x12\xa4\x42" "keepalive-id", 20);
    a.send(b.agent->local_address(), indication);
    a.send(b.agent->local_address(), "after the keep-alive");  // loopback keeps order
    auto got = b.datagrams(2, 1000);
    REQUIRE(got.size() == 1);
    CHECK(got[0].data == "after the keep-alive");
    CHECK(b.agent->counters().get("ice.indications_received") == 1);
    CHECK(b.agent->counters().get("demux.stun") == 1);
    CHECK(b.agent->counters().get("demux.unclaimed") == 0);
}

TEST_CASE("bad sends fail with a clear status and leave the agent working", "[agent]")
{
    auto reg = test::registry_of({});
    TestAgent a(reg);
    CHECK(error_of([&] { a.send("127.0.0.1:9", "x"); }).status() == OM_ERR_CLOSED);
    CHECK(error_of([&] { a.agent->local_address(); }).status() == OM_ERR_STATE);
    a.agent->open_transport();
    CHECK(error_of([&] { a.agent->open_transport(); }).status() == OM_ERR_STATE);
    CHECK(error_of([&] { a.send("not-an-address", "x"); }).status() == OM_ERR_INVALID_ARGUMENT);
    CHECK(error_of([&] { a.send("127.0.0.1", "x"); }).status() == OM_ERR_INVALID_ARGUMENT);  // no port
    auto big = error_of([&] { a.send(a.agent->local_address(), std::string(1401, 'x')); });
    CHECK(big.status() == OM_ERR_TOO_LARGE);
    CHECK(contains(big.what(), "1400"));
    a.send(a.agent->local_address(), std::string(1400, 'y'));
    REQUIRE(a.datagrams(1).size() == 1);
    a.agent->close_transport();
    a.agent->close_transport();  // idempotent
    a.agent->open_transport();   // and it reopens
    a.send(a.agent->local_address(), "again");
    CHECK(a.datagrams(2).size() == 2);
}

TEST_CASE("netsim stacked on udp drops, delays and counts as configured", "[agent][netsim]")
{
    auto reg = test::registry_of({});
    SECTION("loss 1.0 delivers nothing")
    {
        TestAgent a(reg, "netsim:udp", "netsim.loss=1.0;netsim.seed=3"), b(reg);
        a.agent->open_transport();
        b.agent->open_transport();
        for (int i = 0; i < 20; ++i) a.send(b.agent->local_address(), "lost");
        CHECK(b.datagrams(1, 300).empty());
        CHECK(a.agent->counters().get("plugin.netsim.dropped_loss") == 20);
        CHECK(a.agent->counters().get("plugin.transport-udp.datagrams_sent") == 0);
    }
    SECTION("a 40 ms delay holds every datagram at least that long")
    {
        TestAgent a(reg, "netsim:udp", "netsim.delay_ms=40"), b(reg);
        a.agent->open_transport();
        b.agent->open_transport();
        auto start = std::chrono::steady_clock::now();
        for (int i = 0; i < 5; ++i) a.send(b.agent->local_address(), "late");
        REQUIRE(b.datagrams(5).size() == 5);
        CHECK(std::chrono::steady_clock::now() - start >= std::chrono::milliseconds(40));
        CHECK(a.agent->counters().get("plugin.netsim.delayed") == 5);
    }
}

TEST_CASE("transport stacks are checked: decorators need an inner transport", "[agent][netsim]")
{
    auto reg = test::registry_of({});
    om_agent_options o = om::default_agent_options();
    o.transport_plugin = "netsim";
    CHECK(error_of([&] { om::Agent agent(o, reg); }).status() == OM_ERR_INVALID_ARGUMENT);
    o.transport_plugin = "udp:netsim";
    CHECK(contains(error_of([&] { om::Agent agent(o, reg); }).what(), "not a decorator"));
    o.transport_plugin = "netsim:udp";
    o.plugin_options = "netsim.loss=2";
    om::Agent agent(o, reg);  // settings are read when the transport opens
    auto e = error_of([&] { agent.open_transport(); });
    CHECK(e.status() != OM_OK);
    CHECK(contains(e.what(), "loss"));
}

TEST_CASE("a plugin built for ABI 1.0 carries datagrams in this kernel", "[agent][abi]")
{
    auto reg = test::registry_of({"abi_1_0"});
    TestAgent a(reg, "fixture-abi10");
    a.agent->open_transport();
    CHECK(a.agent->transport_mtu() == 1400);  // no mtu slot in 1.0: max_mtu
    a.send(a.agent->local_address(), "from the past");
    auto got = a.datagrams(1);
    REQUIRE(got.size() == 1);
    CHECK(got[0].data == "from the past");
}

TEST_CASE("a throwing plugin gives errors, not a crash", "[agent][guard]")
{
    auto reg = test::registry_of({"throws"});
    TestAgent a(reg, "fixture-throws");
    a.agent->open_transport();
    auto e = error_of([&] { a.send("127.0.0.1:9", "boom"); });
    CHECK(e.status() == OM_ERR_PLUGIN);
    CHECK(contains(e.what(), "send exploded"));
    auto m = error_of([&] { auto args = no_args(); a.agent->plugin_call("fixture-throws", "boom", args.data(), args.size()); });
    CHECK(m.status() == OM_ERR_PLUGIN);
    CHECK(a.agent->local_address().size() > 0);  // still answering
}

TEST_CASE("extension methods are called on the agent's own plugin instance", "[agent][ffi]")
{
    auto reg = test::registry_of({"ffi"});
    TestAgent a(reg, "fixture-ffi"), u(reg);
    auto args = no_args();
    CHECK(error_of([&] { a.agent->plugin_call("fixture-ffi", "counter", args.data(), args.size()); }).status() == OM_ERR_STATE);
    a.agent->open_transport();
    u.agent->open_transport();

    auto call = [&](om::Agent& agent, const char* plugin, const char* method, const std::vector<uint8_t>& in) {
        auto out = agent.plugin_call(plugin, method, in.data(), in.size());
        return msgpack::unpack(reinterpret_cast<const char*>(out.data()), out.size());
    };
    msgpack::sbuffer buf;
    msgpack::packer<msgpack::sbuffer> pk(buf);
    pk.pack_array(2);
    pk.pack(20);
    pk.pack(22);
    std::vector<uint8_t> two(buf.data(), buf.data() + buf.size());
    CHECK(call(*a.agent, "fixture-ffi", "add_i32", two).get().as<int>() == 42);
    auto calls = call(*a.agent, "fixture-ffi", "counter", args).get().as<uint32_t>();
    CHECK(calls >= 2);  // counts calls on this instance, so the instance pointer arrived

    auto buffers = call(*u.agent, "transport-udp", "get_socket_buffers", args).get().as<std::vector<uint32_t>>();
    REQUIRE(buffers.size() == 2);
    CHECK(buffers[0] > 0);
    CHECK(buffers[1] > 0);

    CHECK(error_of([&] { call(*a.agent, "fixture-ffi", "nope", args); }).status() == OM_ERR_NOT_FOUND);
    CHECK(error_of([&] { call(*a.agent, "nat-stun", "x", args); }).status() == OM_ERR_NOT_FOUND);
    CHECK(error_of([&] { call(*a.agent, "fixture-ffi", "add_i32", args); }).status() == OM_ERR_TYPE_MISMATCH);
}

TEST_CASE("options are read within struct_size and validated", "[agent][options]")
{
    auto reg = test::registry_of({});
    om_agent_options o = om::default_agent_options();
    o.max_mtu = 10;
    CHECK(contains(error_of([&] { om::Agent agent(o, reg); }).what(), "max_mtu"));
    o = om::default_agent_options();
    o.plugin_options = "loss=1";
    CHECK(error_of([&] { om::Agent agent(o, reg); }).status() == OM_ERR_INVALID_ARGUMENT);
    o = om::default_agent_options();
    o.bind_address = "999.1.1.1";
    CHECK(contains(error_of([&] { om::Agent agent(o, reg); }).what(), "bind_address"));
    for (int32_t busy_poll_us : {-1, 10'001}) {
        o = om::default_agent_options();
        o.busy_poll_us = busy_poll_us;
        CHECK(contains(error_of([&] { om::Agent agent(o, reg); }).what(), "busy_poll_us must be 0..10000"));
    }
    // A 0.4 caller from before busy_poll_us: its struct ends at identity_file, polling stays off.
    o = om::default_agent_options();
    o.struct_size = offsetof(om_agent_options, busy_poll_us);
    o.busy_poll_us = -7;  // past struct_size: never read
    { om::Agent agent(o, reg); }

    // An older caller's smaller struct: the missing fields take their defaults.
    o = om::default_agent_options();
    o.struct_size = offsetof(om_agent_options, bind_address);
    o.max_mtu = 1200;
    o.bind_address = "garbage that is past struct_size";
    om::Agent old_caller(o, reg);
    old_caller.open_transport();
    CHECK(old_caller.transport_mtu() == 1200);
    CHECK(contains(old_caller.local_address(), "127.0.0.1:"));

    // A newer caller's larger struct is fine while the unknown tail is zero.
    struct Newer {
        om_agent_options base;
        uint64_t future_field;
    } newer{om::default_agent_options(), 0};
    newer.base.struct_size = sizeof newer;
    { om::Agent agent(newer.base, reg); }
    newer.future_field = 1;
    CHECK(contains(error_of([&] { om::Agent agent(newer.base, reg); }).what(), "newer"));
}

TEST_CASE("TURN options are checked together and need no TURN plugin to create the agent", "[agent][options]")
{
    auto reg = test::registry_of({});
    om_agent_options o = om::default_agent_options();
    o.bind_address = "127.0.0.1";
    o.turn_username = "u";  // credentials without a server
    auto e = error_of([&] { om::Agent agent(o, reg); });
    CHECK(e.status() == OM_ERR_INVALID_ARGUMENT);
    CHECK(contains(e.what(), "turn_username is set without turn_server"));
    o = om::default_agent_options();
    o.bind_address = "127.0.0.1";
    o.turn_server = "127.0.0.1";
    o.turn_password = "p";  // a password without a username
    e = error_of([&] { om::Agent agent(o, reg); });
    CHECK(e.status() == OM_ERR_INVALID_ARGUMENT);
    CHECK(contains(e.what(), "turn_password is set without turn_username"));
    o.turn_port = 0;  // out of range
    CHECK(error_of([&] { om::Agent agent(o, reg); }).status() == OM_ERR_INVALID_ARGUMENT);
    // A TURN server with credentials and no turn-client installed: the agent is created (TURN
    // then says why it cannot run), like the other default plugins.
    o = om::default_agent_options();
    o.bind_address = "127.0.0.1";
    o.turn_server = "127.0.0.1";
    o.turn_username = "u";
    o.turn_password = "p";
    o.turn_port = 3479;
    om::Agent agent(o, reg);
}

TEST_CASE("the server URL picks the default bind address", "[agent][options]")
{
    auto reg = test::registry_of({});
    for (const char* url : {"ws://127.0.0.1:8080", "ws://localhost:8080/v1/signal"}) {
        om_agent_options o = om::default_agent_options();
        o.server_url = url;
        om::Agent agent(o, reg);
        agent.open_transport();
        CHECK(contains(agent.local_address(), "127.0.0.1:"));
    }
}

TEST_CASE("a mistyped plugin setting or plugin name is an error, not silently ignored", "[agent][options]")
{
    auto reg = test::registry_of({});
    om_agent_options o = om::default_agent_options();
    o.transport_plugin = "netsim:udp";
    o.plugin_options = "netsm.loss=0.5";
    auto e = error_of([&] { om::Agent agent(o, reg); });
    CHECK(e.status() == OM_ERR_INVALID_ARGUMENT);
    CHECK(contains(e.what(), "netsm"));

    o.plugin_options = "netsim.los=0.5";
    om::Agent agent(o, reg);
    auto typo = error_of([&] { agent.open_transport(); });
    CHECK(typo.status() == OM_ERR_INVALID_ARGUMENT);
    CHECK(contains(typo.what(), "no setting \"los\""));
    CHECK(contains(typo.what(), "loss"));
    CHECK(error_of([&] { agent.local_address(); }).status() == OM_ERR_STATE);  // not left half open
}

TEST_CASE("a decorator's failure carries the reason its inner transport gave", "[agent][netsim]")
{
    auto reg = test::registry_of({});
    om_agent_options o = om::default_agent_options();
    o.transport_plugin = "netsim:udp";
    o.bind_address = "192.0.2.1:9";  // TEST-NET-1: not an address of this machine, bind fails
    om::Agent agent(o, reg);
    auto e = error_of([&] { agent.open_transport(); });
    CHECK(contains(e.what(), "transport-udp: "));
}

TEST_CASE("an event callback may close the transport while the transport is delivering", "[agent][guard]")
{
    auto reg = test::registry_of({});
    struct Ctx {
        om::Agent* agent = nullptr;
        std::atomic<int> datagrams{0};
        std::atomic<bool> closed{false};
    } ctx;
    om_agent_options o = om::default_agent_options();
    o.bind_address = "127.0.0.1";
    o.user_data = &ctx;
    o.on_event = [](void* ud, const om_event* e) {
        auto* c = static_cast<Ctx*>(ud);
        if (e->type == OM_EVENT_DATAGRAM && ++c->datagrams == 1) c->agent->close_transport();
        if (e->type == OM_EVENT_TRANSPORT_CLOSED) c->closed = true;
    };
    om::Agent agent(o, reg);
    ctx.agent = &agent;
    agent.open_transport();
    std::string self = agent.local_address();
    const std::string payload = "x";
    for (int i = 0; i < 20; ++i) {
        try {
            agent.send_datagram(self, reinterpret_cast<const uint8_t*>(payload.data()), 1);
        } catch (const om::Error& e) {
            REQUIRE(e.status() == OM_ERR_CLOSED);  // the callback already closed it
            break;
        }
    }
    for (int i = 0; i < 200 && !ctx.closed; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    CHECK(ctx.closed);
    CHECK(ctx.datagrams == 1);  // nothing after the close
    CHECK(error_of([&] { agent.local_address(); }).status() == OM_ERR_STATE);
}

namespace {
struct DestroyCtx {
    om_agent* agent = nullptr;
    std::atomic<bool> freed{false};
};
void destroy_on_datagram(void* ud, const om_event* e)
{
    auto* c = static_cast<DestroyCtx*>(ud);
    if (e->type == OM_EVENT_DATAGRAM) om_agent_destroy(c->agent);
}
void mark_freed(void* ud)
{
    static_cast<DestroyCtx*>(ud)->freed = true;
}
om_agent* agent_destroying_itself(DestroyCtx& ctx, om_event_mode mode)
{
    om_agent_options o = OM_AGENT_OPTIONS_INIT;
    o.bind_address = "127.0.0.1";
    o.on_event = destroy_on_datagram;
    o.user_data = &ctx;
    o.user_data_free = mark_freed;
    o.event_mode = mode;
    REQUIRE(om_agent_create(&o, &ctx.agent, nullptr, 0) == OM_OK);
    REQUIRE(om_agent_open_transport(ctx.agent) == OM_OK);
    char address[64];
    REQUIRE(om_agent_local_address(ctx.agent, address, sizeof address, nullptr) == OM_OK);
    const uint8_t byte = 'x';
    REQUIRE(om_agent_send_datagram(ctx.agent, address, &byte, 1) == OM_OK);
    return ctx.agent;
}
} // namespace

TEST_CASE("om_agent_destroy from the agent's own callback is deferred, never a crash or a self-join", "[agent][guard]")
{
    SECTION("loop-thread mode")
    {
        DestroyCtx ctx;
        agent_destroying_itself(ctx, OM_EVENTS_ON_LOOP_THREAD);
        for (int i = 0; i < 400 && !ctx.freed; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
        CHECK(ctx.freed);
    }
    SECTION("dispatch mode")
    {
        DestroyCtx ctx;
        om_agent* agent = agent_destroying_itself(ctx, OM_EVENTS_DISPATCH);
        om_status status = OM_OK;
        for (int i = 0; i < 100 && !ctx.freed; ++i) status = om_agent_dispatch(agent, 20, nullptr);
        CHECK(status == OM_ERR_CLOSED);
        CHECK(ctx.freed);
    }
}
