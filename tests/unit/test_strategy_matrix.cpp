// strategy-matrix: the plan for every pair of NAT types (the seed's matrix for the reported
// strategy, the steps actually tried) under every option, both peers reaching the same plan, the
// order of candidate pairs, the strict setting; then strategy-matrix.so itself behind the kernel's
// registry and host API (found by the short name "matrix", as strategy_plugin names it).
#include "test_support.h"

#include "agent/plugin_instance.h"
#include "core/plugin_options.h"
#include "matrix_pairs.h"
#include "matrix_plan.h"
#include "matrix_settings.h"
#include "plugin_host/host_api.h"

#include <catch2/catch.hpp>
#include <msgpack.hpp>

#include <map>
#include <string>
#include <vector>

namespace sm = om::strategymatrix;

namespace {

constexpr om_nat_type kNatTypes[] = {OM_NAT_UNKNOWN,    OM_NAT_OPEN,           OM_NAT_FULL_CONE,
                                     OM_NAT_RESTRICTED, OM_NAT_PORT_RESTRICTED, OM_NAT_SYMMETRIC};

constexpr om_strategy N = OM_STRATEGY_NONE;
constexpr om_strategy D = OM_STRATEGY_DIRECT_CONNECT;
constexpr om_strategy H = OM_STRATEGY_UDP_HOLE_PUNCH;
constexpr om_strategy T = OM_STRATEGY_TURN_RELAY;
constexpr om_strategy R = OM_STRATEGY_SERVER_RELAY;

// Rows local, columns remote, both in kNatTypes order: Unknown, Open, FullCone, Restricted,
// PortRestricted, Symmetric.
// The seed's switch: Symmetric anywhere -> TurnRelay; then Open or FullCone -> DirectConnect.
constexpr om_strategy kSeedMatrix[6][6] = {
    {H, D, D, H, H, T},
    {D, D, D, D, D, T},
    {D, D, D, D, D, T},
    {H, D, D, H, H, T},
    {H, D, D, H, H, T},
    {T, T, T, T, T, T},
};
// The direct attempt with the defaults: the seed's where it is direct, and beyond the seed a hole
// punch for Symmetric against Unknown, Open, FullCone and Restricted; none for Symmetric against
// PortRestricted or Symmetric.
constexpr om_strategy kDirectStep[6][6] = {
    {H, D, D, H, H, H},
    {D, D, D, D, D, H},
    {D, D, D, D, D, H},
    {H, D, D, H, H, H},
    {H, D, D, H, H, N},
    {H, H, H, H, N, N},
};

std::vector<om_strategy> steps_of(const sm::Plan& p)
{
    return {p.steps, p.steps + p.step_count};
}

sm::PlanOptions options(bool prefer_p2p, bool fallback, bool turn, bool symmetric_direct)
{
    sm::PlanOptions o;
    o.prefer_p2p = prefer_p2p;
    o.fallback_to_relay = fallback;
    o.turn_available = turn;
    o.symmetric_direct = symmetric_direct;
    return o;
}

std::string pair_name(int local, int remote)
{
    return std::to_string(kNatTypes[local]) + " x " + std::to_string(kNatTypes[remote]);
}

}  // namespace

TEST_CASE("strategy-matrix: the defaults for all 36 pairs of NAT types", "[strategy-matrix]")
{
    const sm::PlanOptions defaults;  // prefer_p2p, fallback, no TURN, symmetric_direct
    for (int l = 0; l < 6; ++l) {
        for (int r = 0; r < 6; ++r) {
            INFO(pair_name(l, r));
            const sm::Plan p = sm::plan(kNatTypes[l], kNatTypes[r], defaults);
            CHECK(p.strategy == kSeedMatrix[l][r]);
            CHECK(sm::seed_strategy(kNatTypes[l], kNatTypes[r]) == kSeedMatrix[l][r]);
            const std::vector<om_strategy> expected =
                kDirectStep[l][r] == N ? std::vector<om_strategy>{R} : std::vector<om_strategy>{kDirectStep[l][r], R};
            CHECK(steps_of(p) == expected);
        }
    }
}

TEST_CASE("strategy-matrix: Symmetric reaches Open, FullCone and Restricted directly, then relays",
          "[strategy-matrix]")
{
    // Issue 5: these pairs connect P2P in the NAT lab; TURN (when configured) and the server
    // relay stay behind the hole punch.
    for (om_nat_type other : {OM_NAT_OPEN, OM_NAT_FULL_CONE, OM_NAT_RESTRICTED}) {
        INFO(other);
        const sm::Plan p = sm::plan(OM_NAT_SYMMETRIC, other, options(true, true, true, true));
        CHECK(p.strategy == T);  // the state still reports the seed's plan
        CHECK(steps_of(p) == std::vector<om_strategy>{H, T, R});
    }
    CHECK(steps_of(sm::plan(OM_NAT_SYMMETRIC, OM_NAT_PORT_RESTRICTED, options(true, true, true, true))) ==
          std::vector<om_strategy>{T, R});
}

TEST_CASE("strategy-matrix: options change the steps, never the reported strategy", "[strategy-matrix]")
{
    for (int l = 0; l < 6; ++l) {
        for (int r = 0; r < 6; ++r) {
            INFO(pair_name(l, r));
            const om_nat_type a = kNatTypes[l], b = kNatTypes[r];
            const om_strategy direct = kDirectStep[l][r];
            const auto with_direct = [&](std::vector<om_strategy> rest) {
                if (direct != N) rest.insert(rest.begin(), direct);
                return rest;
            };

            // TURN configured: after the direct attempt, before the server relay.
            const sm::Plan turn = sm::plan(a, b, options(true, true, true, true));
            CHECK(turn.strategy == kSeedMatrix[l][r]);
            CHECK(steps_of(turn) == with_direct({T, R}));

            // prefer_p2p off: straight to the relays.
            const sm::Plan relay_only = sm::plan(a, b, options(false, true, false, true));
            CHECK(relay_only.strategy == kSeedMatrix[l][r]);
            CHECK(steps_of(relay_only) == std::vector<om_strategy>{R});
            CHECK(steps_of(sm::plan(a, b, options(false, true, true, true))) == std::vector<om_strategy>{T, R});

            // No fallback: the direct attempt is the only path, so it is always made (a hole
            // punch even where it is unlikely to work: nothing to lose), with either setting.
            for (bool symmetric_direct : {true, false}) {
                const sm::Plan alone = sm::plan(a, b, options(true, false, true, symmetric_direct));
                CHECK(alone.strategy == kSeedMatrix[l][r]);
                CHECK(steps_of(alone) == std::vector<om_strategy>{kSeedMatrix[l][r] == T ? H : kSeedMatrix[l][r]});
            }

            // symmetric_direct=0: the seed's matrix exactly, TurnRelay pairs go straight to the relays.
            const sm::Plan seed = sm::plan(a, b, options(true, true, true, false));
            CHECK(seed.strategy == kSeedMatrix[l][r]);
            if (kSeedMatrix[l][r] == T)
                CHECK(steps_of(seed) == std::vector<om_strategy>{T, R});
            else
                CHECK(steps_of(seed) == std::vector<om_strategy>{kSeedMatrix[l][r], T, R});
        }
    }
}

TEST_CASE("strategy-matrix: both peers reach the same plan", "[strategy-matrix]")
{
    // Each side calls choose with itself as local: the steps must not depend on who is who.
    for (bool prefer : {true, false})
        for (bool fallback : {true, false})
            for (bool turn : {true, false})
                for (bool symmetric_direct : {true, false}) {
                    if (!prefer && !fallback) continue;
                    const sm::PlanOptions o = options(prefer, fallback, turn, symmetric_direct);
                    for (om_nat_type a : kNatTypes)
                        for (om_nat_type b : kNatTypes) {
                            INFO(a << " x " << b << " prefer " << prefer << " fallback " << fallback << " turn "
                                   << turn << " symmetric_direct " << symmetric_direct);
                            const sm::Plan ab = sm::plan(a, b, o), ba = sm::plan(b, a, o);
                            CHECK(ab.strategy == ba.strategy);
                            CHECK(steps_of(ab) == steps_of(ba));
                            CHECK(ab.step_count >= 1);
                            CHECK(ab.step_count <= OM_STRATEGY_MAX_STEPS);
                        }
                }
}

TEST_CASE("strategy-matrix: requests no plan can answer", "[strategy-matrix]")
{
    try {
        sm::plan(OM_NAT_OPEN, OM_NAT_OPEN, options(false, false, true, true));
        FAIL("no error");
    } catch (const sm::PlanError& e) {
        CHECK(std::string(e.what()) == "prefer_p2p and fallback_to_relay are both off: no path is allowed");
    }
    CHECK_THROWS_AS(sm::plan(6, OM_NAT_OPEN, {}), sm::PlanError);
    CHECK_THROWS_AS(sm::plan(OM_NAT_OPEN, -1, {}), sm::PlanError);
}

TEST_CASE("strategy-matrix: candidate pairs by priority, IPv6 first on ties, otherwise stable", "[strategy-matrix]")
{
    const auto pair = [](uint64_t priority, uint16_t family, uint16_t port) {
        om_candidate_pair_info p{};
        p.priority = priority;
        p.local.family = p.remote.family = family;
        p.local.port = port;  // identifies the pair
        return p;
    };
    std::vector<om_candidate_pair_info> pairs = {pair(10, 4, 1), pair(30, 4, 2), pair(10, 6, 3), pair(20, 6, 4),
                                                 pair(10, 4, 5), pair(30, 6, 6), pair(10, 6, 7)};
    sm::order_pairs(pairs);
    std::vector<uint16_t> order;
    for (const auto& p : pairs) order.push_back(p.local.port);
    CHECK(order == std::vector<uint16_t>{6, 2, 4, 3, 7, 1, 5});
    sm::order_pairs({});  // nothing to do
}

TEST_CASE("strategy-matrix settings: symmetric_direct is exactly 0 or 1", "[strategy-matrix]")
{
    const auto parse = [](const char* value) {
        return sm::parse_settings([&](const char* key) { return std::string(key) == "symmetric_direct" ? value : nullptr; });
    };
    CHECK(parse(nullptr).symmetric_direct);
    CHECK_FALSE(parse("0").symmetric_direct);
    CHECK(parse(" 1 ").symmetric_direct);
    for (const char* bad : {"2", "yes", "", "1x", "-1", "0.5"}) {
        INFO(bad);
        try {
            parse(bad);
            FAIL("no error");
        } catch (const sm::SettingsError& e) {
            CHECK(std::string(e.what()) == std::string("strategy-matrix.symmetric_direct = '") + bad + "': expected 0 or 1");
        }
    }
}

// ------------------------------------------------------------------------------------------------
// strategy-matrix.so through the kernel's registry and host API

namespace {

// The agent's part: counters and the plugin's settings; choose needs no loop or socket.
class MatrixHost final : public om::PluginOwner {
public:
    explicit MatrixHost(const std::string& plugin_options = "")
        : registry_(test::registry_of({})), options_(om::parse_plugin_options(plugin_options))
    {
        plugin_.library = registry_.load("matrix", OM_PLUGIN_KIND_STRATEGY);  // "matrix" finds strategy-matrix
        plugin_.ctx = om::make_host_ctx(*this, *plugin_.library, options_);
        vtbl_ = plugin_.library->vtable<om_strategy_vtbl>();
        REQUIRE(vtbl_ != nullptr);
    }
    ~MatrixHost()
    {
        if (plugin_.instance != nullptr) vtbl_->destroy(plugin_.instance);
    }

    om::EventLoop& loop() override { return loop_; }
    om::Counters& counters() override { return counters_; }
    om_status send_through_transport(const om_datagram&) override { return OM_ERR_NOT_SUPPORTED; }

    om_status create()
    {
        om_plugin_create_args args{};
        args.struct_size = sizeof args;
        args.host = om::host_api();
        args.ctx = plugin_.ctx.get();
        return vtbl_->create(&args, &plugin_.instance);
    }
    om_status choose(om_nat_type local, om_nat_type remote, om_strategy_output& out, int32_t prefer_p2p = 1,
                     int32_t fallback = 1, uint32_t input_size = sizeof(om_strategy_input))
    {
        om_strategy_input in{};
        in.struct_size = input_size;
        in.local_nat = local;
        in.remote_nat = remote;
        in.prefer_p2p = prefer_p2p;
        in.fallback_to_relay = fallback;
        in.turn_available = 1;
        in.initiator = 1;
        out = {};
        out.struct_size = sizeof out;
        return vtbl_->choose(plugin_.instance, &in, &out);
    }

    om_host_ctx& ctx() { return *plugin_.ctx; }
    void* instance() { return plugin_.instance; }
    const om_strategy_vtbl& vtbl() const { return *vtbl_; }
    const om::PluginLibrary& library() const { return *plugin_.library; }

private:
    om::PluginRegistry registry_;
    om::PluginOptions options_;
    om::EventLoop loop_;
    om::Counters counters_;
    om::PluginInstance plugin_;
    const om_strategy_vtbl* vtbl_ = nullptr;
};

std::vector<om_strategy> steps_of(const om_strategy_output& out)
{
    return {out.steps, out.steps + out.step_count};
}

}  // namespace

TEST_CASE("strategy-matrix plugin: choose and order_pairs through the vtable", "[strategy-matrix]")
{
    MatrixHost host;
    CHECK(host.library().name() == "strategy-matrix");
    REQUIRE(host.create() == OM_OK);
    REQUIRE_NOTHROW(host.ctx().check_settings_read());

    om_strategy_output out{};
    REQUIRE(host.choose(OM_NAT_SYMMETRIC, OM_NAT_RESTRICTED, out) == OM_OK);
    CHECK(out.struct_size == sizeof out);  // the host's, left alone
    CHECK(out.strategy == T);
    CHECK(steps_of(out) == std::vector<om_strategy>{H, T, R});
    CHECK(out.steps[3] == N);
    REQUIRE(host.choose(OM_NAT_RESTRICTED, OM_NAT_PORT_RESTRICTED, out) == OM_OK);
    CHECK(out.strategy == H);
    REQUIRE(host.choose(OM_NAT_FULL_CONE, OM_NAT_PORT_RESTRICTED, out, 0) == OM_OK);
    CHECK(out.strategy == D);
    CHECK(steps_of(out) == std::vector<om_strategy>{T, R});
    CHECK(host.counters().get("plugin.strategy-matrix.choices.TurnRelay") == 1);
    CHECK(host.counters().get("plugin.strategy-matrix.choices.UdpHolePunch") == 1);
    CHECK(host.counters().get("plugin.strategy-matrix.choices.DirectConnect") == 1);

    // An ABI 1.0 input without `initiator` is enough; one that stops before turn_available is not.
    CHECK(host.choose(OM_NAT_OPEN, OM_NAT_OPEN, out, 1, 1, offsetof(om_strategy_input, initiator)) == OM_OK);
    CHECK(host.choose(OM_NAT_OPEN, OM_NAT_OPEN, out, 1, 1, offsetof(om_strategy_input, turn_available)) ==
          OM_ERR_INVALID_ARGUMENT);
    CHECK(test::contains(host.ctx().take_error(), "om_strategy_input.struct_size"));

    CHECK(host.choose(OM_NAT_OPEN, 9, out) == OM_ERR_INVALID_ARGUMENT);
    CHECK(test::contains(host.ctx().take_error(), "NAT types must be 0 (Unknown) to 5 (Symmetric)"));
    CHECK(host.choose(OM_NAT_OPEN, OM_NAT_OPEN, out, 0, 0) == OM_ERR_INVALID_ARGUMENT);
    CHECK(host.ctx().take_error() == "prefer_p2p and fallback_to_relay are both off: no path is allowed");
    CHECK(host.vtbl().choose(host.instance(), nullptr, &out) == OM_ERR_INVALID_ARGUMENT);
    CHECK(host.vtbl().choose(nullptr, nullptr, &out) == OM_ERR_INVALID_ARGUMENT);

    om_candidate_pair_info pairs[3]{};
    pairs[0].priority = 1;
    pairs[1].priority = 5;
    pairs[1].local.family = 4;
    pairs[2].priority = 5;
    pairs[2].local.family = 6;
    REQUIRE(host.vtbl().order_pairs != nullptr);
    REQUIRE(host.vtbl().order_pairs(host.instance(), nullptr, pairs, 3) == OM_OK);
    CHECK(pairs[0].local.family == 6);
    CHECK(pairs[1].local.family == 4);
    CHECK(pairs[2].priority == 1);
    CHECK(host.vtbl().order_pairs(host.instance(), nullptr, nullptr, 2) == OM_ERR_INVALID_ARGUMENT);
}

TEST_CASE("strategy-matrix plugin: symmetric_direct=0 gives the seed's plan", "[strategy-matrix]")
{
    MatrixHost host("strategy-matrix.symmetric_direct=0");
    REQUIRE(host.create() == OM_OK);
    om_strategy_output out{};
    REQUIRE(host.choose(OM_NAT_SYMMETRIC, OM_NAT_OPEN, out) == OM_OK);
    CHECK(out.strategy == T);
    CHECK(steps_of(out) == std::vector<om_strategy>{T, R});
}

TEST_CASE("strategy-matrix plugin: a bad or unknown setting is refused", "[strategy-matrix]")
{
    SECTION("a bad value fails create with a message naming the key")
    {
        MatrixHost host("strategy-matrix.symmetric_direct=yes");
        CHECK(host.create() == OM_ERR_INVALID_ARGUMENT);
        CHECK(host.instance() == nullptr);
        CHECK(host.ctx().take_error() == "strategy-matrix.symmetric_direct = 'yes': expected 0 or 1");
    }
    SECTION("a typo is refused by the kernel, naming the real key")
    {
        MatrixHost host("strategy-matrix.symetric_direct=0");
        REQUIRE(host.create() == OM_OK);
        const om::Error error = test::error_of([&] { host.ctx().check_settings_read(); });
        CHECK(error.status() == OM_ERR_INVALID_ARGUMENT);
        CHECK(test::contains(error.what(), "plugin strategy-matrix has no setting \"symetric_direct\" (it reads symmetric_direct)"));
    }
}

TEST_CASE("strategy-matrix plugin: the explain extension method", "[strategy-matrix]")
{
    MatrixHost host;
    REQUIRE(host.create() == OM_OK);
    const om::FfiMethod* explain = host.library().method("explain");
    REQUIRE(explain != nullptr);
    const auto call = [&](int32_t local, int32_t remote) {
        msgpack::sbuffer buf;
        msgpack::packer<msgpack::sbuffer> pk(buf);
        pk.pack_array(2);
        pk.pack(local);
        pk.pack(remote);
        const auto out = explain->invoke(host.instance(), reinterpret_cast<const uint8_t*>(buf.data()), buf.size(),
                                         [&] { return host.ctx().take_error(); });
        return msgpack::unpack(reinterpret_cast<const char*>(out.data()), out.size()).get().as<std::vector<int32_t>>();
    };
    CHECK(call(OM_NAT_SYMMETRIC, OM_NAT_FULL_CONE) == std::vector<int32_t>{T, H});
    CHECK(call(OM_NAT_SYMMETRIC, OM_NAT_SYMMETRIC) == std::vector<int32_t>{T, N});
    CHECK(call(OM_NAT_OPEN, OM_NAT_PORT_RESTRICTED) == std::vector<int32_t>{D, D});
    const om::Error error = test::error_of([&] { call(7, OM_NAT_OPEN); });
    CHECK(error.status() == OM_ERR_PLUGIN);
    CHECK(test::contains(error.what(), "NAT types must be 0 (Unknown) to 5 (Symmetric)"));
}
