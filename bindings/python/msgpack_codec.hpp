// Python values <-> msgpack, for plugin_call (om_plugin_call takes a msgpack array of arguments
// and returns a msgpack value).
//   encode: None -> nil, bool -> bool, int -> int64 (uint64 above INT64_MAX), float -> float64,
//           str -> str, bytes-like -> bin, list/tuple -> array, dict -> map.
//   decode: nil -> None, bool, int, float, str, bin -> bytes, array -> list, map -> dict.
// GIL held for both.
#pragma once

#include <pybind11/pybind11.h>

#include <cstdint>
#include <vector>

namespace orbitmesh::python {

namespace py = pybind11;

std::vector<uint8_t> encode_msgpack_array(const py::args& values);
py::object decode_msgpack(const std::vector<uint8_t>& bytes);

} // namespace orbitmesh::python
