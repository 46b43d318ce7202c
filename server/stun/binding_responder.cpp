#include "stun/binding_responder.hpp"

#include "stun/socket_address.hpp"

#include <algorithm>
#include <optional>

namespace om::server {
namespace {

using namespace om::proto::stun;

size_t address_attribute_size(const om_address& a) { return 4 + (a.family == 4 ? 8 : 20); } // §14.1
constexpr size_t kFingerprintSize = 8;                                                       // §14.7

// Adds attributes in order of preference while they fit the budget (see the header).
class BudgetPlan {
public:
    BudgetPlan(size_t budget) : budget_(budget) {}
    bool take(bool wanted, size_t bytes) {
        if (!wanted || used_ + bytes > budget_) return false;
        used_ += bytes;
        return true;
    }
    size_t used() const { return used_; }
    size_t left() const { return budget_ - used_; }

private:
    size_t budget_;
    size_t used_ = kHeaderSize;
};

Builder response_builder(const Message& m, std::span<uint8_t> out, Class cls) {
    if (m.classic) return Builder::classic(out, method::Binding, cls, m.classic_cookie, m.transaction_id);
    return Builder(out, method::Binding, cls, m.transaction_id);
}

} // namespace

om_address BindingResponder::reported(int endpoint, const StunDatagram& in) const {
    om_address a = endpoints_.address(endpoint);
    if (!stun_net::is_wildcard(a)) return a;
    if (in.local.family != a.family) return {}; // a wildcard bind without IP_PKTINFO cannot say
    const uint16_t port = a.port;
    a = in.local;
    a.port = port;
    return a;
}

StunReply BindingResponder::answer(const StunDatagram& in, std::span<uint8_t> out, bool want_why) {
    StunReply reply;
    reply.destination = in.source;
    reply.send_from = in.received_on;
    why_.clear();
    ParseOptions options;
    options.allow_classic = true;
    if (!parse(in.bytes, message_, want_why ? &why_ : nullptr, options)) return reply; // Malformed
    const Message& m = message_;
    reply.classic = m.classic;
    if (m.method != method::Binding || (m.cls != Class::Request && m.cls != Class::Indication)) {
        reply.outcome = StunOutcome::Unsupported; // RFC 8489 §6.3: silently discarded
        return reply;
    }
    if (m.cls == Class::Indication) {
        reply.outcome = StunOutcome::Indication; // §6.3.2: no response
        return reply;
    }
    // RFC 3489's RESPONSE-ADDRESS would make us send to any address: a reflector. Refused as
    // not understood (RFC 8489 dropped it).
    if (m.find(attr::ResponseAddress)) {
        static constexpr uint16_t refused[] = {attr::ResponseAddress};
        return error(in, out, 420, "Unknown Attribute", refused);
    }
    if (std::vector<uint16_t> unknown = unknown_required(m); !unknown.empty()) // §6.3.1
        return error(in, out, 420, "Unknown Attribute", unknown);

    const Attribute* response_port = m.find(attr::ResponsePort);
    if (response_port && m.find(attr::Padding)) // RFC 5780 §6.1, §7.5; §10: no amplification
        return error(in, out, 400, "PADDING with RESPONSE-PORT", {});
    uint16_t port = 0;
    if (response_port) {
        std::optional<uint16_t> value = read_response_port(*response_port);
        if (!value || *value == 0) return error(in, out, 400, "Bad RESPONSE-PORT", {});
        port = *value;
    }
    int send_from = in.received_on;
    if (const Attribute* change = m.find(attr::ChangeRequest)) {
        std::optional<uint32_t> flags = read_u32(*change);
        if (!flags) return error(in, out, 400, "Bad CHANGE-REQUEST", {});
        const bool change_ip = (*flags & kChangeIp) != 0;
        const bool change_port = (*flags & kChangePort) != 0;
        if (change_ip || change_port) {
            reply.change_request = true;
            std::optional<int> from = endpoints_.responder(in.received_on, change_ip, change_port);
            if (!from) { // RFC 5780 §6, §6.1: no such alternate -> 420
                static constexpr uint16_t not_honoured[] = {attr::ChangeRequest};
                StunReply r = error(in, out, 420, "Unknown Attribute", not_honoured, port);
                r.change_request = true;
                return r;
            }
            send_from = *from;
        }
    }
    StunReply r = success(in, out, send_from, port);
    r.change_request = reply.change_request;
    return r;
}

StunReply BindingResponder::success(const StunDatagram& in, std::span<uint8_t> out, int send_from,
                                    uint16_t response_port) {
    const Message& m = message_;
    StunReply reply;
    reply.classic = m.classic;
    reply.send_from = send_from;
    reply.destination = in.source;
    if (response_port != 0) reply.destination.port = response_port; // RFC 5780 §7.5

    const om_address& mapped = in.source;
    std::optional<int> other_endpoint = endpoints_.other(in.received_on);
    const om_address other = other_endpoint ? reported(*other_endpoint, in) : om_address{};
    const om_address origin = reported(send_from, in);

    const size_t budget = std::min(out.size(), in.bytes.size() + kMaxGrowth);
    BudgetPlan plan(budget);
    const bool first = plan.take(true, address_attribute_size(mapped)); // XOR-MAPPED, or MAPPED if classic
    const bool with_other = plan.take(other.family != 0, address_attribute_size(other));
    const bool with_origin = plan.take(origin.family != 0, address_attribute_size(origin));
    const bool with_fingerprint = plan.take(m.has_fingerprint, kFingerprintSize);
    const bool with_mapped = plan.take(!m.classic, address_attribute_size(mapped));
    // RFC 5780 §6.1: PADDING answers PADDING; sized to bring the response to the request's size.
    const bool with_padding = m.find(attr::Padding) != nullptr && plan.take(true, 4);
    size_t padding = 0;
    if (with_padding && in.bytes.size() > plan.used()) padding = std::min(in.bytes.size() - plan.used(), plan.left()) & ~size_t{3};

    Builder b = response_builder(m, out.first(budget), Class::SuccessResponse);
    if (first) {
        if (m.classic) b.add_address(attr::MappedAddress, mapped);
        else b.add_xor_address(attr::XorMappedAddress, mapped);
    }
    if (with_mapped) b.add_address(attr::MappedAddress, mapped);
    // RFC 3489 §11.2: CHANGED-ADDRESS and SOURCE-ADDRESS are what RFC 5780 renamed OTHER-ADDRESS
    // and (nearly) RESPONSE-ORIGIN.
    if (with_other) b.add_address(m.classic ? attr::ChangedAddress : attr::OtherAddress, other);
    if (with_origin) b.add_address(m.classic ? attr::SourceAddress : attr::ResponseOrigin, origin);
    if (with_padding) b.add_padding(padding);
    if (with_fingerprint) b.add_fingerprint();
    reply.size = b.finish();
    reply.outcome = (first && reply.size != 0) ? StunOutcome::Success : StunOutcome::TooLarge;
    return reply;
}

StunReply BindingResponder::error(const StunDatagram& in, std::span<uint8_t> out, uint16_t code,
                                  const char* reason, std::span<const uint16_t> unknown, uint16_t response_port) {
    const Message& m = message_;
    StunReply reply;
    reply.classic = m.classic;
    reply.send_from = in.received_on;
    reply.destination = in.source;
    if (response_port != 0) reply.destination.port = response_port;
    reply.error_code = code;
    const size_t budget = std::min(out.size(), in.bytes.size() + kMaxGrowth);
    Builder b = response_builder(m, out.first(budget), Class::ErrorResponse);
    b.add_error_code(code, reason); // §14.8
    if (!unknown.empty()) b.add_unknown_attributes(unknown.first(std::min<size_t>(unknown.size(), kMaxAttributes)));
    if (m.has_fingerprint) b.add_fingerprint();
    reply.size = b.finish();
    reply.outcome = reply.size != 0 ? StunOutcome::Error : StunOutcome::TooLarge;
    return reply;
}

} // namespace om::server
