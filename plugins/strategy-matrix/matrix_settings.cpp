#include "matrix_settings.h"

#include <orbitmesh_plugin_support/setting_text.h>

#include <cstdint>
#include <string>

namespace om::strategymatrix {
namespace {

// Reads `key` into target when set: exactly 0 or 1, else SettingsError.
void read_switch(const SettingLookup& lookup, const char* key, bool& target)
{
    const char* text = lookup(key);
    if (text == nullptr) return;
    uint32_t number = 0;
    if (!plugin::parse_setting_number(plugin::trim_setting(text), number) || number > 1)
        throw SettingsError(std::string("strategy-matrix.") + key + " = '" + text + "': expected 0 or 1");
    target = number == 1;
}

}  // namespace

Settings parse_settings(const SettingLookup& lookup)
{
    Settings s;
    read_switch(lookup, "symmetric_direct", s.symmetric_direct);
    return s;
}

}  // namespace om::strategymatrix
