// Reading plugin settings ("plugin.key=value" text from the host's config_get): the one trim and
// number parser every plugin shares, so each plugin only states its keys and ranges.
#pragma once

#include <charconv>
#include <cmath>
#include <string_view>
#include <type_traits>

namespace om::plugin {

// The value without surrounding blanks (spaces, tabs, CR, LF).
inline std::string_view trim_setting(std::string_view view) noexcept
{
    const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
    while (!view.empty() && space(view.front())) view.remove_prefix(1);
    while (!view.empty() && space(view.back())) view.remove_suffix(1);
    return view;
}

// True when the whole text is one number of type Number (finite, for floating point).
template <class Number>
bool parse_setting_number(std::string_view text, Number& out) noexcept
{
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
    if (text.empty() || error != std::errc{} || end != text.data() + text.size()) return false;
    if constexpr (std::is_floating_point_v<Number>) return std::isfinite(out);
    return true;
}

} // namespace om::plugin
