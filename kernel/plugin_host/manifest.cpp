#include "plugin_host/manifest.h"

#include "core/error.h"

#include <Poco/Exception.h>
#include <Poco/File.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Path.h>

#include <charconv>
#include <fstream>
#include <sstream>

namespace om {
namespace {

constexpr std::pair<om_plugin_kind, const char*> kKindNames[] = {
    {OM_PLUGIN_KIND_TRANSPORT, "transport"},  {OM_PLUGIN_KIND_NAT_DISCOVERY, "nat-discovery"},
    {OM_PLUGIN_KIND_STRATEGY, "strategy"},    {OM_PLUGIN_KIND_TURN, "turn"},
    {OM_PLUGIN_KIND_DELIVERY, "delivery"},
};

std::string required_string(const Poco::JSON::Object::Ptr& object, const std::string& key, const std::string& path)
{
    if (!object->has(key) || !object->get(key).isString())
        fail(OM_ERR_MALFORMED, "manifest " + path + ": \"" + key + "\" is missing or not a string");
    std::string value = object->getValue<std::string>(key);
    if (value.empty()) fail(OM_ERR_MALFORMED, "manifest " + path + ": \"" + key + "\" is empty");
    return value;
}

std::string optional_string(const Poco::JSON::Object::Ptr& object, const std::string& key)
{
    return object->has(key) && object->get(key).isString() ? object->getValue<std::string>(key) : std::string();
}

} // namespace

const char* plugin_kind_name(om_plugin_kind kind)
{
    for (const auto& [k, name] : kKindNames)
        if (k == kind) return name;
    return "unknown";
}

std::optional<om_plugin_kind> plugin_kind_from_name(std::string_view name)
{
    for (const auto& [k, text] : kKindNames)
        if (name == text) return k;
    return std::nullopt;
}

std::optional<uint32_t> parse_abi_version(std::string_view text)
{
    auto dot = text.find('.');
    if (dot == std::string_view::npos) return std::nullopt;
    unsigned major = 0, minor = 0;
    auto a = std::from_chars(text.data(), text.data() + dot, major);
    auto b = std::from_chars(text.data() + dot + 1, text.data() + text.size(), minor);
    if (a.ec != std::errc() || a.ptr != text.data() + dot || b.ec != std::errc() ||
        b.ptr != text.data() + text.size() || major > 0xFFFF || minor > 0xFFFF)
        return std::nullopt;
    return OM_PLUGIN_ABI_MAKE(major, minor);
}

std::string format_abi_version(uint32_t version)
{
    return std::to_string(OM_PLUGIN_ABI_MAJOR_OF(version)) + "." + std::to_string(OM_PLUGIN_ABI_MINOR_OF(version));
}

Manifest read_manifest(const std::string& path)
{
    std::ifstream in(path);
    if (!in) fail(OM_ERR_NOT_FOUND, "manifest " + path + ": cannot be read");
    std::stringstream text;
    text << in.rdbuf();

    Poco::JSON::Object::Ptr root;
    try {
        Poco::JSON::Parser parser;
        auto parsed = parser.parse(text.str());
        root = parsed.extract<Poco::JSON::Object::Ptr>();
    } catch (const Poco::Exception& e) {
        fail(OM_ERR_MALFORMED, "manifest " + path + ": not a JSON object: " + e.displayText());
    } catch (const std::exception& e) {
        fail(OM_ERR_MALFORMED, "manifest " + path + ": not a JSON object: " + e.what());
    }
    if (!root) fail(OM_ERR_MALFORMED, "manifest " + path + ": not a JSON object");

    Manifest m;
    m.manifest_path = path;
    std::string format = required_string(root, "file_format_version", path);
    if (format.rfind("1.", 0) != 0)
        fail(OM_ERR_MALFORMED, "manifest " + path + ": file_format_version " + format + " is not 1.x");
    m.name = required_string(root, "name", path);
    std::string kind = required_string(root, "kind", path);
    auto k = plugin_kind_from_name(kind);
    if (!k) fail(OM_ERR_MALFORMED, "manifest " + path + ": unknown kind \"" + kind + "\"");
    m.kind = *k;
    std::string abi = required_string(root, "abi_version", path);
    auto v = parse_abi_version(abi);
    if (!v) fail(OM_ERR_MALFORMED, "manifest " + path + ": abi_version \"" + abi + "\" is not MAJOR.MINOR");
    m.abi_version = *v;

    Poco::Path library(required_string(root, "library_path", path));
    if (library.isRelative()) library = Poco::Path(Poco::Path(path).parent()).append(library);
    m.library_path = library.toString();
    m.version = optional_string(root, "version");
    m.description = optional_string(root, "description");
    if (std::string entry = optional_string(root, "entry_symbol"); !entry.empty()) m.entry_symbol = entry;

    if (auto flags = root->getArray("flags")) {
        for (size_t i = 0; i < flags->size(); ++i) {
            std::string flag = flags->get(i).toString();
            if (flag == "decorator") m.flags |= OM_PLUGIN_FLAG_DECORATOR;
            else fail(OM_ERR_MALFORMED, "manifest " + path + ": unknown flag \"" + flag + "\"");
        }
    }
    if (auto functions = root->getArray("functions")) {
        for (size_t i = 0; i < functions->size(); ++i) {
            auto f = functions->getObject(i);
            if (!f) fail(OM_ERR_MALFORMED, "manifest " + path + ": functions[" + std::to_string(i) + "] is not an object");
            m.functions.push_back({required_string(f, "name", path), required_string(f, "signature", path),
                                   optional_string(f, "doc")});
        }
    }
    return m;
}

} // namespace om
