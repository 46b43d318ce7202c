#include "turn/turn_auth.hpp"

#include "proto/random.h"
#include "proto/stun.h"
#include "proto/turn.h"

#include <Poco/HMACEngine.h>
#include <Poco/SHA1Engine.h>

#include <charconv>
#include <cstdio>

namespace om::server {

TurnAuth::TurnAuth(const TurnConfig& config) : realm_(config.realm), users_(config.users), secret_(config.secret)
{
    proto::random_bytes(nonce_key_);
}

std::optional<std::vector<uint8_t>> TurnAuth::key_for(std::string_view username, uint64_t now_unix_s) const
{
    for (const auto& [name, password] : users_)
        if (name == username) return proto::stun::long_term_key(username, realm_, password);
    if (secret_.empty()) return std::nullopt;
    // coturn's use-auth-secret: the username carries its expiry; the password is derived.
    const auto expiry = proto::turn::rest_expiry(username);
    if (!expiry || *expiry <= now_unix_s) return std::nullopt;
    return proto::stun::long_term_key(username, realm_, proto::turn::rest_password(secret_, username));
}

std::string TurnAuth::mac(uint64_t issued, const om_address& client) const
{
    Poco::HMACEngine<Poco::SHA1Engine> hmac(std::string(reinterpret_cast<const char*>(nonce_key_.data()), nonce_key_.size()));
    hmac.update(&issued, sizeof issued);
    hmac.update(&client.family, sizeof client.family);
    hmac.update(&client.port, sizeof client.port);
    hmac.update(client.bytes, sizeof client.bytes);
    const auto& digest = hmac.digest();
    std::string out;
    char hex[3];
    for (size_t i = 0; i < 12; ++i) {  // 96 bits are plenty against guessing
        std::snprintf(hex, sizeof hex, "%02x", digest[i]);
        out += hex;
    }
    return out;
}

std::string TurnAuth::nonce(const om_address& client, uint64_t now_unix_s) const
{
    char issued[17];
    std::snprintf(issued, sizeof issued, "%016llx", static_cast<unsigned long long>(now_unix_s));
    return std::string(issued) + mac(now_unix_s, client);
}

TurnAuth::NonceCheck TurnAuth::check(std::string_view nonce, const om_address& client, uint64_t now_unix_s) const
{
    if (nonce.size() != 16 + 24) return NonceCheck::Bad;
    uint64_t issued = 0;
    const auto [end, ec] = std::from_chars(nonce.data(), nonce.data() + 16, issued, 16);
    if (ec != std::errc() || end != nonce.data() + 16) return NonceCheck::Bad;
    if (nonce.substr(16) != mac(issued, client)) return NonceCheck::Bad;
    return now_unix_s > issued + kNonceLifetimeS ? NonceCheck::Stale : NonceCheck::Fresh;
}

} // namespace om::server
