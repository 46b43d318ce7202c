// ICE connectivity checks (RFC 8445 §7): STUN Binding requests and responses carrying USERNAME
// "<remote ufrag>:<local ufrag>", PRIORITY, ICE-CONTROLLING/ICE-CONTROLLED with a tie-breaker,
// USE-CANDIDATE, MESSAGE-INTEGRITY (short-term credentials, RFC 8489 §9.1) and FINGERPRINT.
// Building and verifying only: the check list state machine lives in kernel/agent/ice.
#pragma once

#include "proto/stun.h"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace om::proto::ice {

// ICE consent/keepalive and checks share this largest size; far below any MTU.
inline constexpr size_t kMaxCheckSize = 256;

enum class Role : uint8_t { Controlling, Controlled };

struct CheckRequest {
    std::string_view remote_ufrag;  // USERNAME = remote_ufrag ":" local_ufrag (§7.2.2)
    std::string_view local_ufrag;
    std::string_view remote_pwd;    // MESSAGE-INTEGRITY key: the peer's password (§7.2.2)
    uint32_t priority = 0;          // PRIORITY: what a peer-reflexive candidate of ours would get
    Role role = Role::Controlling;
    uint64_t tie_breaker = 0;
    bool use_candidate = false;     // controlling only (§7.2.2, §8.1.1)
};
// Writes a Binding request into out; returns its size (0 if out is too small).
size_t build_check_request(std::span<uint8_t> out, const stun::TransactionId& id, const CheckRequest& request);

// Success response (§7.3.1.4): XOR-MAPPED-ADDRESS = the request's source, MESSAGE-INTEGRITY with
// local_pwd (the password of the agent answering), FINGERPRINT.
size_t build_check_success(std::span<uint8_t> out, const stun::TransactionId& id, const om_address& source,
                           std::string_view local_pwd);
// 487 Role Conflict (§7.3.1.1) or 400/401 errors, integrity-protected with local_pwd when given.
size_t build_check_error(std::span<uint8_t> out, const stun::TransactionId& id, uint16_t code,
                         std::string_view reason, std::string_view local_pwd);

// A request addressed to us, verified. Everything that fails becomes a reason to count it.
enum class CheckVerdict : uint8_t {
    Ok,
    NotACheck,          // not a Binding request (a response or another method): not for this code
    Malformed,          // bad STUN, missing USERNAME/PRIORITY/MESSAGE-INTEGRITY/FINGERPRINT (§7.3)
    UnknownUfrag,       // USERNAME's first part is not our ufrag (§7.3: 401)
    BadIntegrity,       // MESSAGE-INTEGRITY does not verify with our password (§7.3: 401)
};
const char* verdict_name(CheckVerdict verdict);  // "ok", "malformed", "unknown_ufrag", …

struct ReceivedCheck {
    stun::TransactionId id{};
    std::string remote_ufrag;  // USERNAME's second part (the sender's ufrag)
    uint32_t priority = 0;
    std::optional<Role> sender_role;  // from ICE-CONTROLLING / ICE-CONTROLLED
    uint64_t tie_breaker = 0;
    bool use_candidate = false;
};
// Parses and authenticates a Binding request: `lookup(local_ufrag)` returns the password of the
// session owning that ufrag (our side), nullopt when unknown. On Ok, *owner_ufrag is that ufrag.
template <class Lookup>
CheckVerdict verify_check_request(std::span<const uint8_t> bytes, Lookup&& lookup, ReceivedCheck& out,
                                  std::string* owner_ufrag);

// A response to one of our checks, verified with the peer's password (§7.2.5.1, §7.2.5.2.1).
enum class ResponseVerdict : uint8_t { Success, RoleConflict, Error, Malformed, BadIntegrity };
struct ReceivedResponse {
    stun::TransactionId id{};
    std::optional<om_address> mapped;  // XOR-MAPPED-ADDRESS of a success
    uint16_t error_code = 0;
};
// Reads the transaction id only (to find the pending check) without verifying anything.
std::optional<stun::TransactionId> peek_response_id(std::span<const uint8_t> bytes);
ResponseVerdict verify_check_response(std::span<const uint8_t> bytes, std::string_view remote_pwd,
                                      ReceivedResponse& out);

// --- implementation of the template -------------------------------------------------------------
namespace detail {
// Parses the request and splits USERNAME; returns the local ufrag (view into bytes) or a verdict.
CheckVerdict parse_check_request(std::span<const uint8_t> bytes, stun::Message& message, std::string_view& local_ufrag,
                                 ReceivedCheck& out);
CheckVerdict authenticate_check(const stun::Message& message, std::string_view pwd);
} // namespace detail

template <class Lookup>
CheckVerdict verify_check_request(std::span<const uint8_t> bytes, Lookup&& lookup, ReceivedCheck& out,
                                  std::string* owner_ufrag)
{
    stun::Message message;
    std::string_view local_ufrag;
    CheckVerdict verdict = detail::parse_check_request(bytes, message, local_ufrag, out);
    if (verdict != CheckVerdict::Ok) return verdict;
    std::optional<std::string> pwd = lookup(local_ufrag);
    if (!pwd) return CheckVerdict::UnknownUfrag;
    verdict = detail::authenticate_check(message, *pwd);
    if (verdict == CheckVerdict::Ok && owner_ufrag) owner_ufrag->assign(local_ufrag);
    return verdict;
}

} // namespace om::proto::ice
