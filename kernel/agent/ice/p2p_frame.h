// The kernel's datagram frame for messages over a direct path, until a delivery plugin takes
// over (unreliable and sequenced modes only). RFC 7983 §7: its first byte, 0xD7, sits in the
// range no other protocol on the socket uses.
//
//   0      1      2 .. 9          10 .. 17        18 ..
//   0xD7   mode   receiver's tag  sequence (BE)   payload
//
// The tag is what the receiver expects (derived from the receiver's ICE password, which only
// the two peers and the signaling server know), so an off-path sender that spoofs the peer's
// address cannot inject messages: frames with an unknown tag are not the peer's.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace om::ice {

inline constexpr uint8_t kFrameMarker = 0xD7;
inline constexpr size_t kFrameHeader = 18;
using FrameTag = std::array<uint8_t, 8>;

// First 8 bytes of HMAC-SHA1(pwd, "orbitmesh p2p data v1") (Poco's HMAC engine).
FrameTag frame_tag(std::string_view receiver_pwd);

struct FrameView {
    uint8_t mode = 0;
    FrameTag tag{};
    uint64_t seq = 0;
    std::span<const uint8_t> payload;
};

bool looks_like_frame(std::span<const uint8_t> bytes);
// nullopt for a datagram that is not a well-formed frame (short, wrong marker, mode > 3).
std::optional<FrameView> parse_frame(std::span<const uint8_t> bytes);
// Writes header + payload into out (resized).
void build_frame(std::vector<uint8_t>& out, uint8_t mode, const FrameTag& tag, uint64_t seq,
                 std::span<const uint8_t> payload);

} // namespace om::ice
