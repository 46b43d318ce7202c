#include "capi/server_config_from_options.hpp"

#include "core/error.h"

#include <algorithm>
#include <cstring>
#include <string>

namespace om::server {
namespace {

void require(bool ok, const std::string& what) {
    if (!ok) om::fail(OM_ERR_INVALID_ARGUMENT, what);
}

// Reads only what the caller's struct_size covers; the defaults fill the rest.
om_server_options complete(const om_server_options& options) {
    require(options.struct_size >= offsetof(om_server_options, bind), "om_server_options.struct_size is too small");
    if (options.struct_size > sizeof(om_server_options)) {
        const auto* bytes = reinterpret_cast<const unsigned char*>(&options);
        for (size_t i = sizeof(om_server_options); i < options.struct_size; ++i)
            require(bytes[i] == 0, "om_server_options is newer than this library and sets fields it does not know");
    }
    om_server_options full = OM_SERVER_OPTIONS_INIT;
    std::memcpy(&full, &options, std::min<size_t>(options.struct_size, sizeof full));
    return full;
}

} // namespace

ServerConfig config_from_options(const om_server_options& raw) {
    om_server_options o = complete(raw);
    ServerConfig c;
    c.bind = o.bind ? o.bind : "0.0.0.0";
    require(o.http_port >= 0 && o.http_port <= 65535, "http_port must be 0..65535");
    c.http_port = o.http_port;
    c.secret = o.secret ? o.secret : "";
    c.open = o.open != 0;
    require(!(c.open && !c.secret.empty()), "secret and open exclude each other");
    require(c.open || !c.secret.empty(), "a secret is needed unless open is set");
    c.replace_existing_id = o.replace_existing_id != 0;
    require(o.max_frame_bytes >= 1024, "max_frame_bytes must be at least 1024");
    c.max_frame_bytes = static_cast<size_t>(o.max_frame_bytes);
    require(o.relay_bytes_per_s >= 0, "relay_bytes_per_s must not be negative");
    c.relay_bytes_per_s = static_cast<uint64_t>(o.relay_bytes_per_s);
    require(o.send_queue_bytes >= o.max_frame_bytes, "send_queue_bytes must hold at least one max_frame_bytes message");
    c.send_queue_bytes = static_cast<size_t>(o.send_queue_bytes);
    require(o.reactor_threads >= 0 && o.reactor_threads <= 64, "reactor_threads must be 0..64");
    c.reactor_threads = o.reactor_threads;
    // STUN, TURN and Redis fields are accepted and validated by their own issues; the signaling
    // hub does not use them.
    return c;
}

} // namespace om::server
