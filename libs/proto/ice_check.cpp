// ICE connectivity checks (RFC 8445 §7.2.2, §7.3) over the STUN codec: building requests and
// responses, and verifying what arrives before the check list may act on it.
#include "proto/ice_check.h"

#include "proto/stun_wire.h"

#include <array>
#include <cstring>

namespace om::proto::ice {
namespace {

namespace attr = stun::attr;

constexpr size_t kMaxUsername = 512;  // RFC 8489 §14.3: USERNAME is shorter than 513 bytes
constexpr size_t kTieBreakerSize = 8;  // RFC 8445 §16.1: 64-bit unsigned, network order
constexpr uint16_t kRoleConflict = 487;  // RFC 8445 §7.3.1.1

std::span<const uint8_t> key_of(std::string_view password)
{
    // RFC 8489 §9.1.1: the short-term key is the password itself.
    return {reinterpret_cast<const uint8_t*>(password.data()), password.size()};
}

// Ends every ICE message: MESSAGE-INTEGRITY (when a password is given) then FINGERPRINT.
size_t seal(stun::Builder& b, std::string_view password, bool with_integrity)
{
    if (with_integrity) b.add_message_integrity(key_of(password));
    b.add_fingerprint();
    return b.finish();
}

bool is_response(stun::Class cls)
{
    return cls == stun::Class::SuccessResponse || cls == stun::Class::ErrorResponse;
}

}  // namespace

size_t build_check_request(std::span<uint8_t> out, const stun::TransactionId& id, const CheckRequest& request)
{
    // §7.2.2: USERNAME "<remote ufrag>:<local ufrag>", built on the stack (checks are frequent).
    std::array<char, kMaxUsername> username{};
    const size_t length = request.remote_ufrag.size() + 1 + request.local_ufrag.size();
    if (length > username.size()) return 0;
    std::memcpy(username.data(), request.remote_ufrag.data(), request.remote_ufrag.size());
    username[request.remote_ufrag.size()] = ':';
    std::memcpy(username.data() + request.remote_ufrag.size() + 1, request.local_ufrag.data(), request.local_ufrag.size());

    std::array<uint8_t, kTieBreakerSize> tie_breaker{};
    for (size_t i = 0; i < kTieBreakerSize; ++i)
        tie_breaker[i] = static_cast<uint8_t>(request.tie_breaker >> (8 * (kTieBreakerSize - 1 - i)));

    stun::Builder b(out, stun::method::Binding, stun::Class::Request, id);
    b.add_text(attr::Username, std::string_view(username.data(), length));
    b.add_u32(attr::Priority, request.priority);
    b.add_bytes(request.role == Role::Controlling ? attr::IceControlling : attr::IceControlled, tie_breaker);
    if (request.use_candidate) b.add_bytes(attr::UseCandidate, {});
    return seal(b, request.remote_pwd, true);
}

size_t build_check_success(std::span<uint8_t> out, const stun::TransactionId& id, const om_address& source,
                           std::string_view local_pwd)
{
    stun::Builder b(out, stun::method::Binding, stun::Class::SuccessResponse, id);
    b.add_xor_address(attr::XorMappedAddress, source);
    return seal(b, local_pwd, true);
}

size_t build_check_error(std::span<uint8_t> out, const stun::TransactionId& id, uint16_t code,
                         std::string_view reason, std::string_view local_pwd)
{
    stun::Builder b(out, stun::method::Binding, stun::Class::ErrorResponse, id);
    b.add_error_code(code, reason);
    return seal(b, local_pwd, !local_pwd.empty());
}

const char* verdict_name(CheckVerdict verdict)
{
    switch (verdict) {
    case CheckVerdict::Ok: return "ok";
    case CheckVerdict::NotACheck: return "not_a_check";
    case CheckVerdict::Malformed: return "malformed";
    case CheckVerdict::UnknownUfrag: return "unknown_ufrag";
    case CheckVerdict::BadIntegrity: return "bad_integrity";
    }
    return "unknown";
}

namespace detail {

CheckVerdict parse_check_request(std::span<const uint8_t> bytes, stun::Message& message, std::string_view& local_ufrag,
                                 ReceivedCheck& out)
{
    // parse() refuses classic (cookie-less) messages and verifies FINGERPRINT when present.
    if (!stun::parse(bytes, message)) return CheckVerdict::Malformed;
    if (message.method != stun::method::Binding || message.cls != stun::Class::Request) return CheckVerdict::NotACheck;
    // §7.3: a check without these is answered 400 (here: dropped and counted).
    if (message.integrity_offset == 0 || !message.has_fingerprint) return CheckVerdict::Malformed;
    static constexpr uint16_t kKnown[] = {attr::Priority, attr::UseCandidate};
    if (!stun::unknown_required(message, kKnown).empty()) return CheckVerdict::Malformed;

    const stun::Attribute* username = message.find(attr::Username);
    const stun::Attribute* priority = message.find(attr::Priority);
    if (!username || !priority) return CheckVerdict::Malformed;
    auto text = stun::read_text(*username);
    auto priority_value = stun::read_u32(*priority);
    if (!text || !priority_value) return CheckVerdict::Malformed;
    // §7.2.2: "<our ufrag>:<the sender's ufrag>", both non-empty.
    const size_t colon = text->find(':');
    if (colon == std::string_view::npos || colon == 0 || colon + 1 == text->size()) return CheckVerdict::Malformed;

    const stun::Attribute* controlling = message.find(attr::IceControlling);
    const stun::Attribute* controlled = message.find(attr::IceControlled);
    if (controlling && controlled) return CheckVerdict::Malformed;
    ReceivedCheck check;
    if (const stun::Attribute* role = controlling ? controlling : controlled) {
        if (role->value.size() != kTieBreakerSize) return CheckVerdict::Malformed;
        check.sender_role = controlling ? Role::Controlling : Role::Controlled;
        for (uint8_t byte : role->value) check.tie_breaker = (check.tie_breaker << 8) | byte;
    }
    if (const stun::Attribute* use = message.find(attr::UseCandidate)) {
        if (!use->value.empty()) return CheckVerdict::Malformed;  // §16.1: no value
        check.use_candidate = true;
    }
    check.id = message.transaction_id;
    check.remote_ufrag = std::string(text->substr(colon + 1));
    check.priority = *priority_value;
    local_ufrag = text->substr(0, colon);
    out = std::move(check);
    return CheckVerdict::Ok;
}

CheckVerdict authenticate_check(const stun::Message& message, std::string_view pwd)
{
    return stun::verify_integrity(message, key_of(pwd)) ? CheckVerdict::Ok : CheckVerdict::BadIntegrity;
}

}  // namespace detail

std::optional<stun::TransactionId> peek_response_id(std::span<const uint8_t> bytes)
{
    if (!stun::looks_like_stun(bytes)) return std::nullopt;
    const uint16_t type = stun::wire::get16(bytes.data());
    if (stun::wire::method_of(type) != stun::method::Binding || !is_response(stun::wire::class_of(type))) return std::nullopt;
    stun::TransactionId id{};
    std::memcpy(id.data(), bytes.data() + stun::kHeaderSize - id.size(), id.size());
    return id;
}

ResponseVerdict verify_check_response(std::span<const uint8_t> bytes, std::string_view remote_pwd,
                                      ReceivedResponse& out)
{
    stun::Message message;
    if (!stun::parse(bytes, message)) return ResponseVerdict::Malformed;
    if (message.method != stun::method::Binding || !is_response(message.cls)) return ResponseVerdict::Malformed;
    // RFC 8445 §7: checks and their responses carry FINGERPRINT (it tells them from media).
    if (!message.has_fingerprint) return ResponseVerdict::Malformed;
    // §7.2.5.1 (RFC 8489 §9.1.4): authenticate before believing anything the response says.
    if (!stun::verify_integrity(message, key_of(remote_pwd))) return ResponseVerdict::BadIntegrity;
    // RFC 8489 §6.3.3/§6.3.4: unknown comprehension-required attributes fail the transaction.
    if (!stun::unknown_required(message).empty()) return ResponseVerdict::Malformed;

    ReceivedResponse response;
    response.id = message.transaction_id;
    if (message.cls == stun::Class::SuccessResponse) {
        const stun::Attribute* mapped = message.find(attr::XorMappedAddress);
        if (!mapped) return ResponseVerdict::Malformed;
        response.mapped = stun::read_xor_address(*mapped, message);
        if (!response.mapped) return ResponseVerdict::Malformed;
        out = response;
        return ResponseVerdict::Success;
    }
    const stun::Attribute* error = message.find(attr::ErrorCode);
    if (!error) return ResponseVerdict::Malformed;
    auto code = stun::read_error_code(*error);
    if (!code) return ResponseVerdict::Malformed;
    response.error_code = code->code;
    out = response;
    return code->code == kRoleConflict ? ResponseVerdict::RoleConflict : ResponseVerdict::Error;
}

}  // namespace om::proto::ice
