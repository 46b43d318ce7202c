#include "netsim_settings.h"

#include <charconv>
#include <cmath>
#include <cstring>
#include <string>
#include <string_view>

namespace om::netsim {
namespace {

constexpr double kLongestDelayMs = 60'000;            // a minute: anything more is a typo
constexpr uint64_t kFastestRateKbps = 100'000'000;    // 100 Gbit/s
constexpr uint64_t kLargestQueue = 10'000'000;

std::string_view trimmed(const char* text)
{
    std::string_view view(text);
    const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
    while (!view.empty() && space(view.front())) view.remove_prefix(1);
    while (!view.empty() && space(view.back())) view.remove_suffix(1);
    return view;
}

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
    if (!parse(trimmed(text), value)) reject(key, text, expected);
    target = value;
}

bool whole_number(std::string_view text, uint64_t& out)
{
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
    return !text.empty() && error == std::errc{} && end == text.data() + text.size();
}

bool real_number(std::string_view text, double& out)
{
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
    return !text.empty() && error == std::errc{} && end == text.data() + text.size() && std::isfinite(out);
}

auto number_between(double low, double high)
{
    return [=](std::string_view text, double& out) { return real_number(text, out) && out >= low && out <= high; };
}

auto whole_between(uint64_t low, uint64_t high)
{
    return [=](std::string_view text, uint64_t& out) { return whole_number(text, out) && out >= low && out <= high; };
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
    read(lookup, "seed", m.seed, "an unsigned 64-bit integer", whole_number);
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
