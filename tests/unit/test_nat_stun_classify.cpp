// nat-stun's pure parts: the classification of RFC 4787 behaviours into the seed's NAT types
// (every combination, as a table), the strict parsing of its settings, and the RFC 8489 §6.2.1
// schedule cut to a budget.
#include <catch2/catch.hpp>

#include "classify.h"
#include "proto/nat_names.h"
#include "settings.h"
#include "transaction.h"

#include <map>
#include <string>
#include <vector>

using om::natstun::classify;

namespace {

constexpr om_nat_behavior EIM = OM_NAT_BEHAVIOR_ENDPOINT_INDEPENDENT;
constexpr om_nat_behavior AD = OM_NAT_BEHAVIOR_ADDRESS_DEPENDENT;
constexpr om_nat_behavior APD = OM_NAT_BEHAVIOR_ADDRESS_AND_PORT_DEPENDENT;
constexpr om_nat_behavior UNK = OM_NAT_BEHAVIOR_UNKNOWN;

om_nat_type classified(om_nat_behavior mapping, om_nat_behavior filtering)
{
    return classify(true, false, mapping, filtering);
}

}  // namespace

TEST_CASE("nat-stun classification: every mapping x filtering combination", "[nat-stun]")
{
    struct Row {
        om_nat_behavior mapping, filtering;
        om_nat_type expected;
    };
    const Row table[] = {
        {EIM, OM_NAT_BEHAVIOR_ENDPOINT_INDEPENDENT, OM_NAT_FULL_CONE},
        {EIM, AD, OM_NAT_RESTRICTED},
        {EIM, APD, OM_NAT_PORT_RESTRICTED},
        {EIM, UNK, OM_NAT_UNKNOWN},
        {AD, EIM, OM_NAT_SYMMETRIC},
        {AD, AD, OM_NAT_SYMMETRIC},
        {AD, APD, OM_NAT_SYMMETRIC},
        {AD, UNK, OM_NAT_SYMMETRIC},
        {APD, EIM, OM_NAT_SYMMETRIC},
        {APD, AD, OM_NAT_SYMMETRIC},
        {APD, APD, OM_NAT_SYMMETRIC},
        {APD, UNK, OM_NAT_SYMMETRIC},
        {UNK, EIM, OM_NAT_UNKNOWN},
        {UNK, AD, OM_NAT_UNKNOWN},
        {UNK, APD, OM_NAT_UNKNOWN},
        {UNK, UNK, OM_NAT_UNKNOWN},
    };
    for (const Row& row : table) {
        INFO("mapping " << om::proto::nat_behavior_name(row.mapping) << ", filtering "
                        << om::proto::nat_behavior_name(row.filtering));
        CHECK(om::proto::nat_type_name(classified(row.mapping, row.filtering)) ==
              std::string(om::proto::nat_type_name(row.expected)));
    }
}

TEST_CASE("nat-stun classification: no answer is Unknown, mapped == local is Open", "[nat-stun]")
{
    for (om_nat_behavior m : {EIM, AD, APD, UNK})
        for (om_nat_behavior f : {EIM, AD, APD, UNK}) {
            CHECK(classify(false, false, m, f) == OM_NAT_UNKNOWN);
            CHECK(classify(false, true, m, f) == OM_NAT_UNKNOWN);
            CHECK(classify(true, true, m, f) == OM_NAT_OPEN);  // no NAT, whatever a firewall filters
        }
}

TEST_CASE("nat-stun settings: defaults, valid values and clear errors", "[nat-stun]")
{
    using om::natstun::parse_settings;
    using om::natstun::SettingsError;
    std::map<std::string, std::string> options;
    std::vector<std::string> asked;
    const auto lookup = [&](const char* key) -> const char* {
        asked.push_back(key);
        auto it = options.find(key);
        return it == options.end() ? nullptr : it->second.c_str();
    };

    const auto defaults = parse_settings(lookup);
    CHECK(defaults.rto_ms == 500);
    CHECK(defaults.rc == 7);
    CHECK(defaults.rm == 16);
    CHECK(defaults.probe_timeout_ms == 1000);
    // Every key is read, even unset ones: the kernel refuses keys a plugin never asked for.
    CHECK(asked == std::vector<std::string>{"rto_ms", "rc", "rm", "probe_timeout_ms"});

    options = {{"rto_ms", " 250 "}, {"rc", "3"}, {"rm", "4"}, {"probe_timeout_ms", "800"}};
    const auto set = parse_settings(lookup);
    CHECK(set.rto_ms == 250);
    CHECK(set.rc == 3);
    CHECK(set.rm == 4);
    CHECK(set.probe_timeout_ms == 800);

    const std::pair<std::pair<const char*, const char*>, const char*> bad[] = {
        {{"rto_ms", "0"}, "nat-stun.rto_ms = '0': expected milliseconds from 10 to 60000"},
        {{"rto_ms", "5x"}, "nat-stun.rto_ms = '5x': expected milliseconds from 10 to 60000"},
        {{"rto_ms", "-500"}, "nat-stun.rto_ms = '-500': expected milliseconds from 10 to 60000"},
        {{"rc", "0"}, "nat-stun.rc = '0': expected a request count from 1 to 20"},
        {{"rc", ""}, "nat-stun.rc = '': expected a request count from 1 to 20"},
        {{"rm", "65"}, "nat-stun.rm = '65': expected a multiple of the RTO from 1 to 64"},
        {{"probe_timeout_ms", "1.5"}, "nat-stun.probe_timeout_ms = '1.5': expected milliseconds from 50 to 60000"},
        {{"probe_timeout_ms", "99999999999"},
         "nat-stun.probe_timeout_ms = '99999999999': expected milliseconds from 50 to 60000"},
    };
    for (const auto& [option, message] : bad) {
        options = {{option.first, option.second}};
        try {
            parse_settings(lookup);
            FAIL("accepted " << option.first << "=" << option.second);
        } catch (const SettingsError& error) {
            CHECK(std::string(error.what()) == message);
        }
    }
}

TEST_CASE("nat-stun schedule: RFC 8489 §6.2.1 cut to the budget", "[nat-stun]")
{
    using om::natstun::truncated_schedule;
    const auto full = truncated_schedule(500, 7, 16, 60'000'000);
    CHECK(full.send_at_us == std::vector<uint64_t>{0, 500'000, 1'500'000, 3'500'000, 7'500'000, 15'500'000, 31'500'000});
    CHECK(full.end_us == 39'500'000);

    const auto cut = truncated_schedule(500, 7, 16, 4'000'000);
    CHECK(cut.send_at_us == std::vector<uint64_t>{0, 500'000, 1'500'000, 3'500'000});
    CHECK(cut.end_us == 4'000'000);

    const auto tiny = truncated_schedule(500, 7, 16, 1'000);  // the first send always goes
    CHECK(tiny.send_at_us == std::vector<uint64_t>{0});
    CHECK(tiny.end_us == 1'000);

    const auto probe = truncated_schedule(100, 7, 16, 1'000'000);
    CHECK(probe.send_at_us == std::vector<uint64_t>{0, 100'000, 300'000, 700'000});
    CHECK(probe.end_us == 1'000'000);
}
