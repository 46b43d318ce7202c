// The loader's refusals, each with a clear message, and what it accepts.
#include "test_support.h"

using test::contains;
using test::error_of;
using test::registry_of;

TEST_CASE("a library without the entry symbol is refused by name", "[loader]")
{
    auto reg = registry_of({"no_entry"}, false);
    auto e = error_of([&] { reg.load("fixture-no-entry", OM_PLUGIN_KIND_TRANSPORT); });
    CHECK(e.status() == OM_ERR_PLUGIN_LOAD);
    CHECK(contains(e.what(), "no entry symbol om_plugin_negotiate"));
}

TEST_CASE("a plugin of another ABI major is refused with both versions named", "[loader][abi]")
{
    auto reg = registry_of({"abi_2_0"}, false);
    auto e = error_of([&] { reg.load("fixture-abi20", OM_PLUGIN_KIND_TRANSPORT); });
    CHECK(e.status() == OM_ERR_ABI_MISMATCH);
    CHECK(contains(e.what(), "2.0"));
    CHECK(contains(e.what(), "1.0-1.4"));
}

TEST_CASE("a plugin built for ABI minor 1.0 loads into this 1.1 kernel", "[loader][abi]")
{
    auto reg = registry_of({"abi_1_0"}, false);
    auto lib = reg.load("fixture-abi10", OM_PLUGIN_KIND_TRANSPORT);
    CHECK(lib->abi_version() == OM_PLUGIN_ABI_MAKE(1, 0));
    REQUIRE(lib->transport() != nullptr);
    CHECK(lib->transport()->mtu == nullptr);  // added in 1.1: absent, zero-filled
    CHECK(lib->transport()->send != nullptr);
    CHECK(lib->descriptor().function_count == 0);
    CHECK(lib->methods().empty());
}

TEST_CASE("two plugin-path entries declaring one name are a duplicate, the install dir is shadowed", "[loader]")
{
    om::PluginRegistry both({{test::fixture_dir("duplicate_a"), false}, {test::fixture_dir("duplicate_b"), false}});
    auto e = error_of([&] { both.load("fixture-dup", OM_PLUGIN_KIND_TRANSPORT); });
    CHECK(e.status() == OM_ERR_DUPLICATE);
    CHECK(contains(e.what(), "duplicate_a"));
    CHECK(contains(e.what(), "duplicate_b"));

    om::PluginRegistry shadowing({{test::fixture_dir("duplicate_a"), false}, {test::fixture_dir("duplicate_b"), true}});
    auto lib = shadowing.load("fixture-dup", OM_PLUGIN_KIND_TRANSPORT);
    CHECK(contains(lib->manifest().library_path, "duplicate_a"));
}

TEST_CASE("a plugin whose library is of another kind than its manifest says is refused", "[loader]")
{
    auto reg = registry_of({"wrong_kind"}, false);
    auto e = error_of([&] { reg.load("fixture-wrong-kind", OM_PLUGIN_KIND_TRANSPORT); });
    CHECK(e.status() == OM_ERR_PLUGIN_LOAD);
    CHECK(contains(e.what(), "wrong kind"));
    CHECK(contains(e.what(), "strategy"));
}

TEST_CASE("asking for a plugin as the wrong kind is refused", "[loader]")
{
    auto reg = registry_of({});
    auto e = error_of([&] { reg.load("transport-udp", OM_PLUGIN_KIND_STRATEGY); });
    CHECK(e.status() == OM_ERR_PLUGIN_LOAD);
    CHECK(contains(e.what(), "is a transport plugin, not a strategy plugin"));
}

TEST_CASE("a vtable missing a required slot is refused naming the slot", "[loader]")
{
    auto reg = registry_of({"missing_slot"}, false);
    auto e = error_of([&] { reg.load("fixture-missing-slot", OM_PLUGIN_KIND_TRANSPORT); });
    CHECK(e.status() == OM_ERR_PLUGIN_LOAD);
    CHECK(contains(e.what(), "'send' is missing"));
}

TEST_CASE("a plugin that refuses to load says why", "[loader]")
{
    auto reg = registry_of({"refuses"}, false);
    auto e = error_of([&] { reg.load("fixture-refuses", OM_PLUGIN_KIND_TRANSPORT); });
    CHECK(e.status() == OM_ERR_REFUSED);
    CHECK(contains(e.what(), "needs a feature the host lacks"));
}

TEST_CASE("a manifest that disagrees with its library on a method signature is refused", "[loader][ffi]")
{
    auto reg = registry_of({"ffi_mismatch"}, false);
    auto e = error_of([&] { reg.load("fixture-ffi-mismatch", OM_PLUGIN_KIND_TRANSPORT); });
    CHECK(e.status() == OM_ERR_PLUGIN_LOAD);
    CHECK(contains(e.what(), "add_i32"));
}

TEST_CASE("an unknown plugin is not found, and the message says where the kernel looked", "[loader]")
{
    auto reg = registry_of({"ffi"});
    auto e = error_of([&] { reg.load("quic", OM_PLUGIN_KIND_TRANSPORT); });
    CHECK(e.status() == OM_ERR_NOT_FOUND);
    CHECK(contains(e.what(), "transport-quic"));
    CHECK(contains(e.what(), OM_TEST_PLUGIN_DIR));
}

TEST_CASE("malformed manifests are reported and do not hide the good ones", "[loader]")
{
    auto reg = registry_of({"bad_manifest", "ffi"}, false);
    auto found = reg.discovered();
    CHECK(found.problems.size() == 2);
    bool mentions_no_name = false;
    for (const auto& p : found.problems) mentions_no_name |= contains(p, "\"name\"");
    CHECK(mentions_no_name);
    CHECK(reg.load("fixture-ffi", OM_PLUGIN_KIND_TRANSPORT)->methods().size() >= 5);
}

TEST_CASE("the real plugins load by short name with their extension methods", "[loader]")
{
    auto reg = registry_of({});
    auto udp = reg.load("udp", OM_PLUGIN_KIND_TRANSPORT);
    CHECK(udp->name() == "transport-udp");
    CHECK(udp->abi_version() == OM_PLUGIN_ABI_VERSION);
    CHECK(udp->method("get_socket_buffers") != nullptr);
    CHECK(udp.get() == reg.load("transport-udp", OM_PLUGIN_KIND_TRANSPORT).get());  // loaded once
    auto netsim = reg.load("netsim", OM_PLUGIN_KIND_TRANSPORT);
    CHECK((netsim->flags() & OM_PLUGIN_FLAG_DECORATOR) != 0);
    CHECK(netsim->transport()->inner_received != nullptr);
}
