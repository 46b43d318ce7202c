#include "agent/ice/p2p_frame.h"

#include <Poco/HMACEngine.h>
#include <Poco/SHA1Engine.h>

#include <algorithm>
#include <string>

namespace om::ice {

FrameTag frame_tag(std::string_view receiver_pwd)
{
    Poco::HMACEngine<Poco::SHA1Engine> hmac{std::string(receiver_pwd)};
    static const char label[] = "orbitmesh p2p data v1";
    hmac.update(label, sizeof label - 1);
    const auto& digest = hmac.digest();
    FrameTag tag{};
    std::copy_n(digest.begin(), tag.size(), tag.begin());
    return tag;
}

bool looks_like_frame(std::span<const uint8_t> bytes)
{
    return bytes.size() >= kFrameHeader && bytes[0] == kFrameMarker;
}

std::optional<FrameView> parse_frame(std::span<const uint8_t> bytes)
{
    if (!looks_like_frame(bytes) || bytes[1] > 3) return std::nullopt;
    FrameView view;
    view.mode = bytes[1];
    std::copy_n(bytes.begin() + 2, view.tag.size(), view.tag.begin());
    for (size_t i = 10; i < 18; ++i) view.seq = (view.seq << 8) | bytes[i];
    view.payload = bytes.subspan(kFrameHeader);
    return view;
}

void build_frame(std::vector<uint8_t>& out, uint8_t mode, const FrameTag& tag, uint64_t seq,
                 std::span<const uint8_t> payload)
{
    out.resize(kFrameHeader + payload.size());
    out[0] = kFrameMarker;
    out[1] = mode;
    std::copy(tag.begin(), tag.end(), out.begin() + 2);
    for (int i = 0; i < 8; ++i) out[10 + i] = static_cast<uint8_t>(seq >> (56 - 8 * i));
    std::copy(payload.begin(), payload.end(), out.begin() + kFrameHeader);
}

} // namespace om::ice
