// RFC 7983 §7: which protocol a datagram on a shared UDP socket belongs to, from its first byte.
#pragma once

#include <cstddef>
#include <cstdint>

namespace om::proto {

enum class DatagramClass {
    Empty,        // zero length: nothing to route
    Stun,         // 0..3: STUN (NAT discovery, connectivity checks, TURN control)
    Zrtp,         // 16..19
    Dtls,         // 20..63
    TurnChannel,  // 64..79: TURN ChannelData (RFC 8656 §12.4)
    Rtp,          // 128..191
    Delivery      // everything else: OrbitMesh delivery frames and raw application datagrams
};

DatagramClass classify_datagram(const uint8_t* data, size_t len);
// Short lowercase name used in counter names ("stun", "turn_channel", ...).
const char* datagram_class_name(DatagramClass cls);

} // namespace om::proto
