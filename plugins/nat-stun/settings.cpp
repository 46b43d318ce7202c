#include "settings.h"

#include <orbitmesh_plugin_support/setting_text.h>

#include <string>
#include <string_view>

namespace om::natstun {
namespace {

// Reads `key` into target when set: a whole number from low to high, else SettingsError.
void read_whole(const SettingLookup& lookup, const char* key, uint32_t& target, uint32_t low, uint32_t high,
                const char* unit)
{
    const char* text = lookup(key);
    if (text == nullptr) return;
    uint32_t number = 0;
    if (!plugin::parse_setting_number(plugin::trim_setting(text), number) || number < low || number > high)
        throw SettingsError(std::string("nat-stun.") + key + " = '" + text + "': expected " + unit + " from " +
                            std::to_string(low) + " to " + std::to_string(high));
    target = number;
}

}  // namespace

Settings parse_settings(const SettingLookup& lookup)
{
    Settings s;
    read_whole(lookup, "rto_ms", s.rto_ms, 10, 60'000, "milliseconds");
    read_whole(lookup, "rc", s.rc, 1, 20, "a request count");
    read_whole(lookup, "rm", s.rm, 1, 64, "a multiple of the RTO");
    read_whole(lookup, "probe_timeout_ms", s.probe_timeout_ms, 50, 60'000, "milliseconds");
    return s;
}

}  // namespace om::natstun
