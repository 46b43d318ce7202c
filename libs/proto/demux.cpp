#include "proto/demux.h"

namespace om::proto {

DatagramClass classify_datagram(const uint8_t* data, size_t len)
{
    if (len == 0 || data == nullptr) return DatagramClass::Empty;
    const uint8_t b = data[0];
    // RFC 7983 §7 ranges. ZRTP, DTLS and RTP are named so they are counted, but OrbitMesh speaks
    // none of them: they fall to the delivery layer, which rejects what it cannot parse.
    if (b <= 3) return DatagramClass::Stun;
    if (b >= 16 && b <= 19) return DatagramClass::Zrtp;
    if (b >= 20 && b <= 63) return DatagramClass::Dtls;
    if (b >= 64 && b <= 79) return DatagramClass::TurnChannel;
    if (b >= 128 && b <= 191) return DatagramClass::Rtp;
    return DatagramClass::Delivery;
}

const char* datagram_class_name(DatagramClass cls)
{
    switch (cls) {
    case DatagramClass::Empty: return "empty";
    case DatagramClass::Stun: return "stun";
    case DatagramClass::Zrtp: return "zrtp";
    case DatagramClass::Dtls: return "dtls";
    case DatagramClass::TurnChannel: return "turn_channel";
    case DatagramClass::Rtp: return "rtp";
    case DatagramClass::Delivery: return "delivery";
    }
    return "unknown";
}

} // namespace om::proto
