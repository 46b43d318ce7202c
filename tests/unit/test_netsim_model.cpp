// The netsim model's statistics, checked with a synthetic clock: loss, duplication, delay with
// jitter, reordering, the rate cap and the queue limit behave as configured, and one seed always
// gives one decision sequence. Also the strict parsing of its settings.
#include <catch2/catch.hpp>

#include "netsim_model.h"
#include "netsim_settings.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>

using om::netsim::Decision;
using om::netsim::Direction;
using om::netsim::Fate;
using om::netsim::Model;
using om::netsim::ModelSettings;
using om::netsim::parse_settings;
using om::netsim::SettingsError;

namespace {

constexpr size_t kPackets = 20000;
constexpr size_t kPacketBytes = 1000;
constexpr uint64_t kSpacingUs = 1000;  // one packet per millisecond unless a test says otherwise

// Decisions for kPackets packets of kPacketBytes, one every kSpacingUs.
std::vector<Decision> run(Model& model, size_t packets = kPackets)
{
    std::vector<Decision> decisions;
    decisions.reserve(packets);
    for (size_t i = 0; i < packets; ++i) decisions.push_back(model.decide(i * kSpacingUs, kPacketBytes));
    return decisions;
}

template <class Predicate>
double fraction(const std::vector<Decision>& decisions, const Predicate& predicate)
{
    return static_cast<double>(std::count_if(decisions.begin(), decisions.end(), predicate)) /
           static_cast<double>(decisions.size());
}

}  // namespace

TEST_CASE("netsim model: loss drops the configured fraction", "[netsim]")
{
    ModelSettings settings;
    settings.loss = 0.1;
    Model model(settings);
    const auto decisions = run(model);
    const double lost = fraction(decisions, [](const Decision& d) { return d.fate == Fate::lost; });
    CHECK(lost == Approx(0.1).margin(0.012));
    for (const Decision& d : decisions)
        if (d.fate == Fate::delivered) REQUIRE(d.copies == 1);
}

TEST_CASE("netsim model: duplicate copies the configured fraction", "[netsim]")
{
    ModelSettings settings;
    settings.duplicate = 0.05;
    Model model(settings);
    const auto decisions = run(model);
    const double duplicated = fraction(decisions, [](const Decision& d) { return d.duplicated; });
    CHECK(duplicated == Approx(0.05).margin(0.012));
    for (const Decision& d : decisions) REQUIRE(d.copies == (d.duplicated ? 2u : 1u));
}

TEST_CASE("netsim model: delay with jitter stays inside delay +- jitter", "[netsim]")
{
    ModelSettings settings;
    settings.delay_ms = 20;
    settings.jitter_ms = 5;
    Model model(settings);
    const auto decisions = run(model);
    double total_us = 0;
    for (size_t i = 0; i < decisions.size(); ++i) {
        REQUIRE(decisions[i].copies == 1);
        const uint64_t delay_us = decisions[i].release_us[0] - i * kSpacingUs;
        REQUIRE(delay_us >= 15000);
        REQUIRE(delay_us <= 25000);
        REQUIRE(decisions[i].delayed);
        total_us += static_cast<double>(delay_us);
    }
    CHECK(total_us / static_cast<double>(decisions.size()) == Approx(20000).margin(500));
}

TEST_CASE("netsim model: jitter larger than the delay never makes a delay negative", "[netsim]")
{
    ModelSettings settings;
    settings.delay_ms = 2;
    settings.jitter_ms = 10;
    Model model(settings);
    const auto decisions = run(model, 2000);
    for (size_t i = 0; i < decisions.size(); ++i) REQUIRE(decisions[i].release_us[0] >= i * kSpacingUs);
}

TEST_CASE("netsim model: reordering lets later packets overtake at the configured rate", "[netsim]")
{
    ModelSettings settings;
    settings.reorder = 0.1;
    settings.reorder_gap_ms = 10;
    Model model(settings);
    const auto decisions = run(model);
    // Packet i is overtaken when some later packet is released before it.
    size_t overtaken = 0;
    uint64_t earliest_later = std::numeric_limits<uint64_t>::max();
    for (size_t i = decisions.size(); i-- > 0;) {
        if (earliest_later < decisions[i].release_us[0]) ++overtaken;
        earliest_later = std::min(earliest_later, decisions[i].release_us[0]);
    }
    const double reordered = fraction(decisions, [](const Decision& d) { return d.reordered; });
    CHECK(reordered == Approx(0.1).margin(0.012));
    CHECK(static_cast<double>(overtaken) / kPackets == Approx(0.1).margin(0.012));
}

TEST_CASE("netsim model: the rate cap drains a burst at the configured rate", "[netsim]")
{
    ModelSettings settings;
    settings.rate_kbps = 1000;  // 125 kB/s: one 1000-byte packet every 8 ms
    settings.queue_limit = 5000;
    Model model(settings);
    constexpr size_t kBurst = 1000;
    std::vector<uint64_t> releases;
    for (size_t i = 0; i < kBurst; ++i) {
        const Decision d = model.decide(0, kPacketBytes);
        REQUIRE(d.fate == Fate::delivered);
        REQUIRE(d.rate_limited == (i > 0));
        releases.push_back(d.release_us[0]);
    }
    REQUIRE(std::is_sorted(releases.begin(), releases.end()));
    const double seconds = static_cast<double>(releases.back()) / 1e6;
    const double bytes_per_second = kBurst * kPacketBytes / seconds;
    CHECK(bytes_per_second == Approx(125000).epsilon(0.03));
    // Never faster than the rate over any stretch either.
    for (size_t i = 1; i < releases.size(); ++i) REQUIRE(releases[i] - releases[i - 1] >= 7999);
}

TEST_CASE("netsim model: queue_limit drops what does not fit, and frees up as packets leave", "[netsim]")
{
    ModelSettings settings;
    settings.rate_kbps = 1000;
    settings.queue_limit = 100;
    Model model(settings);
    std::map<Fate, size_t> fates;
    for (size_t i = 0; i < 300; ++i) ++fates[model.decide(0, kPacketBytes).fate];
    CHECK(fates[Fate::delivered] == 100);
    CHECK(fates[Fate::queue_full] == 200);
    CHECK(model.held(0) == 100);

    const uint64_t later = 10'000'000;  // long after the 100 queued packets left (0.8 s)
    CHECK(model.held(later) == 0);
    CHECK(model.decide(later, kPacketBytes).fate == Fate::delivered);
}

TEST_CASE("netsim model: one seed gives one decision sequence", "[netsim]")
{
    ModelSettings settings;
    settings.loss = 0.1;
    settings.duplicate = 0.1;
    settings.reorder = 0.1;
    settings.delay_ms = 10;
    settings.jitter_ms = 5;
    settings.seed = 7;
    Model first(settings);
    Model again(settings);
    settings.seed = 8;
    Model other(settings);
    const auto a = run(first, 2000);
    CHECK(a == run(again, 2000));
    CHECK(a != run(other, 2000));
}

TEST_CASE("netsim model: set_loss and the constructor reject values out of range", "[netsim]")
{
    Model model(ModelSettings{});
    CHECK_THROWS_AS(model.set_loss(1.5), std::invalid_argument);
    CHECK_THROWS_AS(model.set_loss(-0.1), std::invalid_argument);
    CHECK_THROWS_AS(model.set_loss(std::nan("")), std::invalid_argument);
    CHECK_NOTHROW(model.set_loss(1.0));
    CHECK(model.decide(0, 10).fate == Fate::lost);
    ModelSettings bad;
    bad.duplicate = 2;
    CHECK_THROWS_AS(Model(bad), std::invalid_argument);
}

TEST_CASE("netsim settings: values parse strictly and errors name the key", "[netsim]")
{
    std::map<std::string, std::string> options;
    const auto lookup = [&](const char* key) -> const char* {
        const auto it = options.find(key);
        return it == options.end() ? nullptr : it->second.c_str();
    };

    SECTION("defaults")
    {
        const auto s = parse_settings(lookup);
        CHECK(s.model.seed == 1);
        CHECK(s.model.queue_limit == 1000);
        CHECK(s.model.reorder_gap_ms == 10);
        CHECK(s.direction == Direction::send);
    }
    SECTION("every key")
    {
        options = {{"seed", "7"},        {"delay_ms", "20"},     {"jitter_ms", "2.5"}, {"loss", "0.05"},
                   {"duplicate", "0.01"}, {"reorder", " 0.2 "},   {"reorder_gap_ms", "5"},
                   {"rate_kbps", "1000"}, {"queue_limit", "50"},  {"direction", "both"}};
        const auto s = parse_settings(lookup);
        CHECK(s.model.seed == 7);
        CHECK(s.model.delay_ms == 20);
        CHECK(s.model.jitter_ms == 2.5);
        CHECK(s.model.loss == 0.05);
        CHECK(s.model.duplicate == 0.01);
        CHECK(s.model.reorder == 0.2);
        CHECK(s.model.reorder_gap_ms == 5);
        CHECK(s.model.rate_kbps == 1000);
        CHECK(s.model.queue_limit == 50);
        CHECK(s.direction == Direction::both);
    }
    SECTION("bad values")
    {
        const std::vector<std::pair<std::string, std::string>> bad = {
            {"loss", "1.5"},      {"loss", "0.1x"},     {"loss", "nan"},      {"loss", ""},
            {"seed", "-1"},       {"delay_ms", "-5"},   {"jitter_ms", "inf"}, {"queue_limit", "0"},
            {"rate_kbps", "1.5"}, {"direction", "up"},  {"duplicate", "two"},
        };
        for (const auto& [key, value] : bad) {
            options = {{key, value}};
            INFO(key << " = '" << value << "'");
            try {
                parse_settings(lookup);
                FAIL("accepted");
            } catch (const SettingsError& error) {
                CHECK_THAT(error.what(), Catch::Contains("netsim." + key));
            }
        }
    }
}
