/* The plugin ABI header a fixture is compiled against: the frozen 1.0 snapshot for
 * fixture-abi10 (FIXTURE_FROZEN_ABI_1_0), today's plugin.h for every other fixture. */
#ifndef FIXTURE_ABI_H
#define FIXTURE_ABI_H

#if defined(FIXTURE_FROZEN_ABI_1_0)
#  include "../abi_1_0/orbitmesh_plugin_abi_1_0.h"
#else
#  include <orbitmesh/plugin.h>
#endif

/* True when the header in use has the ABI 1.1 additions (mtu, functions, counter_add...).
 * Uses MAJOR/MINOR because OM_PLUGIN_ABI_VERSION has casts and cannot appear in #if. */
#define FIXTURE_HAS_ABI_1_1 (OM_PLUGIN_ABI_VERSION_MAJOR == 1 && OM_PLUGIN_ABI_VERSION_MINOR >= 1)

#endif /* FIXTURE_ABI_H */
