/* The frozen ABI 1.0 plugin header (tests/plugins/abi_1_0) still compiles as strict C11, and its
 * structs are exactly the 1.1 structs cut before the first 1.1 addition (abi_layout.h with
 * OM_LAYOUT_ABI_1_0). Linked into c_compile; it has no code. */
#include "orbitmesh_plugin_abi_1_0.h"

#define OM_LAYOUT_ABI_1_0
#include "abi_layout.h"

/* ISO C wants at least one declaration of our own in a translation unit. */
typedef int c_compile_abi_1_0_unused;
