// BufferView: a contiguous read-only view of any bytes-like Python object (bytes, bytearray,
// memoryview, array, ...), released in the destructor. Create and destroy it with the GIL held;
// the bytes stay valid (and a bytearray cannot be resized) while it lives, GIL or not.
#pragma once

#include <pybind11/pybind11.h>

#include <cstddef>
#include <cstdint>

namespace orbitmesh::python {

class BufferView {
public:
    explicit BufferView(pybind11::handle object) {
        if (PyObject_GetBuffer(object.ptr(), &view_, PyBUF_SIMPLE) != 0)
            throw pybind11::error_already_set();
    }
    ~BufferView() { PyBuffer_Release(&view_); }
    BufferView(const BufferView&) = delete;
    BufferView& operator=(const BufferView&) = delete;

    const uint8_t* data() const { return static_cast<const uint8_t*>(view_.buf); }
    size_t size() const { return static_cast<size_t>(view_.len); }

private:
    Py_buffer view_{};
};

} // namespace orbitmesh::python
