// The STUN server's transport addresses in RFC 5780 §6 terms: (A1,P1) always, and (A1,P2),
// (A2,P1), (A2,P2) as --stun-alt-port / --stun-alt-address configure them. An endpoint's index
// has bit 0 set for the alternate port and bit 1 for the alternate address, so "change port"
// and "change IP" (§7.2) flip one bit each (§6.1 Table 1).
#pragma once

#include <orbitmesh/plugin.h>

#include <array>
#include <cstdint>
#include <optional>

namespace om::server {

class EndpointTable {
public:
    static constexpr int kPrimary = 0; // (A1,P1)
    static constexpr int kCount = 4;

    // p2 = 0 and a2 family 0 when absent. A wildcard a1 (0.0.0.0, ::) is allowed without a2.
    EndpointTable(const om_address& a1, uint16_t p1, const om_address& a2, uint16_t p2);

    bool present(int index) const { return present_[index]; }
    const om_address& address(int index) const { return address_[index]; }
    bool has_alternate() const { return present_[1] || present_[2] || present_[3]; }

    // §6.1 Table 1: the endpoint that sends the response; nullopt when that endpoint does not
    // exist (the caller answers 420, §6.1).
    std::optional<int> responder(int received_on, bool change_ip, bool change_port) const;

    // §6.1: OTHER-ADDRESS is (Ca,Cp). With one alternate only (an alternate port on a single IP,
    // or an alternate IP with one port) it names that endpoint, so a client can still run the
    // tests the server can answer; nullopt without any alternate.
    std::optional<int> other(int received_on) const;

private:
    std::array<om_address, kCount> address_{};
    std::array<bool, kCount> present_{};
};

} // namespace om::server
