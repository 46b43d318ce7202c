#include "agent/resolve_host.h"

#include "core/error.h"
#include "proto/address.h"

#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>

namespace om {

om_address resolve_host(const std::string& host, uint16_t port, int prefer_family)
{
    om_address address{};
    if (proto::parse_address(host, port, address)) return address;
    // Names go through the resolver; "localhost" comes from /etc/hosts without network traffic.
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    int rc = getaddrinfo(host.c_str(), nullptr, &hints, &found);
    if (rc != 0 || !found) fail(OM_ERR_UNREACHABLE, "cannot resolve \"" + host + "\": " + gai_strerror(rc));
    om_address v4{}, v6{};
    for (addrinfo* ai = found; ai; ai = ai->ai_next) {
        if (ai->ai_family == AF_INET && !v4.family) {
            v4.family = 4;
            std::memcpy(v4.bytes, &reinterpret_cast<sockaddr_in*>(ai->ai_addr)->sin_addr, 4);
        } else if (ai->ai_family == AF_INET6 && !v6.family) {
            v6.family = 6;
            std::memcpy(v6.bytes, &reinterpret_cast<sockaddr_in6*>(ai->ai_addr)->sin6_addr, 16);
        }
    }
    freeaddrinfo(found);
    address = (prefer_family == 6 && v6.family) || !v4.family ? v6 : v4;
    if (!address.family) fail(OM_ERR_UNREACHABLE, "no IPv4 or IPv6 address for \"" + host + "\"");
    address.port = port;
    return address;
}

} // namespace om
