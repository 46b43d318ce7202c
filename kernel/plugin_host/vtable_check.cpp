#include "plugin_host/vtable_check.h"

#include "core/error.h"

#include <cstddef>
#include <cstring>
#include <initializer_list>
#include <utility>

namespace om {
namespace {

using Slot = std::pair<const char*, size_t>;  // slot name, offset

#define OM_SLOT(type, member) Slot{#member, offsetof(type, member)}

template <class Vtbl>
Vtbl copy_checked(const std::string& plugin, const char* kind, const void* src, std::initializer_list<Slot> required)
{
    Vtbl out{};
    copy_sized_struct("plugin " + plugin + ": " + kind + " vtable", src, &out, sizeof out);
    for (const auto& [name, offset] : required) {
        void* fn = nullptr;
        std::memcpy(&fn, reinterpret_cast<const char*>(&out) + offset, sizeof fn);
        if (!fn)
            fail(OM_ERR_PLUGIN_LOAD, "plugin " + plugin + ": required " + kind + " vtable slot '" + name + "' is missing");
    }
    return out;
}

} // namespace

void copy_sized_struct(const std::string& what, const void* src, void* out, size_t known_size)
{
    uint32_t size = 0;
    std::memcpy(&size, src, sizeof size);
    if (size < sizeof(uint32_t) * 2)
        fail(OM_ERR_PLUGIN_LOAD, what + ": struct_size " + std::to_string(size) + " is too small");
    std::memset(out, 0, known_size);
    if (size > known_size) {
        const auto* extra = static_cast<const unsigned char*>(src);
        for (size_t i = known_size; i < size; ++i)
            if (extra[i] != 0)
                fail(OM_ERR_PLUGIN_LOAD, what + " is newer than this kernel (struct_size " + std::to_string(size) +
                                             " > " + std::to_string(known_size) + ") and uses the newer members");
    }
    std::memcpy(out, src, size < known_size ? size : known_size);
    uint32_t own = static_cast<uint32_t>(known_size);
    std::memcpy(out, &own, sizeof own);
}

VtableCopy copy_vtable(const std::string& plugin, om_plugin_kind kind, uint32_t flags, const void* vtbl)
{
    if (!vtbl) fail(OM_ERR_PLUGIN_LOAD, "plugin " + plugin + ": descriptor has no vtable");
    switch (kind) {
    case OM_PLUGIN_KIND_TRANSPORT: {
        auto v = copy_checked<om_transport_vtbl>(plugin, "transport", vtbl,
            {OM_SLOT(om_transport_vtbl, create), OM_SLOT(om_transport_vtbl, destroy), OM_SLOT(om_transport_vtbl, open),
             OM_SLOT(om_transport_vtbl, close), OM_SLOT(om_transport_vtbl, send), OM_SLOT(om_transport_vtbl, poll_fd),
             OM_SLOT(om_transport_vtbl, drain), OM_SLOT(om_transport_vtbl, local_address)});
        if ((flags & OM_PLUGIN_FLAG_DECORATOR) && !v.inner_received)
            fail(OM_ERR_PLUGIN_LOAD, "plugin " + plugin + ": a decorator needs the transport vtable slot 'inner_received'");
        return v;
    }
    case OM_PLUGIN_KIND_NAT_DISCOVERY:
        return copy_checked<om_nat_discovery_vtbl>(plugin, "nat-discovery", vtbl,
            {OM_SLOT(om_nat_discovery_vtbl, create), OM_SLOT(om_nat_discovery_vtbl, destroy),
             OM_SLOT(om_nat_discovery_vtbl, start), OM_SLOT(om_nat_discovery_vtbl, on_datagram),
             OM_SLOT(om_nat_discovery_vtbl, cancel)});
    case OM_PLUGIN_KIND_STRATEGY:
        return copy_checked<om_strategy_vtbl>(plugin, "strategy", vtbl,
            {OM_SLOT(om_strategy_vtbl, create), OM_SLOT(om_strategy_vtbl, destroy), OM_SLOT(om_strategy_vtbl, choose)});
    case OM_PLUGIN_KIND_TURN:
        return copy_checked<om_turn_vtbl>(plugin, "turn", vtbl,
            {OM_SLOT(om_turn_vtbl, create), OM_SLOT(om_turn_vtbl, destroy), OM_SLOT(om_turn_vtbl, allocate),
             OM_SLOT(om_turn_vtbl, create_permission), OM_SLOT(om_turn_vtbl, send), OM_SLOT(om_turn_vtbl, on_datagram),
             OM_SLOT(om_turn_vtbl, release)});
    case OM_PLUGIN_KIND_DELIVERY:
        return copy_checked<om_delivery_vtbl>(plugin, "delivery", vtbl,
            {OM_SLOT(om_delivery_vtbl, create), OM_SLOT(om_delivery_vtbl, destroy),
             OM_SLOT(om_delivery_vtbl, session_open), OM_SLOT(om_delivery_vtbl, session_close),
             OM_SLOT(om_delivery_vtbl, send), OM_SLOT(om_delivery_vtbl, on_frame), OM_SLOT(om_delivery_vtbl, metrics)});
    default:
        fail(OM_ERR_PLUGIN_LOAD, "plugin " + plugin + ": unknown kind " + std::to_string(kind));
    }
}

} // namespace om
