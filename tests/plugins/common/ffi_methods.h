/* Extension methods of fixture-ffi: one per shape of the signature grammar in plugin.h, so a
 * test of om_plugin_call can cover every argument and return type. */
#ifndef FIXTURE_FFI_METHODS_H
#define FIXTURE_FFI_METHODS_H

#include "fixture_abi.h"

/* A constant so the descriptor can use it in a static initializer; ffi_methods.c checks it. */
#define FIXTURE_FFI_FUNCTION_COUNT 10

extern const om_plugin_function fixture_ffi_functions[FIXTURE_FFI_FUNCTION_COUNT];

#endif /* FIXTURE_FFI_METHODS_H */
