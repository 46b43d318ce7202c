// Payload format of datagram-demo. RFC 7983 demultiplexing gives first bytes 0-3 to STUN and
// 64-79 to TURN ChannelData, so the marker starts with 'd' (100): the kernel hands such a
// datagram to the application as OM_EVENT_DATAGRAM.
#include "demo_payload.hpp"

#include <cstring>

namespace om_cli {
namespace {

constexpr uint8_t kMarker[4] = {'d', 'e', 'm', 'o'};

uint8_t filler(uint32_t seq, size_t index) { return static_cast<uint8_t>(seq * 31u + index); }

} // namespace

std::vector<uint8_t> make_demo_payload(uint32_t seq, size_t size) {
    std::vector<uint8_t> out(size < kDemoHeaderSize ? kDemoHeaderSize : size);
    std::memcpy(out.data(), kMarker, sizeof kMarker);
    for (int i = 0; i < 4; ++i) out[4 + i] = static_cast<uint8_t>(seq >> (24 - 8 * i));
    for (size_t i = kDemoHeaderSize; i < out.size(); ++i) out[i] = filler(seq, i);
    return out;
}

std::optional<uint32_t> demo_payload_seq(const uint8_t* data, size_t len, size_t size) {
    if (data == nullptr || len != size || len < kDemoHeaderSize) return std::nullopt;
    if (std::memcmp(data, kMarker, sizeof kMarker) != 0) return std::nullopt;
    uint32_t seq = 0;
    for (int i = 0; i < 4; ++i) seq = (seq << 8) | data[4 + i];
    for (size_t i = kDemoHeaderSize; i < len; ++i) {
        if (data[i] != filler(seq, i)) return std::nullopt;
    }
    return seq;
}

void DemoTally::record(std::optional<uint32_t> seq) {
    if (!seq || *seq >= seen_.size()) {
        ++corrupted_;
    } else if (seen_[*seq]) {
        ++duplicates_;
    } else {
        seen_[*seq] = true;
        ++unique_;
    }
}

} // namespace om_cli
