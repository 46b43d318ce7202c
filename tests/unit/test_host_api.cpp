// The host API a plugin calls: counters by name and timers, as plugins use them per packet.
#include "plugin_host/host_api.h"

#include <catch2/catch.hpp>

#include <cstring>
#include <future>
#include <string>

namespace {

struct Owner final : om::PluginOwner {
    om::EventLoop loop_;
    om::Counters counters_;
    om::EventLoop& loop() override { return loop_; }
    om::Counters& counters() override { return counters_; }
    om_status send_through_transport(const om_datagram&) override { return OM_ERR_NOT_SUPPORTED; }
};

uint64_t value(Owner& owner, const std::string& name) { return owner.counters_.counter(name).load(); }

} // namespace

TEST_CASE("counter_add counts by name, whether the plugin passes literals or reuses a buffer", "[host]")
{
    Owner owner;
    om_host_ctx ctx;
    ctx.owner = &owner;
    ctx.plugin_name = "fx";
    const om_host_api* host = om::host_api();

    char buffer[32];
    for (int round = 0; round < 3; ++round) {
        std::strcpy(buffer, "first");
        host->counter_add(&ctx, buffer, 1);
        std::strcpy(buffer, "second");  // same pointer, another name
        host->counter_add(&ctx, buffer, 2);
        for (int i = 0; i < 40; ++i) {  // more names than the recent-name cache holds
            const std::string name = "many" + std::to_string(i);
            host->counter_add(&ctx, name.c_str(), i);
        }
        host->counter_add(&ctx, "literal", -1);
        host->counter_add(&ctx, "literal", 3);
    }
    CHECK(value(owner, "plugin.fx.first") == 3);
    CHECK(value(owner, "plugin.fx.second") == 6);
    for (int i = 0; i < 40; ++i) CHECK(value(owner, "plugin.fx.many" + std::to_string(i)) == uint64_t(3 * i));
    CHECK(value(owner, "plugin.fx.literal") == 6);
}

TEST_CASE("a plugin timer re-armed 10,000 times fires once, at its last deadline, and leaves nothing behind", "[host]")
{
    Owner owner;
    om_host_ctx ctx;
    ctx.owner = &owner;
    ctx.plugin_name = "fx";
    owner.loop_.start("test-host");
    const om_host_api* host = om::host_api();
    struct Fired {
        int count = 0;
        uint64_t id = 0;
    } fired;
    std::promise<void> done;
    uint64_t last = 0;
    owner.loop_.run_sync([&] {
        uint64_t id = 0;
        for (int i = 0; i < 10'000; ++i) {  // as a QUIC deadline moving with every packet
            if (id) REQUIRE(host->timer_cancel(&ctx, id) == OM_OK);
            REQUIRE(host->timer_start(&ctx, 1'000, 0, [](void* user_data, uint64_t timer_id) {
                auto* f = static_cast<Fired*>(user_data);
                ++f->count;
                f->id = timer_id;
            }, &fired, &id) == OM_OK);
        }
        last = id;
        CHECK(ctx.timers.size() == 1);
        CHECK(owner.loop_.timer_count() == 1);
        return OM_OK;
    }, 5000);
    owner.loop_.run_sync([&] {
        owner.loop_.add_timer(50'000, 0, [&](uint64_t) { done.set_value(); });
        return OM_OK;
    }, 5000);
    REQUIRE(done.get_future().wait_for(std::chrono::seconds(5)) == std::future_status::ready);
    owner.loop_.run_sync([&] {
        CHECK(fired.count == 1);
        CHECK(fired.id == last);
        CHECK(ctx.timers.empty());
        CHECK(owner.loop_.timer_count() == 0);
        ctx.cancel_timers();
        return OM_OK;
    }, 5000);
    owner.loop_.stop();
}
