// Where settings come from besides the command line: the config file and ORBITMESH_* variables.
#include "server_options.hpp"

#include <cctype>
#include <cstdlib>
#include <fstream>

namespace om::server {
namespace {

std::string trim(const std::string& s) {
    size_t first = s.find_first_not_of(" \t\r");
    if (first == std::string::npos) return "";
    size_t last = s.find_last_not_of(" \t\r");
    return s.substr(first, last - first + 1);
}

// "http-port" -> "ORBITMESH_HTTP_PORT"
std::string variable_name(const std::string& option) {
    std::string out = "ORBITMESH_";
    for (char c : option) out += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return out;
}

std::vector<std::string> split_commas(const std::string& list) {
    std::vector<std::string> items;
    size_t start = 0;
    while (start <= list.size()) {
        size_t comma = list.find(',', start);
        if (comma == std::string::npos) comma = list.size();
        std::string item = trim(list.substr(start, comma - start));
        if (!item.empty()) items.push_back(item);
        start = comma + 1;
    }
    return items;
}

} // namespace

EnvLookup process_environment() {
    return [](const std::string& name) -> std::optional<std::string> {
        const char* value = std::getenv(name.c_str());
        if (!value) return std::nullopt;
        return std::string(value);
    };
}

std::vector<Setting> read_config_file(const std::string& path, std::string& error) {
    std::vector<Setting> settings;
    std::ifstream in(path);
    if (!in) {
        error = "--config: cannot read '" + path + "'";
        return settings;
    }
    std::string line;
    for (int number = 1; std::getline(in, line); ++number) {
        std::string origin = path + ":" + std::to_string(number);
        line = trim(line.substr(0, line.find('#')));
        if (line.empty()) continue;
        size_t eq = line.find('=');
        std::string name = trim(line.substr(0, eq));
        if (eq == std::string::npos) {
            if (!is_server_flag(name)) {
                error = origin + ": expected 'name = value', got '" + line + "'";
                return settings;
            }
            settings.push_back({name, "true", origin}); // a bare flag name turns it on
            continue;
        }
        if (name == "config") {
            error = origin + ": a config file cannot name another one";
            return settings;
        }
        settings.push_back({name, trim(line.substr(eq + 1)), origin});
    }
    return settings;
}

std::vector<Setting> environment_settings(const EnvLookup& env) {
    std::vector<Setting> settings;
    for (const std::string& name : server_option_names()) {
        if (name == "config") continue; // read first, by parse_server_args
        std::string variable = variable_name(name);
        std::optional<std::string> value = env(variable);
        if (!value) continue;
        if (is_repeatable_option(name)) {
            for (const std::string& item : split_commas(*value)) settings.push_back({name, item, variable});
        } else {
            settings.push_back({name, *value, variable});
        }
    }
    return settings;
}

} // namespace om::server
