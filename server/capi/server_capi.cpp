// extern "C": the server and agent tokens. Only forwards to SignalServer inside the guard.
#include "capi/capi_guard.h"
#include "capi/server_config_from_options.hpp"
#include "hub/agent_token.hpp"
#include "signal_server.hpp"

#include <Poco/Exception.h>

#include <mutex>

using om::capi::guard;
using om::capi::guard_buffer;
using om::capi::require;

// The opaque handle's body: the server plus its last error (ABI-RULES R16).
struct om_server {
    om_server(om::server::ServerConfig config, om::server::StunConfig stun) : server(std::move(config), std::move(stun)) {}
    om::server::SignalServer server;
    mutable std::mutex error_mutex;
    std::string last_error;
};

namespace {

template <class F>
om_status guard_server(om_server* s, F&& fn) noexcept {
    if (!s) return OM_ERR_INVALID_ARGUMENT;
    return guard(
        [&] {
            try {
                fn();
            } catch (const Poco::Exception& e) { // bind failures and the like
                om::fail(OM_ERR_IO, e.displayText());
            }
        },
        [s](om_status, const std::string& message) {
            try {
                std::lock_guard<std::mutex> lock(s->error_mutex);
                s->last_error = message;
            } catch (...) {
            }
        });
}

} // namespace

extern "C" {

OM_API om_status om_server_options_init(om_server_options* options) {
    if (!options) return OM_ERR_INVALID_ARGUMENT;
    *options = OM_SERVER_OPTIONS_INIT;
    return OM_OK;
}

OM_API om_status om_server_create(const om_server_options* options, om_server** out, char* err_buf, size_t err_buf_len) {
    if (out) *out = nullptr;
    return guard_buffer(err_buf, err_buf_len, [&] {
        require(options != nullptr, "options is NULL");
        require(out != nullptr, "out is NULL");
        *out = new om_server(om::server::config_from_options(*options), om::server::stun_config_from_options(*options));
    });
}

OM_API om_status om_server_start(om_server* server) {
    return guard_server(server, [&] { server->server.start(); });
}

OM_API om_status om_server_stop(om_server* server) {
    return guard_server(server, [&] { server->server.stop(); });
}

OM_API void om_server_destroy(om_server* server) {
    try {
        delete server;
    } catch (...) {
    }
}

OM_API const char* om_server_last_error(const om_server* server) {
    if (!server) return "server is NULL";
    std::lock_guard<std::mutex> lock(server->error_mutex);
    return server->last_error.c_str();
}

OM_API om_status om_server_http_port(om_server* server, int32_t* out_port) {
    return guard_server(server, [&] {
        require(out_port != nullptr, "out_port is NULL");
        int port = server->server.http_port();
        if (port < 0) om::fail(OM_ERR_STATE, "the server is not running");
        *out_port = port;
    });
}

OM_API om_status om_server_stun_ports(om_server* server, int32_t* out_port, int32_t* out_alt_port) {
    return guard_server(server, [&] {
        om::server::StunPorts ports = server->server.stun_ports();
        if (out_port) *out_port = ports.port;
        if (out_alt_port) *out_alt_port = ports.alt_port;
    });
}

OM_API om_status om_server_counter(om_server* server, const char* name, uint64_t* value) {
    return guard_server(server, [&] {
        require(name != nullptr && value != nullptr, "name and value must not be NULL");
        *value = server->server.metrics().get(name);
    });
}

OM_API om_status om_server_metrics_text(om_server* server, char** out_text) {
    return guard_server(server, [&] {
        require(out_text != nullptr, "out_text is NULL");
        *out_text = om::capi::dup_for_caller(server->server.metrics().prometheus_text());
    });
}

OM_API om_status om_token_create(const char* secret, const char* agent_id, int64_t ttl_seconds, char** out_token,
                                 char* err_buf, size_t err_buf_len) {
    if (out_token) *out_token = nullptr;
    return guard_buffer(err_buf, err_buf_len, [&] {
        require(secret != nullptr && agent_id != nullptr && out_token != nullptr, "NULL argument");
        require(secret[0] != '\0', "the secret is empty");
        require(agent_id[0] != '\0', "the agent id is empty");
        require(ttl_seconds > 0, "ttl_seconds must be positive");
        *out_token = om::capi::dup_for_caller(om::server::mint_token(secret, agent_id, ttl_seconds));
    });
}

} // extern "C"
