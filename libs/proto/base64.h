// Base64 (RFC 4648 §4, no line breaks) through Poco, for the WebSocket handshake (RFC 6455 §4.2.2)
// and coturn's TURN REST passwords.
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace om::proto {

std::string base64_encode(std::span<const uint8_t> bytes);

}  // namespace om::proto
