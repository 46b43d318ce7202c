#include "agent/bind_address.h"

#include "core/error.h"
#include "proto/address.h"

#include <Poco/Exception.h>
#include <Poco/URI.h>

namespace om {

std::string resolve_bind_address(const char* bind_address, const char* server_url)
{
    if (bind_address && *bind_address) {
        om_address address{};
        std::string why;
        if (!proto::parse_address(bind_address, 0, address, &why))
            fail(OM_ERR_INVALID_ARGUMENT, "bind_address \"" + std::string(bind_address) + "\": " + why);
        return proto::format_address(address);
    }
    if (!server_url || !*server_url) return "127.0.0.1:0";
    std::string host;
    try {
        host = Poco::URI(server_url).getHost();
    } catch (const Poco::Exception& e) {
        fail(OM_ERR_INVALID_ARGUMENT, "server_url \"" + std::string(server_url) + "\": " + e.displayText());
    }
    if (host.empty()) fail(OM_ERR_INVALID_ARGUMENT, "server_url \"" + std::string(server_url) + "\" has no host");
    if (host == "localhost") return "127.0.0.1:0";
    om_address server{};
    if (proto::parse_address(host, 0, server) && proto::is_loopback(server))
        return server.family == 6 ? "[::1]:0" : "127.0.0.1:0";
    return "0.0.0.0:0";
}

} // namespace om
