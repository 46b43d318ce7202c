// A plugin's counters kept as a struct of uint64_t members and published to the host's agent
// counters ("plugin.<plugin name>.<name>", ABI 1.1) as increments:
//
//   constexpr om::plugin::CounterName<MyCounters> kCounterNames[] = {{"sent", &MyCounters::sent}, ...};
//   void My::publish_counters() noexcept { om::plugin::publish_counters(host_, kCounterNames, counters_, published_); }
#pragma once

#include "orbitmesh_plugin_support/host_services.h"

#include <cstddef>
#include <cstdint>
#include <utility>

namespace om::plugin {

// A counter's name for the host and its member.
template <class Counters>
using CounterName = std::pair<const char*, uint64_t Counters::*>;

// Adds to the host's counters what each one moved since `published`, which then becomes `current`.
template <class Counters, size_t N>
void publish_counters(const HostServices& host, const CounterName<Counters> (&names)[N], const Counters& current,
                      Counters& published) noexcept
{
    for (const auto& [name, member] : names) {
        const uint64_t delta = current.*member - published.*member;
        if (delta != 0) host.counter_add(name, static_cast<int64_t>(delta));
    }
    published = current;
}

}  // namespace om::plugin
