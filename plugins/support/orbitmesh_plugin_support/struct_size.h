// ABI-RULES R6 on a plugin's side: a struct that comes with struct_size is read only as far as
// struct_size reaches. covers(s, &S::field) is true when s reaches to the end of field.
#pragma once

#include <cstddef>

namespace om::plugin {

template <class Struct, class Field>
bool covers(const Struct& value, const Field Struct::*field)
{
    static constexpr Struct kLayout{};
    const auto end = static_cast<size_t>(reinterpret_cast<const char*>(&(kLayout.*field)) -
                                         reinterpret_cast<const char*>(&kLayout)) +
                     sizeof(Field);
    return value.struct_size >= end;
}

}  // namespace om::plugin
