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

TEST_CASE("the Redis option answers OM_ERR_NOT_SUPPORTED naming it", "[options]") {
    auto [status, error] = create_with([](om_server_options& o) { o.redis_url = "redis://127.0.0.1:6379"; });
    CHECK(status == OM_ERR_NOT_SUPPORTED);
    CHECK(error.rfind("redis_url: ", 0) == 0);
}

TEST_CASE("TURN relay options are checked together, naming what is wrong", "[options][turn]") {
    const std::pair<const char*, std::function<void(om_server_options&)>> cases[] = {
        {"enable_turn_relay needs turn_users or turn_secret", [](om_server_options& o) { o.enable_turn_relay = 1; }},
        {"needs a concrete bind address",
         [](om_server_options& o) {
             o.enable_turn_relay = 1;
             o.turn_users = "a:b";
             o.bind = "0.0.0.0";
         }},
        {"needs the STUN server",
         [](om_server_options& o) {
             o.enable_turn_relay = 1;
             o.turn_users = "a:b";
             o.stun_port = 0;
         }},
        {"turn_users: expected name:pass", [](om_server_options& o) {
             o.enable_turn_relay = 1;
             o.turn_users = "a:b;nopass";
         }},
        {"set enable_turn_relay", [](om_server_options& o) { o.turn_users = "a:b"; }},
        {"turn_min_port and turn_max_port", [](om_server_options& o) {
             o.enable_turn_relay = 1;
             o.turn_users = "a:b";
             o.turn_min_port = 6000;
             o.turn_max_port = 5000;
         }},
        {"turn_address must be IP:PORT", [](om_server_options& o) {
             o.turn_secret = "s";
             o.turn_address = "turn.example";
         }},
        {"turn_address is handed out with time-limited credentials", [](om_server_options& o) { o.turn_address = "127.0.0.1:3478"; }},
        {"turn_secret needs the embedded relay", [](om_server_options& o) { o.turn_secret = "s"; }},
        {"turn_user_quota must be at least 1", [](om_server_options& o) { o.turn_user_quota = 0; }},
        {"turn_credential_ttl_s must be", [](om_server_options& o) { o.turn_credential_ttl_s = 5; }},
    };
    for (const auto& [says, change] : cases) {
        INFO(says);
        auto [status, error] = create_with([&](om_server_options& o) {
            o.bind = "127.0.0.1";
            o.stun_port = -1;
            change(o);
        });
        INFO(error);
        CHECK(status == OM_ERR_INVALID_ARGUMENT);
        CHECK(error.find(says) != std::string::npos);
    }
    auto good = create_with([](om_server_options& o) {
        o.bind = "127.0.0.1";
        o.stun_port = -1;
        o.enable_turn_relay = 1;
        o.turn_users = "a:b;c:d:e";  // a password may hold ':'
        o.turn_realm = "orbit";
        o.turn_min_port = 50000;
        o.turn_max_port = 50010;
        o.turn_allow_loopback_peers = 1;
    });
    INFO(good.second);
    CHECK(good.first == OM_OK);
}

TEST_CASE("the defaults, and empty TURN and Redis strings, still create a server", "[options]") {
    CHECK(create_with([](om_server_options&) {}).first == OM_OK);
    auto empty = create_with([](om_server_options& o) {
        o.turn_realm = "";
        o.redis_url = "";
    });
    CHECK(empty.first == OM_OK);
}
