#include "stun/endpoint_table.hpp"

namespace om::server {
namespace {

constexpr int kPortBit = 1;
constexpr int kIpBit = 2;

om_address with_port(om_address a, uint16_t port) {
    a.port = port;
    return a;
}

} // namespace

EndpointTable::EndpointTable(const om_address& a1, uint16_t p1, const om_address& a2, uint16_t p2) {
    const bool has_a2 = a2.family != 0;
    const bool has_p2 = p2 != 0;
    address_[0] = with_port(a1, p1);
    present_[0] = true;
    address_[kPortBit] = with_port(a1, p2);
    present_[kPortBit] = has_p2;
    address_[kIpBit] = with_port(a2, p1);
    present_[kIpBit] = has_a2;
    address_[kIpBit | kPortBit] = with_port(a2, p2);
    present_[kIpBit | kPortBit] = has_a2 && has_p2;
}

std::optional<int> EndpointTable::responder(int received_on, bool change_ip, bool change_port) const {
    int index = received_on ^ (change_ip ? kIpBit : 0) ^ (change_port ? kPortBit : 0);
    if (!present_[index]) return std::nullopt;
    return index;
}

std::optional<int> EndpointTable::other(int received_on) const {
    for (int flip : {kIpBit | kPortBit, kIpBit, kPortBit}) {
        if (present_[received_on ^ flip]) return received_on ^ flip;
    }
    return std::nullopt;
}

} // namespace om::server
