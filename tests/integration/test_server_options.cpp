// om_server_create refuses the options of what is not built yet (the TURN relay, Redis) with
// OM_ERR_NOT_SUPPORTED naming the option, instead of accepting and silently ignoring them.
#include <orbitmesh/orbitmesh.h>

#include <catch2/catch.hpp>

#include <functional>
#include <string>
#include <utility>

namespace {

// om_server_create's status and message for the defaults changed by `change`.
std::pair<om_status, std::string> create_with(const std::function<void(om_server_options&)>& change) {
    om_server_options o = OM_SERVER_OPTIONS_INIT;
    o.bind = "127.0.0.1";
    o.http_port = 0;
    o.stun_port = 0;
    o.open = 1;
    change(o);
    om_server* server = nullptr;
    char error[OM_ERROR_BUF_SIZE] = "";
    om_status status = om_server_create(&o, &server, error, sizeof error);
    om_server_destroy(server);
    return {status, error};
}

} // namespace

TEST_CASE("TURN relay and Redis options answer OM_ERR_NOT_SUPPORTED naming the option", "[options]") {
    const std::pair<const char*, std::function<void(om_server_options&)>> cases[] = {
        {"enable_turn_relay", [](om_server_options& o) { o.enable_turn_relay = 1; }},
        {"turn_realm", [](om_server_options& o) { o.turn_realm = "orbit"; }},
        {"turn_users", [](om_server_options& o) { o.turn_users = "a:b"; }},
        {"turn_secret", [](om_server_options& o) { o.turn_secret = "t"; }},
        {"turn_min_port", [](om_server_options& o) { o.turn_min_port = 50000; }},
        {"turn_max_port", [](om_server_options& o) { o.turn_max_port = 50010; }},
        {"turn_allow_loopback_peers", [](om_server_options& o) { o.turn_allow_loopback_peers = 1; }},
        {"redis_url", [](om_server_options& o) { o.redis_url = "redis://127.0.0.1:6379"; }},
    };
    for (const auto& [name, change] : cases) {
        INFO(name);
        auto [status, error] = create_with(change);
        CHECK(status == OM_ERR_NOT_SUPPORTED);
        CHECK(error.rfind(std::string(name) + ": ", 0) == 0);
        CHECK(error.find("not yet supported") != std::string::npos);
    }
}

TEST_CASE("the defaults, and empty TURN and Redis strings, still create a server", "[options]") {
    CHECK(create_with([](om_server_options&) {}).first == OM_OK);
    auto empty = create_with([](om_server_options& o) {
        o.turn_realm = "";
        o.redis_url = "";
    });
    CHECK(empty.first == OM_OK);
}
