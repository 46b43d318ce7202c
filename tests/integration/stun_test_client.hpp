// A test-side STUN client: one UDP socket on a loopback address, requests built with the codec
// (libs/proto/stun.h), answers read with a deadline and parsed strictly.
#pragma once

#include "proto/stun.h"

#include <orbitmesh/plugin.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace om::test {

struct StunAnswer {
    std::vector<uint8_t> bytes;
    om_address from{}; // the server endpoint that sent it
    proto::stun::Message message;
    // The first attribute of a type as an address (plain or XOR form); nullopt when absent.
    std::optional<om_address> address(uint16_t type) const;
    bool has(uint16_t type) const { return message.find(type) != nullptr; }
    std::optional<uint16_t> error_code() const;
    std::vector<uint16_t> unknown_attributes() const;
};

class StunTestClient {
public:
    explicit StunTestClient(const std::string& ip = "127.0.0.1"); // binds ip:0
    explicit StunTestClient(int fd);                                // adopts a bound socket
    ~StunTestClient();
    StunTestClient(const StunTestClient&) = delete;
    StunTestClient& operator=(const StunTestClient&) = delete;

    om_address local() const { return local_; }
    void send(const std::vector<uint8_t>& bytes, const om_address& to) const;
    void send_to_port(const std::vector<uint8_t>& bytes, uint16_t port) const; // same IP as local
    // The next datagram, parsed (classic allowed); nullopt after `wait` without one.
    std::optional<StunAnswer> receive(std::chrono::milliseconds wait = std::chrono::milliseconds(2000)) const;
    int fd() const { return fd_; }

private:
    int fd_ = -1;
    om_address local_{};
};

// A Binding request; `extra` runs on the builder before FINGERPRINT (when fingerprint).
struct RequestSpec {
    bool fingerprint = false;
    bool classic = false;
    proto::stun::Class cls = proto::stun::Class::Request;
    uint16_t method = proto::stun::method::Binding;
    std::optional<uint32_t> change_flags;     // CHANGE-REQUEST
    std::optional<uint16_t> response_port;    // RESPONSE-PORT
    size_t padding = 0;                       // PADDING value bytes (0: none)
    std::vector<uint16_t> unknown_required;   // attributes of these types, 4 zero bytes each
};
std::vector<uint8_t> binding_request(const RequestSpec& spec, proto::stun::TransactionId* id = nullptr);

} // namespace om::test
