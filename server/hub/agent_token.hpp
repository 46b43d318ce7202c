// Agent and admin tokens: HS256 JWTs (RFC 7519) signed with the server's secret, whose
// subject is the agent id ("admin" for /v1/agents), with an expiry ("exp", RFC 7519 §4.1.4).
#pragma once

#include <cstdint>
#include <string>

namespace om::server {

std::string mint_token(const std::string& secret, const std::string& subject, int64_t ttl_seconds);

enum class TokenCheck { Valid, Missing, Forged, Expired, WrongSubject };

TokenCheck check_token(const std::string& secret, const std::string& token,
                       const std::string& expected_subject);

// "missing", "forged", "expired", "wrong_subject": the auth.failures.<reason> counter names.
const char* token_check_name(TokenCheck check);

} // namespace om::server
