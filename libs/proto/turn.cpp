// RFC 8656 ChannelData (§12.4, §12.5), RFC 8489 §9.2 password algorithms and coturn's REST
// credentials. The hashes and base64 come from Poco.
#include "proto/turn.h"

#include "proto/base64.h"
#include "proto/stun_wire.h"

#include <Poco/HMACEngine.h>
#include <Poco/MD5Engine.h>
#include <Poco/SHA1Engine.h>
#include <Poco/SHA2Engine.h>

#include <algorithm>
#include <charconv>

namespace om::proto::turn {
namespace {

using stun::wire::explain;
using stun::wire::get16;
using stun::wire::put16;

constexpr uint16_t kTurnAttributes[] = {
    stun::attr::ChannelNumber, stun::attr::Lifetime,          stun::attr::XorPeerAddress,
    stun::attr::DataAttr,      stun::attr::XorRelayedAddress, stun::attr::RequestedTransport,
    0x0018 /* EVEN-PORT */,    0x001A /* DONT-FRAGMENT */,    0x0022 /* RESERVATION-TOKEN */,
    0x0017 /* REQUESTED-ADDRESS-FAMILY, RFC 8656 §14.6 */,
};

}  // namespace

std::span<const uint16_t> known_attributes() { return kTurnAttributes; }

size_t write_channel_data(std::span<uint8_t> out, uint16_t channel, std::span<const uint8_t> payload, bool stream,
                          bool legacy_range)
{
    if (!(legacy_range ? valid_legacy_channel(channel) : valid_channel(channel)) || payload.size() > 0xFFFF) return 0;
    const size_t framed = kChannelHeaderSize + (stream ? stun::wire::padded(payload.size()) : payload.size());
    if (out.size() < framed) return 0;
    put16(out.data(), channel);
    put16(out.data() + 2, static_cast<uint16_t>(payload.size()));
    std::copy(payload.begin(), payload.end(), out.begin() + kChannelHeaderSize);
    std::fill(out.begin() + static_cast<std::ptrdiff_t>(kChannelHeaderSize + payload.size()),
              out.begin() + static_cast<std::ptrdiff_t>(framed), uint8_t{0});
    return framed;
}

std::optional<ChannelData> read_channel_data(std::span<const uint8_t> bytes, std::string* why, bool legacy_range)
{
    if (bytes.size() < kChannelHeaderSize) {
        explain(why, "ChannelData shorter than its 4-byte header");
        return std::nullopt;
    }
    const uint16_t channel = get16(bytes.data());
    if (!(legacy_range ? valid_legacy_channel(channel) : valid_channel(channel))) {
        explain(why, [&] {
            return "channel number " + std::to_string(channel) + (legacy_range ? " outside 0x4000-0x7FFE" : " outside 0x4000-0x4FFF");
        });
        return std::nullopt;
    }
    const size_t length = get16(bytes.data() + 2);
    if (kChannelHeaderSize + length > bytes.size()) {
        explain(why, [&] { return "ChannelData length " + std::to_string(length) + " exceeds the datagram"; });
        return std::nullopt;
    }
    return ChannelData{channel, bytes.subspan(kChannelHeaderSize, length)};
}

std::optional<size_t> stream_frame_size(std::span<const uint8_t> head)
{
    if (head.size() < 4) return size_t{0};
    const uint8_t first = head[0];
    if (first <= 3) {
        // STUN: the 20-byte header and its length (already a multiple of 4).
        return stun::kHeaderSize + get16(head.data() + 2);
    }
    if (first >= 0x40 && first <= 0x7F) return kChannelHeaderSize + stun::wire::padded(get16(head.data() + 2));
    return std::nullopt;
}

std::optional<std::vector<uint16_t>> read_password_algorithms(const stun::Attribute& a, std::string* why)
{
    std::vector<uint16_t> out;
    size_t at = 0;
    const auto v = a.value;
    while (at < v.size()) {
        if (at + 4 > v.size()) {
            explain(why, "PASSWORD-ALGORITHMS: a truncated entry");
            return std::nullopt;
        }
        const uint16_t algorithm = get16(v.data() + at);
        const size_t params = get16(v.data() + at + 2);
        at += 4 + stun::wire::padded(params);
        if (at > v.size()) {
            explain(why, "PASSWORD-ALGORITHMS: parameters exceed the attribute");
            return std::nullopt;
        }
        out.push_back(algorithm);
    }
    return out;
}

std::vector<uint8_t> password_algorithms_value(std::span<const uint16_t> algorithms)
{
    std::vector<uint8_t> out(algorithms.size() * 4, 0);
    for (size_t i = 0; i < algorithms.size(); ++i) put16(out.data() + 4 * i, algorithms[i]);
    return out;
}

std::vector<uint8_t> long_term_key(PasswordAlgorithm algorithm, std::string_view username, std::string_view realm,
                                   std::string_view password)
{
    if (algorithm == PasswordAlgorithm::Md5) return stun::long_term_key(username, realm, password);
    Poco::SHA2Engine sha(Poco::SHA2Engine::SHA_256);
    sha.update(username.data(), username.size());
    sha.update(':');
    sha.update(realm.data(), realm.size());
    sha.update(':');
    sha.update(password.data(), password.size());
    const auto& digest = sha.digest();
    return {digest.begin(), digest.end()};
}

bool nonce_offers_password_algorithms(std::string_view nonce)
{
    if (nonce.size() < kNonceCookie.size() + 4 || nonce.substr(0, kNonceCookie.size()) != kNonceCookie) return false;
    // The first base64 character carries bits 0..5 of the feature set, bit 0 its top bit.
    const char c = nonce[kNonceCookie.size()];
    int value = -1;
    if (c >= 'A' && c <= 'Z') value = c - 'A';
    else if (c >= 'a' && c <= 'z') value = c - 'a' + 26;
    else if (c >= '0' && c <= '9') value = c - '0' + 52;
    else if (c == '+') value = 62;
    else if (c == '/') value = 63;
    return value >= 0 && (value & 0x20) != 0;
}

std::string rest_password(std::string_view secret, std::string_view username)
{
    const std::string key(secret);
    Poco::HMACEngine<Poco::SHA1Engine> hmac(key);
    hmac.update(username.data(), username.size());
    const auto& digest = hmac.digest();
    return base64_encode(std::span<const uint8_t>(digest.data(), digest.size()));
}

RestCredentials rest_credentials(std::string_view secret, std::string_view name, uint64_t expiry_unix_s)
{
    RestCredentials c;
    c.username = std::to_string(expiry_unix_s);
    if (!name.empty()) c.username.append(1, ':').append(name);
    c.password = rest_password(secret, c.username);
    return c;
}

std::optional<uint64_t> rest_expiry(std::string_view username)
{
    const auto colon = username.find(':');
    const std::string_view digits = username.substr(0, colon);
    uint64_t value = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (ec != std::errc() || end != digits.data() + digits.size() || digits.empty()) return std::nullopt;
    return value;
}

}  // namespace om::proto::turn
