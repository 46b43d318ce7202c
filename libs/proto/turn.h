// TURN (RFC 8656) on top of the STUN codec: ChannelData framing (§12.4, §12.5), the attribute
// values TURN adds, the RFC 8489 §9.2 password algorithms TURN's long-term credentials use,
// and coturn's time-limited "REST API" credentials. Pure functions, shared by the turn-client
// plugin, the server's relay, the signaling server and the tests.
#pragma once

#include "proto/stun.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace om::proto::turn {

// §12: channel numbers 0x4000 through 0x4FFF; the first byte of ChannelData is then 64..79.
inline constexpr uint16_t kChannelMin = 0x4000;
inline constexpr uint16_t kChannelMax = 0x4FFF;
inline constexpr size_t kChannelHeaderSize = 4;
inline constexpr bool valid_channel(uint32_t number) { return number >= kChannelMin && number <= kChannelMax; }
// RFC 5766 §11 allowed 0x4000 through 0x7FFE, and its clients (coturn's own turnutils_uclient
// among them) still use the upper part: a server accepts them (first byte 64-127 on its port,
// where no QUIC arrives). Clients of this codebase use the RFC 8656 range only.
inline constexpr uint16_t kLegacyChannelMax = 0x7FFE;
inline constexpr bool valid_legacy_channel(uint32_t number) { return number >= kChannelMin && number <= kLegacyChannelMax; }

// §14.7 REQUESTED-TRANSPORT: the protocol number in the first byte, RFFU after it.
inline constexpr uint8_t kProtocolUdp = 17;
inline constexpr uint32_t requested_transport_value(uint8_t protocol) { return uint32_t{protocol} << 24; }

// §7.2 / §7.3: the default allocation lifetime, and how long permissions (§9) and channel
// bindings (§12) last.
inline constexpr uint32_t kDefaultLifetimeS = 600;
inline constexpr uint32_t kMaxLifetimeS = 3600;
inline constexpr uint32_t kPermissionLifetimeS = 300;
inline constexpr uint32_t kChannelLifetimeS = 600;

// The attribute types TURN adds, for stun::unknown_required(known = …).
std::span<const uint16_t> known_attributes();

// §12.4: the ChannelData header then the payload. Over UDP nothing follows; over a stream
// (§12.5) the message is padded to a multiple of 4 bytes. Returns the size written, 0 when
// `out` is too small, the channel invalid or the payload over 65535 bytes.
size_t write_channel_data(std::span<uint8_t> out, uint16_t channel, std::span<const uint8_t> payload,
                          bool stream = false, bool legacy_range = false);

struct ChannelData {
    uint16_t channel = 0;
    std::span<const uint8_t> payload;  // a view into the datagram
};
// Strict: a valid channel number and a length that fits what arrived. Over UDP trailing bytes
// past the length are allowed (§12.4 says to ignore them); `why` says what was wrong.
// legacy_range: also the RFC 5766 numbers up to 0x7FFE (the server side).
std::optional<ChannelData> read_channel_data(std::span<const uint8_t> bytes, std::string* why = nullptr,
                                             bool legacy_range = false);
// For a stream (§12.5): the length of the next framed message (STUN or ChannelData, padded)
// when the first four bytes are there, 0 when they are not yet, nullopt when they are no
// frame at all (the connection should then be closed).
std::optional<size_t> stream_frame_size(std::span<const uint8_t> head);

// RFC 8489 §18.5 password algorithms: 1 MD5, 2 SHA-256.
enum class PasswordAlgorithm : uint16_t { Md5 = 1, Sha256 = 2 };
// §14.11 PASSWORD-ALGORITHMS: a list of (algorithm, parameters) pairs. The numbers in order;
// nullopt when the framing is wrong.
std::optional<std::vector<uint16_t>> read_password_algorithms(const stun::Attribute& a, std::string* why = nullptr);
// The value of PASSWORD-ALGORITHMS / PASSWORD-ALGORITHM for these algorithms (no parameters).
std::vector<uint8_t> password_algorithms_value(std::span<const uint16_t> algorithms);
// §9.2.2: MD5 or SHA-256 of username ":" realm ":" password.
std::vector<uint8_t> long_term_key(PasswordAlgorithm algorithm, std::string_view username, std::string_view realm,
                                   std::string_view password);
// §9.2: a NONCE that starts with this cookie carries the server's security feature bits.
inline constexpr std::string_view kNonceCookie = "obMatJos2";
// True when such a nonce sets the "Password algorithms" feature (bit 0 of the 24 bits that
// follow the cookie, base64-encoded in four characters).
bool nonce_offers_password_algorithms(std::string_view nonce);

// coturn's `use-auth-secret` credentials (draft-uberti-behave-turn-rest-00 §2.2): the username
// is "<expiry unix time>:<name>", the password base64(HMAC-SHA1(secret, username)).
struct RestCredentials {
    std::string username;
    std::string password;
};
RestCredentials rest_credentials(std::string_view secret, std::string_view name, uint64_t expiry_unix_s);
// The password for a username under that scheme (the server side checks with it).
std::string rest_password(std::string_view secret, std::string_view username);
// The expiry a REST username carries, nullopt when it has none ("1700000000:alice" -> 1700000000).
std::optional<uint64_t> rest_expiry(std::string_view username);

}  // namespace om::proto::turn
