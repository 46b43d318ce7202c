// OptionsClass<T>: binds a plain options struct as a Python class whose every field is a
// validated read/write attribute, constructed from keyword arguments only
// (`P2POptions(prefer_p2p=False)`), with a repr listing every field in declaration order,
// field-wise equality and to_dict(). Defaults live in the C++ struct's initializers alone.
#pragma once

#include "errors.hpp"

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace orbitmesh::python {

namespace py = pybind11;

struct IntRange {
    int64_t min;
    int64_t max;
};

template <class T>
class OptionsClass {
public:
    OptionsClass(py::module_& m, const char* name, const char* doc)
        : cls_(m, name, doc), fields_(std::make_shared<Fields>()) {
        fields_->class_name = name;
    }

    OptionsClass& boolean(const char* name, bool T::*member, const char* doc) {
        return field(name, doc, [member](const T& self) { return py::cast(self.*member); },
                     [member, this_name = qualified(name)](T& self, py::handle value) {
                         if (!PyBool_Check(value.ptr()))
                             throw py::type_error(this_name + " must be a bool");
                         self.*member = value.cast<bool>();
                     });
    }

    OptionsClass& integer(const char* name, int32_t T::*member, IntRange range, const char* doc) {
        return field(name, doc, [member](const T& self) { return py::cast(self.*member); },
                     [member, range, this_name = qualified(name)](T& self, py::handle value) {
                         if (PyBool_Check(value.ptr()) || !PyIndex_Check(value.ptr()))
                             throw py::type_error(this_name + " must be an int");
                         int overflow = 0;
                         long long v = PyLong_AsLongLongAndOverflow(py::int_(py::reinterpret_borrow<py::object>(value)).ptr(), &overflow);
                         if (overflow == 0 && v == -1 && PyErr_Occurred()) throw py::error_already_set();
                         if (overflow != 0 || v < range.min || v > range.max)
                             fail(OM_ERR_INVALID_ARGUMENT,
                                  this_name + " must be between " + std::to_string(range.min) +
                                      " and " + std::to_string(range.max) + ", got " +
                                      py::str(value).cast<std::string>());
                         self.*member = static_cast<int32_t>(v);
                     });
    }

    OptionsClass& text(const char* name, std::optional<std::string> T::*member, const char* doc) {
        return field(name, doc, [member](const T& self) { return py::cast(self.*member); },
                     [member, this_name = qualified(name)](T& self, py::handle value) {
                         if (value.is_none()) {
                             self.*member = std::nullopt;
                             return;
                         }
                         if (!PyUnicode_Check(value.ptr()))
                             throw py::type_error(this_name + " must be a str or None");
                         auto text = value.cast<std::string>();
                         if (text.find('\0') != std::string::npos)
                             fail(OM_ERR_INVALID_ARGUMENT, this_name + " must not contain NUL");
                         self.*member = std::move(text);
                     });
    }

    // A list of names: set from a list/tuple of str or from one str separated by ',' (blanks
    // around names dropped); None or "" is the empty list. Reads as a list of str.
    OptionsClass& name_list(const char* name, std::vector<std::string> T::*member, const char* doc) {
        return field(name, doc, [member](const T& self) { return py::cast(self.*member); },
                     [member, this_name = qualified(name)](T& self, py::handle value) {
                         std::vector<std::string> names;
                         if (value.is_none()) {
                         } else if (PyUnicode_Check(value.ptr())) {
                             names = split_names(value.cast<std::string>());
                         } else if (PyList_Check(value.ptr()) || PyTuple_Check(value.ptr())) {
                             for (py::handle item : value) {
                                 if (!PyUnicode_Check(item.ptr()))
                                     throw py::type_error(this_name + " must hold str items");
                                 for (std::string& n : split_names(item.cast<std::string>())) names.push_back(std::move(n));
                             }
                         } else {
                             throw py::type_error(this_name + " must be a str, a list of str or None");
                         }
                         for (const std::string& n : names)
                             if (n.find('\0') != std::string::npos)
                                 fail(OM_ERR_INVALID_ARGUMENT, this_name + " must not contain NUL");
                         self.*member = std::move(names);
                     });
    }

    // Adds __init__(**kwargs), __repr__, __eq__, to_dict(), copy and pickle support, and the
    // `_fields` tuple.
    py::class_<T>& finish() {
        std::shared_ptr<Fields> fields = fields_;
        cls_.def(py::init([fields](const py::kwargs& kwargs) { return construct(*fields, kwargs); }));
        cls_.def("__copy__", [](const T& self) { return T(self); });
        cls_.def("__deepcopy__", [](const T& self, const py::dict&) { return T(self); }, py::arg("memo"));
        cls_.def(py::pickle([fields](const py::object& self) { return as_dict(*fields, self); },
                            [fields](const py::dict& state) { return construct(*fields, state); }));
        cls_.def("to_dict", [fields](const py::object& self) { return as_dict(*fields, self); },
                 "The fields as a dict, in declaration order.");
        cls_.def("__repr__", [fields](const py::object& self) {
            std::string out = fields->class_name + "(";
            for (size_t i = 0; i < fields->names.size(); ++i) {
                if (i) out += ", ";
                out += fields->names[i] + "=" + py::repr(self.attr(fields->names[i].c_str())).template cast<std::string>();
            }
            return out + ")";
        });
        cls_.def("__eq__", [fields](const py::object& self, const py::object& other) -> py::object {
            if (!py::isinstance(other, py::type::of(self))) return py::reinterpret_borrow<py::object>(Py_NotImplemented);
            return py::bool_(as_dict(*fields, self).equal(as_dict(*fields, other)));
        });
        py::tuple names(fields->names.size());
        for (size_t i = 0; i < fields->names.size(); ++i) names[i] = py::str(fields->names[i]);
        cls_.attr("_fields") = names;
        return cls_;
    }

private:
    using Getter = std::function<py::object(const T&)>;
    using Setter = std::function<void(T&, py::handle)>;

    struct Fields {
        std::string class_name;
        std::vector<std::string> names;
        std::map<std::string, Setter> setters;
    };

    // A default T with the given fields set (and validated) through their setters.
    static T construct(const Fields& fields, const py::dict& values) {
        T value;
        for (auto [key, item] : values) {
            auto name = py::cast<std::string>(key);
            auto found = fields.setters.find(name);
            if (found == fields.setters.end())
                throw py::type_error(fields.class_name + "() got an unexpected keyword argument '" + name + "'");
            found->second(value, item);
        }
        return value;
    }

    static py::dict as_dict(const Fields& fields, const py::object& self) {
        py::dict out;
        for (const std::string& name : fields.names) out[name.c_str()] = self.attr(name.c_str());
        return out;
    }

    std::string qualified(const char* name) const { return fields_->class_name + "." + name; }

    static std::vector<std::string> split_names(const std::string& text) {
        std::vector<std::string> out;
        size_t start = 0;
        while (start <= text.size()) {
            size_t end = text.find(',', start);
            if (end == std::string::npos) end = text.size();
            const size_t first = text.find_first_not_of(" \t", start);
            if (first != std::string::npos && first < end) {
                const size_t last = text.find_last_not_of(" \t", end - 1);
                out.push_back(text.substr(first, last - first + 1));
            }
            start = end + 1;
        }
        return out;
    }

    OptionsClass& field(const char* name, const char* doc, Getter getter, Setter setter) {
        fields_->names.emplace_back(name);
        fields_->setters[name] = setter;
        cls_.def_property(
            name, [getter](const T& self) { return getter(self); },
            [setter](T& self, py::handle value) { setter(self, value); }, doc);
        return *this;
    }

    py::class_<T> cls_;
    std::shared_ptr<Fields> fields_;
};

} // namespace orbitmesh::python
