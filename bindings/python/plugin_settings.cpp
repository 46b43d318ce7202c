#include "plugin_settings.hpp"

#include "errors.hpp"

#include <string_view>

namespace orbitmesh::python {
namespace {

namespace py = pybind11;

std::string_view trim(std::string_view text)
{
    const char* blanks = " \t\r";
    size_t first = text.find_first_not_of(blanks);
    if (first == std::string_view::npos) return {};
    size_t last = text.find_last_not_of(blanks);
    return text.substr(first, last - first + 1);
}

bool has_any(const std::string& text, std::string_view chars)
{
    return text.find_first_of(chars.data(), 0, chars.size()) != std::string::npos;
}

// Rejects what the C text form ("plugin.key=value" entries split on ';' and newlines) cannot
// carry.
PluginSetting checked(PluginSetting setting)
{
    using namespace std::string_view_literals;
    const char* invalid = nullptr;
    if (setting.plugin.empty() || has_any(setting.plugin, ".=;\n\0"sv)) invalid = "plugin name";
    else if (setting.key.empty() || has_any(setting.key, "=;\n\0"sv)) invalid = "key";
    else if (has_any(setting.value, ";\n\0"sv)) invalid = "value";
    if (invalid)
        fail(OM_ERR_INVALID_ARGUMENT, std::string("plugin_options: invalid ") + invalid + " in '" +
                                          setting.plugin + "." + setting.key + "=" + setting.value + "'");
    return setting;
}

std::string value_text(py::handle value)
{
    if (PyBool_Check(value.ptr())) return value.cast<bool>() ? "1" : "0";
    if (PyUnicode_Check(value.ptr()) || PyLong_Check(value.ptr()) || PyFloat_Check(value.ptr()))
        return py::str(value).cast<std::string>();
    throw py::type_error("plugin_options values must be str, int, float or bool, got " +
                         py::repr(value).cast<std::string>());
}

std::vector<PluginSetting> from_dict(const py::dict& plugins)
{
    std::vector<PluginSetting> out;
    for (auto [plugin, settings] : plugins) {
        if (!PyUnicode_Check(plugin.ptr()) || !PyDict_Check(settings.ptr()))
            throw py::type_error("plugin_options must map a plugin name to a dict of settings");
        for (auto [key, value] : py::reinterpret_borrow<py::dict>(settings)) {
            if (!PyUnicode_Check(key.ptr())) throw py::type_error("plugin_options keys must be str");
            out.push_back(checked({plugin.cast<std::string>(), key.cast<std::string>(), value_text(value)}));
        }
    }
    return out;
}

std::vector<PluginSetting> from_text(std::string_view text)
{
    std::vector<PluginSetting> out;
    while (!text.empty()) {
        size_t end = text.find_first_of(";\n");
        std::string_view entry = trim(text.substr(0, end));
        text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
        if (entry.empty()) continue;
        size_t equals = entry.find('=');
        size_t dot = entry.find('.');
        if (equals == std::string_view::npos || dot == std::string_view::npos || dot > equals)
            fail(OM_ERR_INVALID_ARGUMENT,
                 "plugin_options entry '" + std::string(entry) + "' is not plugin.key=value");
        out.push_back(checked({std::string(trim(entry.substr(0, dot))),
                               std::string(trim(entry.substr(dot + 1, equals - dot - 1))),
                               std::string(trim(entry.substr(equals + 1)))}));
    }
    return out;
}

} // namespace

std::vector<PluginSetting> parse_plugin_settings(py::handle spec)
{
    if (spec.is_none()) return {};
    if (PyDict_Check(spec.ptr())) return from_dict(py::reinterpret_borrow<py::dict>(spec));
    if (PyUnicode_Check(spec.ptr())) return from_text(spec.cast<std::string>());
    throw py::type_error("plugin_options must be a dict, a \"plugin.key=value;...\" str, or None");
}

} // namespace orbitmesh::python
