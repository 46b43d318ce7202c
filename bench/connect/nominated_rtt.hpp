// The check round trip of the nominated pair, read from om_agent_peer_pairs_json's array of flat
// objects ({"local":..,"nominated":true,..,"rtt_ms":0.08,..}). A small scanner instead of a JSON
// library: the bench links liborbitmesh alone, as an application would.
#pragma once

#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bench {

// The top-level objects of a JSON array of flat objects, as text (braces inside strings skipped).
inline std::vector<std::string_view> json_objects(std::string_view array)
{
    std::vector<std::string_view> out;
    size_t start = 0;
    int depth = 0;
    bool in_string = false;
    for (size_t i = 0; i < array.size(); ++i) {
        char c = array[i];
        if (in_string) {
            if (c == '\\') ++i;
            else if (c == '"') in_string = false;
            continue;
        }
        if (c == '"') in_string = true;
        else if (c == '{' && depth++ == 0) start = i;
        else if (c == '}' && --depth == 0) out.push_back(array.substr(start, i - start + 1));
    }
    return out;
}

// The number after "key": in a flat object; nullopt when absent or null.
inline std::optional<double> json_number(std::string_view object, std::string_view key)
{
    std::string needle = std::string("\"").append(key).append("\":");  // GCC 12 -O3 -Wrestrict
    size_t at = object.find(needle);
    if (at == std::string_view::npos) return std::nullopt;
    std::string rest(object.substr(at + needle.size(), 32));
    char* end = nullptr;
    double value = std::strtod(rest.c_str(), &end);
    if (end == rest.c_str()) return std::nullopt;
    return value;
}

inline std::optional<double> nominated_rtt_ms(std::string_view pairs_json)
{
    for (std::string_view pair : json_objects(pairs_json))
        if (pair.find("\"nominated\":true") != std::string_view::npos) return json_number(pair, "rtt_ms");
    return std::nullopt;
}

} // namespace bench
