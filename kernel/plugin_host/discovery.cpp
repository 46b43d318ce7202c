#include "plugin_host/discovery.h"

#include "core/error.h"

#include <Poco/DirectoryIterator.h>
#include <Poco/Exception.h>
#include <Poco/File.h>
#include <Poco/Path.h>

#include <dlfcn.h>

#include <algorithm>
#include <cstdlib>

namespace om {
namespace {

void add_unique(std::vector<SearchDir>& dirs, const std::string& path, bool fallback)
{
    if (path.empty()) return;
    for (const auto& d : dirs)
        if (d.path == path) return;
    dirs.push_back({path, fallback});
}

std::string directory_of_this_library()
{
    Dl_info info{};
    if (dladdr(reinterpret_cast<void*>(&directory_of_this_library), &info) == 0 || !info.dli_fname) return {};
    return Poco::Path(info.dli_fname).makeAbsolute().parent().toString();
}

} // namespace

std::vector<SearchDir> default_search_path()
{
    std::vector<SearchDir> dirs;
    if (const char* env = std::getenv("OM_PLUGIN_PATH")) {
        std::string list(env);
        size_t start = 0;
        while (start <= list.size()) {
            size_t end = list.find(':', start);
            if (end == std::string::npos) end = list.size();
            add_unique(dirs, list.substr(start, end - start), false);
            start = end + 1;
        }
    }
    if (std::string lib = directory_of_this_library(); !lib.empty())
        add_unique(dirs, Poco::Path(lib).append(OM_PLUGIN_DIR_FROM_LIBRARY).toString(), true);
    add_unique(dirs, OM_PLUGIN_INSTALL_DIR, true);
    return dirs;
}

DiscoveredPlugins discover_plugins(const std::vector<SearchDir>& dirs)
{
    DiscoveredPlugins found;
    for (const auto& dir : dirs) {
        std::vector<std::string> files;
        try {
            Poco::File folder(dir.path);
            if (!folder.exists() || !folder.isDirectory()) continue;
            for (Poco::DirectoryIterator it(dir.path), end; it != end; ++it) {
                const std::string& name = it.name();
                if (name.size() > 8 && name.compare(name.size() - 8, 8, ".om.json") == 0) files.push_back(it.path().toString());
            }
        } catch (const Poco::Exception& e) {
            found.problems.push_back(dir.path + ": " + e.displayText());
            continue;
        }
        std::sort(files.begin(), files.end());  // deterministic order
        for (const auto& file : files) {
            try {
                found.manifests.emplace_back(read_manifest(file), dir.fallback);
            } catch (const Error& e) {
                found.problems.push_back(e.what());
            }
        }
    }
    return found;
}

} // namespace om
