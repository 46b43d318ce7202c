// Host candidates (RFC 8445 §5.1.1.1) from the socket's bound address and the interface list.
#include "agent/ice/host_candidates.h"

#include "core/error.h"
#include "proto/address.h"
#include "proto/socket_address.h"

#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

#include <cerrno>
#include <cstring>
#include <string_view>

namespace om::ice {
namespace {

std::string_view trim(std::string_view text)
{
    while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
    while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
    return text;
}

}  // namespace

std::vector<InterfaceAddress> list_interface_addresses()
{
    ifaddrs* list = nullptr;
    if (getifaddrs(&list) != 0) {
        const int error = errno;
        fail(OM_ERR_IO, std::string("getifaddrs failed: ") + std::strerror(error));
    }
    std::vector<InterfaceAddress> out;
    try {
        for (const ifaddrs* i = list; i; i = i->ifa_next) {
            if (!i->ifa_addr || (i->ifa_addr->sa_family != AF_INET && i->ifa_addr->sa_family != AF_INET6)) continue;
            sockaddr_storage storage{};
            std::memcpy(&storage, i->ifa_addr, i->ifa_addr->sa_family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6));
            InterfaceAddress entry;
            entry.name = i->ifa_name ? i->ifa_name : "";
            entry.address = proto::from_socket_address(storage);
            entry.up = (i->ifa_flags & IFF_UP) != 0;
            entry.loopback = (i->ifa_flags & IFF_LOOPBACK) != 0;
            if (entry.address.family != 0) out.push_back(std::move(entry));
        }
    } catch (...) {
        freeifaddrs(list);
        throw;
    }
    freeifaddrs(list);
    return out;
}

bool interface_excluded(const std::string& name, const std::string& exclude_spec)
{
    std::string_view rest = exclude_spec;
    while (!rest.empty()) {
        const size_t comma = rest.find(',');
        const std::string_view pattern = trim(rest.substr(0, comma));
        rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
        if (pattern.empty()) continue;
        if (pattern.back() == '*') {
            if (std::string_view(name).starts_with(pattern.substr(0, pattern.size() - 1))) return true;
        } else if (name == pattern) {
            return true;
        }
    }
    return false;
}

std::vector<proto::ice::Candidate> host_candidates(const om_address& bound, const std::vector<InterfaceAddress>& interfaces,
                                                   const std::string& exclude_spec)
{
    if (bound.family != 4 && bound.family != 6) return {};
    if (!proto::is_unspecified(bound)) return {proto::ice::make_host(bound)};

    std::vector<om_address> chosen;
    auto collect = [&](uint16_t family) {
        for (const InterfaceAddress& i : interfaces) {
            const om_address& a = i.address;
            if (a.family != family || !i.up || i.loopback || proto::is_loopback(a) || proto::is_unspecified(a)) continue;
            // Link-local addresses need a scope and rarely reach a peer; an IPv4-mapped one would
            // duplicate an IPv4 candidate.
            if (proto::is_link_local(a) || proto::is_ipv4_mapped(a) || interface_excluded(i.name, exclude_spec)) continue;
            bool seen = false;
            for (const om_address& c : chosen) seen = seen || proto::same_ip(c, a);
            if (!seen) chosen.push_back(a);
        }
    };
    // RFC 8421 gives IPv6 precedence: on a dual-stack [::] socket its addresses come first.
    if (bound.family == 6) collect(6);
    collect(4);

    std::vector<proto::ice::Candidate> out;
    uint16_t local_preference = 65535;  // §5.1.2.1: distinct per candidate, in the list's order
    for (om_address a : chosen) {
        a.port = bound.port;
        out.push_back(proto::ice::make_host(a, local_preference--));
    }
    return out;
}

}  // namespace om::ice
