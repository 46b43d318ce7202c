#include "netsim_settings.h"

#include <orbitmesh_plugin_support/setting_text.h>

#include <cstring>
#include <string>
#include <string_view>

namespace om::netsim {
namespace {

constexpr double kLongestDelayMs = 60'000;            // a minute: anything more is a typo
constexpr uint64_t kFastestRateKbps = 100'000'000;    // 100 Gbit/s
constexpr uint64_t kLargestQueue = 10'000'000;

[[noreturn]] void reject(const char* key, const char* text, const char* expected)
{
    throw SettingsError(std::string("netsim.") + key + " = '" + text + "': expected " + expected);
}

// Reads one key with `parse`, which returns false for a value it does not accept.
template <class T, class Parse>
void read(const SettingLookup& lookup, const char* key, T& target, const char* expected, const Parse& parse)
{
    const char* text = lookup(key);
    if (text == nullptr) return;
    T value{};
    if (!parse(plugin::trim_setting(text), value)) reject(key, text, expected);
    target = value;
}

auto number_between(double low, double high)
{
    return [=](std::string_view text, double& out) { return plugin::parse_setting_number(text, out) && out >= low && out <= high; };
}

auto whole_between(uint64_t low, uint64_t high)
{
    return [=](std::string_view text, uint64_t& out) { return plugin::parse_setting_number(text, out) && out >= low && out <= high; };
}

bool direction_named(std::string_view text, Direction& out)
{
    if (text == "send") out = Direction::send;
    else if (text == "recv") out = Direction::recv;
    else if (text == "both") out = Direction::both;
    else return false;
    return true;
}

}  // namespace

Settings parse_settings(const SettingLookup& lookup)
{
    Settings s;
    ModelSettings& m = s.model;
    const auto probability = number_between(0, 1);
    const auto milliseconds = number_between(0, kLongestDelayMs);
    read(lookup, "seed", m.seed, "an unsigned 64-bit integer", plugin::parse_setting_number<uint64_t>);
    read(lookup, "delay_ms", m.delay_ms, "milliseconds from 0 to 60000", milliseconds);
    read(lookup, "jitter_ms", m.jitter_ms, "milliseconds from 0 to 60000", milliseconds);
    read(lookup, "loss", m.loss, "a probability from 0 to 1", probability);
    read(lookup, "duplicate", m.duplicate, "a probability from 0 to 1", probability);
    read(lookup, "reorder", m.reorder, "a probability from 0 to 1", probability);
    read(lookup, "reorder_gap_ms", m.reorder_gap_ms, "milliseconds from 0 to 60000", milliseconds);
    read(lookup, "rate_kbps", m.rate_kbps, "kbit/s from 0 (unlimited) to 100000000", whole_between(0, kFastestRateKbps));
    read(lookup, "queue_limit", m.queue_limit, "a packet count from 1 to 10000000", whole_between(1, kLargestQueue));
    read(lookup, "direction", s.direction, "send, recv or both", direction_named);
    return s;
}

}  // namespace om::netsim
