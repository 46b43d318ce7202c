#include "core/error.h"
#include "core/plugin_options.h"

#include <catch2/catch.hpp>

TEST_CASE("plugin options split into plugin, key and value", "[options]")
{
    auto o = om::parse_plugin_options("netsim.loss=0.1; netsim.seed=7\ntransport-udp.rcvbuf = 1048576;;");
    CHECK(o["netsim"]["loss"] == "0.1");
    CHECK(o["netsim"]["seed"] == "7");
    CHECK(o["transport-udp"]["rcvbuf"] == "1048576");
    CHECK(om::parse_plugin_options("").empty());
}

TEST_CASE("malformed plugin options name the bad entry", "[options]")
{
    for (const char* text : {"loss=0.1", "netsim.loss", ".loss=1", "netsim.=1", "a=b.c"}) {
        INFO(text);
        try {
            om::parse_plugin_options(text);
            FAIL("accepted");
        } catch (const om::Error& e) {
            CHECK(e.status() == OM_ERR_INVALID_ARGUMENT);
            CHECK(std::string(e.what()).find("plugin.key=value") != std::string::npos);
        }
    }
}
