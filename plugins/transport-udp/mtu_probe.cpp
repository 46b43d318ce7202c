#include "mtu_probe.h"

#include "proto/address.h"

#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <optional>
#include <string>

namespace om::udp {
namespace {

constexpr uint32_t kUdpHeader = 8;
constexpr uint32_t kIpv4Header = 20;
constexpr uint32_t kIpv6Header = 40;
constexpr uint32_t kMaxIpPacket = 65535;
constexpr uint32_t kEthernetMtu = 1500;

// RAII for getifaddrs.
class InterfaceList {
public:
    InterfaceList() { if (getifaddrs(&head_) != 0) head_ = nullptr; }
    ~InterfaceList() { if (head_) freeifaddrs(head_); }
    InterfaceList(const InterfaceList&) = delete;
    InterfaceList& operator=(const InterfaceList&) = delete;
    const ifaddrs* begin() const noexcept { return head_; }

private:
    ifaddrs* head_ = nullptr;
};

std::optional<uint32_t> mtu_from_sysfs(const char* name)
{
    std::ifstream file(std::string("/sys/class/net/") + name + "/mtu");
    uint32_t mtu = 0;
    if (file >> mtu && mtu > 0) return mtu;
    return std::nullopt;
}

std::optional<uint32_t> interface_mtu(const char* name, int fd)
{
    ifreq request{};
    if (std::strlen(name) >= sizeof request.ifr_name) return mtu_from_sysfs(name);
    std::strncpy(request.ifr_name, name, sizeof request.ifr_name - 1);
    const int probe_fd = fd >= 0 ? fd : ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    const bool ok = probe_fd >= 0 && ::ioctl(probe_fd, SIOCGIFMTU, &request) == 0 && request.ifr_mtu > 0;
    if (probe_fd >= 0 && probe_fd != fd) ::close(probe_fd);
    if (ok) return static_cast<uint32_t>(request.ifr_mtu);
    return mtu_from_sysfs(name);
}

bool same_address(const sockaddr* candidate, const om_address& wanted)
{
    if (candidate == nullptr) return false;
    if (candidate->sa_family != AF_INET && candidate->sa_family != AF_INET6) return false;
    sockaddr_storage storage{};
    std::memcpy(&storage, candidate, candidate->sa_family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6));
    const om_address found = proto::from_socket_address(storage);
    const size_t size = found.family == 4 ? 4 : 16;
    return found.family == wanted.family && std::memcmp(found.bytes, wanted.bytes, size) == 0;
}

// The link MTU for the bound address, if an interface says so.
std::optional<uint32_t> link_mtu(const om_address& bound, int fd)
{
    const InterfaceList interfaces;
    const bool wildcard = proto::is_unspecified(bound);
    std::optional<uint32_t> smallest;
    for (const ifaddrs* entry = interfaces.begin(); entry != nullptr; entry = entry->ifa_next) {
        if (entry->ifa_name == nullptr) continue;
        if (wildcard) {
            const bool usable = (entry->ifa_flags & IFF_UP) && !(entry->ifa_flags & IFF_LOOPBACK);
            if (!usable) continue;
            if (const auto mtu = interface_mtu(entry->ifa_name, fd))
                smallest = smallest ? std::min(*smallest, *mtu) : *mtu;
        } else if (same_address(entry->ifa_addr, bound)) {
            return interface_mtu(entry->ifa_name, fd);
        }
    }
    return smallest;
}

}  // namespace

uint32_t probe_payload_mtu(const proto::SocketAddress& bound, int fd)
{
    const om_address address = proto::from_socket_address(bound.storage);
    // A dual-stack socket may send IPv6: count the larger header.
    const bool ipv6 = bound.family() == AF_INET6 && address.family == 6;
    const uint32_t overhead = (ipv6 ? kIpv6Header : kIpv4Header) + kUdpHeader;
    const uint32_t largest_payload = kMaxIpPacket - (ipv6 ? kUdpHeader : kIpv4Header + kUdpHeader);
    const uint32_t mtu = link_mtu(address, fd).value_or(kEthernetMtu);
    if (mtu <= overhead) return 0;
    return std::min(mtu - overhead, largest_payload);
}

}  // namespace om::udp
