// The Binding usage of the embedded STUN server, as a pure function of one datagram: which
// answer (if any) goes where, and from which of the server's endpoints. No sockets, no
// allocation on the success path (the parsed message lives in the responder).
//
// RFC 8489 §6.3: malformed messages, classes other than Request and methods other than Binding
// are silently discarded ("If any errors are detected, the message is silently discarded";
// the method must be "a supported method"); Binding indications are counted, never answered
// (§6.3.2). Unknown comprehension-required attributes: 420 with UNKNOWN-ATTRIBUTES (§6.3.1).
// RFC 5780 §6.1: CHANGE-REQUEST that the server cannot honour: 420 naming CHANGE-REQUEST;
// PADDING with RESPONSE-PORT: 400. RFC 8489 §11 / RFC 3489: a request without the magic cookie
// is answered in kind, with MAPPED-ADDRESS, SOURCE-ADDRESS and CHANGED-ADDRESS.
//
// No amplification (a rule shared with the nat-stun plugin): a response is never more than
// kMaxGrowth bytes longer than its request. Attributes that do not fit are left out in this
// order of preference: XOR-MAPPED-ADDRESS (MAPPED-ADDRESS when classic), OTHER-ADDRESS,
// RESPONSE-ORIGIN, FINGERPRINT (when the request had one), MAPPED-ADDRESS. A client that wants
// them all (IPv6) pads its request with PADDING; a request's PADDING is answered with PADDING
// that brings the response to the request's size (RFC 5780 §6.1 asks for the MTU; this keeps the
// rule, and a client padding to its MTU, as §5 says it should, gets an MTU-sized answer).
#pragma once

#include "stun/endpoint_table.hpp"

#include "proto/stun.h"

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace om::server {

inline constexpr size_t kMaxGrowth = 64;

struct StunDatagram {
    std::span<const uint8_t> bytes;
    om_address source{};
    int received_on = EndpointTable::kPrimary;
    om_address local{}; // the destination the client used (IP_PKTINFO); family 0 when unknown
};

enum class StunOutcome : uint8_t {
    Success,        // a Binding success response
    Error,          // a Binding error response (400, 420)
    Malformed,      // dropped: not a valid STUN message (why says which rule)
    Indication,     // a Binding indication: counted, not answered
    Unsupported,    // dropped: a method other than Binding, or a response/indication class
    TooLarge,       // dropped: the answer would not fit the no-amplification budget
};

struct StunReply {
    StunOutcome outcome = StunOutcome::Malformed;
    size_t size = 0;                              // bytes written when Success or Error
    int send_from = EndpointTable::kPrimary;      // the endpoint whose socket sends it
    om_address destination{};
    bool classic = false;                         // RFC 3489 request
    bool change_request = false;                  // CHANGE-REQUEST with a flag set
    uint16_t error_code = 0;
};

class BindingResponder {
public:
    explicit BindingResponder(const EndpointTable& endpoints) : endpoints_(endpoints) {}

    // Writes the answer into out (which should hold kMaxGrowth more bytes than the largest
    // request). When want_why, why() says why a datagram was dropped as Malformed.
    StunReply answer(const StunDatagram& in, std::span<uint8_t> out, bool want_why = false);
    const std::string& why() const { return why_; }

private:
    // response_port: RFC 5780 §6.1 sends "the Response" to RESPONSE-PORT when present; error
    // responses too once RESPONSE-PORT itself was accepted (a client waits there).
    StunReply error(const StunDatagram& in, std::span<uint8_t> out, uint16_t code, const char* reason,
                    std::span<const uint16_t> unknown, uint16_t response_port = 0);
    StunReply success(const StunDatagram& in, std::span<uint8_t> out, int send_from, uint16_t response_port);
    // The address to report for an endpoint: a wildcard bind reports the request's destination
    // IP when known; family 0 when it cannot say.
    om_address reported(int endpoint, const StunDatagram& in) const;

    const EndpointTable& endpoints_;
    proto::stun::Message message_;
    std::string why_;
};

} // namespace om::server
