#include "udp_options.h"

#include <orbitmesh_plugin_support/plugin_error.h>

#include <charconv>
#include <cstring>

namespace om::udp {

using plugin::HostServices;
using plugin::PluginError;

namespace {

constexpr uint32_t kLargestBuffer = 0x7FFFFFFF;  // setsockopt takes an int

uint32_t read_bytes(const HostServices& host, const char* key, uint32_t fallback)
{
    const char* text = host.config(key);
    if (text == nullptr) return fallback;
    uint32_t value = 0;
    const char* end = text + std::strlen(text);
    const auto [stop, error] = std::from_chars(text, end, value);
    if (error != std::errc{} || stop != end || value == 0 || value > kLargestBuffer)
        throw PluginError(OM_ERR_INVALID_ARGUMENT, std::string("transport-udp.") + key + " = '" + text +
                                                       "': expected a byte count from 1 to 2147483647");
    return value;
}

bool read_switch(const HostServices& host, const char* key, bool fallback)
{
    const char* text = host.config(key);
    if (text == nullptr) return fallback;
    if (std::strcmp(text, "1") == 0) return true;
    if (std::strcmp(text, "0") == 0) return false;
    throw PluginError(OM_ERR_INVALID_ARGUMENT,
                      std::string("transport-udp.") + key + " = '" + text + "': expected 0 (off) or 1 (on)");
}

}  // namespace

UdpOptions read_options(const HostServices& host)
{
    UdpOptions options;
    options.buffers.receive = read_bytes(host, "rcvbuf", options.buffers.receive);
    options.buffers.send = read_bytes(host, "sndbuf", options.buffers.send);
    options.gso = read_switch(host, "gso", options.gso);
    options.gro = read_switch(host, "gro", options.gro);
    return options;
}

}  // namespace om::udp
