#include "core/plugin_options.h"

#include "core/error.h"

namespace om {
namespace {

std::string_view trim(std::string_view s)
{
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
    return s;
}

} // namespace

PluginOptions parse_plugin_options(std::string_view text)
{
    PluginOptions options;
    while (!text.empty()) {
        size_t end = text.find_first_of(";\n");
        std::string_view entry = trim(text.substr(0, end));
        text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
        if (entry.empty()) continue;
        size_t eq = entry.find('=');
        size_t dot = entry.find('.');
        if (eq == std::string_view::npos || dot == std::string_view::npos || dot > eq || dot == 0 || dot + 1 == eq)
            fail(OM_ERR_INVALID_ARGUMENT,
                 "plugin option '" + std::string(entry) + "' is not of the form plugin.key=value");
        std::string plugin(trim(entry.substr(0, dot)));
        std::string key(trim(entry.substr(dot + 1, eq - dot - 1)));
        options[plugin][key] = std::string(trim(entry.substr(eq + 1)));
    }
    return options;
}

} // namespace om
