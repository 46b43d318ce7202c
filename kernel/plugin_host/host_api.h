// The om_host_api table handed to every plugin, and om_host_ctx: one per plugin instance.
#pragma once

#include "core/counters.h"
#include "core/event_loop.h"
#include "core/plugin_options.h"
#include "core/recycling_map.h"

#include <orbitmesh/plugin.h>

#include <array>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>

namespace om {

// What the host API needs from the object that owns plugin instances (the agent).
class PluginOwner {
public:
    virtual EventLoop& loop() = 0;
    virtual Counters& counters() = 0;
    // Sends through the whole transport stack (host_api.send_datagram).
    virtual om_status send_through_transport(const om_datagram& datagram) = 0;

protected:
    ~PluginOwner() = default;
};

const om_host_api* host_api();

} // namespace om

// Opaque to plugins (declared in plugin.h).
struct om_host_ctx {
    om::PluginOwner* owner = nullptr;  // null while only negotiating
    std::string plugin_name;
    om::PluginSettings settings;
    std::string last_error;  // from set_error, read by the kernel after a failed call
    // The instance's live timers: the loop's closure holds only the ctx (no allocation for it),
    // the callback is found here by id.
    struct Timer {
        om_host_timer_fn fn;
        void* user_data;
        bool periodic;
    };
    om::RecyclingMap<uint64_t, Timer> timers;
    // Cleared (on the loop thread) before the instance is destroyed: tasks the plugin posted
    // earlier then find it false and are dropped instead of running on a dead instance.
    std::shared_ptr<bool> alive = std::make_shared<bool>(true);
    std::set<std::string> settings_read;  // keys the plugin asked for through config_get
    // counter_add's names to the agent's counters: a plugin adds to a few of them after every
    // call, and "plugin.<name>.<counter>" need not be built again each time. Loop thread only.
    std::unordered_map<std::string, std::atomic<uint64_t>*, om::StringHash, std::equal_to<>> counters;
    // The names counter_add saw last, by the caller's pointer (plugins pass the same literals
    // after every call): a hit costs a pointer and a string compare instead of hashing the
    // name. The compare keeps it right when a plugin reuses a buffer for another name.
    struct RecentCounter {
        const char* name = nullptr;
        const std::string* key = nullptr;  // the map's key: nodes never move
        std::atomic<uint64_t>* counter = nullptr;
    };
    std::array<RecentCounter, 16> recent_counters{};
    size_t recent_counter_next = 0;

    // Throws om::Error(OM_ERR_INVALID_ARGUMENT) for a setting the plugin never read: a typo
    // ("netsim.los=0.1") must not be silently ignored. Plugins read their settings by open.
    void check_settings_read() const;

    // Cancels the instance's remaining timers and drops its pending posted tasks; called when
    // the instance is destroyed.
    void cancel_timers();
    // Takes the plugin's last set_error text (empty when it gave none).
    std::string take_error();
};
