// Shared by the unit tests: fixture directories and status checks.
#pragma once

#include "core/error.h"
#include "plugin_host/registry.h"

#include <catch2/catch.hpp>

#include <functional>
#include <string>
#include <vector>

namespace test {

inline std::string fixture_dir(const std::string& name)
{
    return std::string(OM_TEST_FIXTURE_DIR) + "/" + name;
}

inline om::PluginRegistry registry_of(std::initializer_list<const char*> fixture_cases, bool with_real_plugins = true)
{
    std::vector<om::SearchDir> dirs;
    for (const char* c : fixture_cases) dirs.push_back({fixture_dir(c), false});
    if (with_real_plugins) dirs.push_back({OM_TEST_PLUGIN_DIR, false});
    return om::PluginRegistry(dirs);
}

// The om::Error fn throws; fails the test when it throws nothing.
inline om::Error error_of(const std::function<void()>& fn)
{
    try {
        fn();
    } catch (const om::Error& e) {
        return e;
    }
    FAIL("expected an om::Error");
    return om::Error(OM_OK, "");
}

inline bool contains(const std::string& text, const std::string& part)
{
    return text.find(part) != std::string::npos;
}

} // namespace test
