#include "proto/base64.h"

#include <Poco/Base64Encoder.h>

#include <sstream>

namespace om::proto {

std::string base64_encode(std::span<const uint8_t> bytes)
{
    std::ostringstream out;
    Poco::Base64Encoder encoder(out);
    encoder.rdbuf()->setLineLength(0);
    encoder.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    encoder.close();
    return out.str();
}

}  // namespace om::proto
