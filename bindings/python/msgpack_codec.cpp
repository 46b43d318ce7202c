#include "msgpack_codec.hpp"

#include "buffer_view.hpp"
#include "errors.hpp"

#include <msgpack.hpp>

#include <string>

namespace orbitmesh::python {
namespace {

using Packer = msgpack::packer<msgpack::sbuffer>;

constexpr int kMaxDepth = 32; // guards against self-referencing containers

void pack_int(Packer& packer, py::handle value)
{
    int overflow = 0;
    long long v = PyLong_AsLongLongAndOverflow(value.ptr(), &overflow);
    if (overflow == 0) {
        if (v == -1 && PyErr_Occurred()) throw py::error_already_set();
        packer.pack_int64(v);
        return;
    }
    if (overflow > 0) {
        unsigned long long u = PyLong_AsUnsignedLongLong(value.ptr());
        if (!PyErr_Occurred()) {
            packer.pack_uint64(u);
            return;
        }
        PyErr_Clear();
    }
    throw py::value_error("int out of the 64-bit range: " + py::repr(value).cast<std::string>());
}

void pack_buffer(Packer& packer, py::handle value)
{
    BufferView view(value);
    if (view.size() > UINT32_MAX) throw py::value_error("bytes argument larger than 4 GiB");
    packer.pack_bin(static_cast<uint32_t>(view.size()));
    packer.pack_bin_body(reinterpret_cast<const char*>(view.data()), static_cast<uint32_t>(view.size()));
}

void pack(Packer& packer, py::handle value, int depth)
{
    if (depth > kMaxDepth) throw py::value_error("arguments nest too deeply");
    if (value.is_none()) {
        packer.pack_nil();
    } else if (PyBool_Check(value.ptr())) {
        packer.pack(value.cast<bool>());
    } else if (PyLong_Check(value.ptr())) {
        pack_int(packer, value);
    } else if (PyFloat_Check(value.ptr())) {
        packer.pack_double(value.cast<double>());
    } else if (PyUnicode_Check(value.ptr())) {
        auto text = value.cast<std::string>();
        packer.pack_str(static_cast<uint32_t>(text.size()));
        packer.pack_str_body(text.data(), static_cast<uint32_t>(text.size()));
    } else if (PyObject_CheckBuffer(value.ptr())) {
        pack_buffer(packer, value);
    } else if (PyList_Check(value.ptr()) || PyTuple_Check(value.ptr())) {
        auto items = py::reinterpret_borrow<py::sequence>(value);
        packer.pack_array(static_cast<uint32_t>(items.size()));
        for (py::handle item : items) pack(packer, item, depth + 1);
    } else if (PyDict_Check(value.ptr())) {
        auto map = py::reinterpret_borrow<py::dict>(value);
        packer.pack_map(static_cast<uint32_t>(map.size()));
        for (auto [key, item] : map) {
            pack(packer, key, depth + 1);
            pack(packer, item, depth + 1);
        }
    } else {
        throw py::type_error("plugin_call cannot encode a " +
                             py::str(py::type::handle_of(value).attr("__name__")).cast<std::string>());
    }
}

py::object unpack(const msgpack::object& o)
{
    switch (o.type) {
    case msgpack::type::NIL: return py::none();
    case msgpack::type::BOOLEAN: return py::bool_(o.via.boolean);
    case msgpack::type::POSITIVE_INTEGER: return py::int_(o.via.u64);
    case msgpack::type::NEGATIVE_INTEGER: return py::int_(o.via.i64);
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64: return py::float_(o.via.f64);
    case msgpack::type::STR: return py::str(o.via.str.ptr, o.via.str.size);
    case msgpack::type::BIN: return py::bytes(o.via.bin.ptr, o.via.bin.size);
    case msgpack::type::ARRAY: {
        py::list out(o.via.array.size);
        for (uint32_t i = 0; i < o.via.array.size; ++i) out[i] = unpack(o.via.array.ptr[i]);
        return out;
    }
    case msgpack::type::MAP: {
        py::dict out;
        for (uint32_t i = 0; i < o.via.map.size; ++i)
            out[unpack(o.via.map.ptr[i].key)] = unpack(o.via.map.ptr[i].val);
        return out;
    }
    case msgpack::type::EXT: return py::bytes(o.via.ext.data(), o.via.ext.size);
    }
    fail(OM_ERR_MALFORMED, "plugin_call: unknown msgpack type in the result");
}

} // namespace

std::vector<uint8_t> encode_msgpack_array(const py::args& values)
{
    msgpack::sbuffer buffer;
    Packer packer(buffer);
    packer.pack_array(static_cast<uint32_t>(values.size()));
    for (py::handle value : values) pack(packer, value, 1);
    const auto* begin = reinterpret_cast<const uint8_t*>(buffer.data());
    return std::vector<uint8_t>(begin, begin + buffer.size());
}

py::object decode_msgpack(const std::vector<uint8_t>& bytes)
{
    if (bytes.empty()) return py::none();
    try {
        msgpack::object_handle handle =
            msgpack::unpack(reinterpret_cast<const char*>(bytes.data()), bytes.size());
        return unpack(handle.get());
    } catch (const msgpack::unpack_error& error) {
        fail(OM_ERR_MALFORMED, std::string("plugin_call: malformed msgpack result: ") + error.what());
    }
}

} // namespace orbitmesh::python
