#include "hub/agent_token.hpp"

#include <Poco/JWT/Signer.h>
#include <Poco/JWT/Token.h>
#include <Poco/Timespan.h>
#include <Poco/Timestamp.h>

#include <stdexcept>

namespace om::server {

std::string mint_token(const std::string& secret, const std::string& subject, int64_t ttl_seconds) {
    if (secret.empty()) throw std::invalid_argument("the secret is empty");
    if (subject.empty()) throw std::invalid_argument("the agent id is empty");
    if (ttl_seconds <= 0) throw std::invalid_argument("the ttl must be positive");
    Poco::JWT::Token token;
    token.setType("JWT");
    token.setSubject(subject);
    Poco::Timestamp now;
    token.setIssuedAt(now);
    token.setExpiration(now + Poco::Timespan(static_cast<long>(ttl_seconds), 0));
    Poco::JWT::Signer signer(secret);
    return signer.sign(token, Poco::JWT::Signer::ALGO_HS256);
}

TokenCheck check_token(const std::string& secret, const std::string& text,
                       const std::string& expected_subject) {
    if (text.empty()) return TokenCheck::Missing;
    Poco::JWT::Signer signer(secret); // allows HS256 only by default
    Poco::JWT::Token token;
    try {
        if (!signer.tryVerify(text, token)) return TokenCheck::Forged;
    } catch (const Poco::Exception&) {
        return TokenCheck::Forged; // not even a JWT
    }
    if (!token.payload().has("exp")) return TokenCheck::Expired; // no expiry: never valid
    if (token.getExpiration() <= Poco::Timestamp()) return TokenCheck::Expired;
    if (token.getSubject() != expected_subject) return TokenCheck::WrongSubject;
    return TokenCheck::Valid;
}

const char* token_check_name(TokenCheck check) {
    switch (check) {
    case TokenCheck::Valid: return "valid";
    case TokenCheck::Missing: return "missing";
    case TokenCheck::Forged: return "forged";
    case TokenCheck::Expired: return "expired";
    case TokenCheck::WrongSubject: return "wrong_subject";
    }
    return "unknown";
}

} // namespace om::server
