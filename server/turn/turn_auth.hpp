// The relay's side of the long-term credential mechanism (RFC 8489 §9.2): who a username is
// (a static user, or coturn's time-limited "<expiry>:<name>" with the shared secret), its key,
// and stateless nonces bound to the client's address and their age (§9.2.4: 438 when stale).
#pragma once

#include "turn/turn_config.hpp"

#include <orbitmesh/plugin.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace om::server {

class TurnAuth {
public:
    explicit TurnAuth(const TurnConfig& config);

    // The long-term key (MD5 of user:realm:password) for a username valid at now_unix_s.
    std::optional<std::vector<uint8_t>> key_for(std::string_view username, uint64_t now_unix_s) const;

    enum class NonceCheck { Fresh, Stale, Bad };
    // A nonce for this client, valid kNonceLifetimeS.
    std::string nonce(const om_address& client, uint64_t now_unix_s) const;
    NonceCheck check(std::string_view nonce, const om_address& client, uint64_t now_unix_s) const;
    const std::string& realm() const { return realm_; }

    static constexpr uint64_t kNonceLifetimeS = 600;

private:
    std::string mac(uint64_t issued, const om_address& client) const;

    std::string realm_;
    std::vector<std::pair<std::string, std::string>> users_;
    std::string secret_;
    std::array<uint8_t, 32> nonce_key_{};  // random per process: nonces of a restarted server are stale
};

} // namespace om::server
