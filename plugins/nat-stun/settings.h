// nat-stun's settings as the user writes them ("nat-stun.rto_ms=250;nat-stun.probe_timeout_ms=800"),
// parsed strictly: a value that is not exactly a whole number in range fails, naming its key.
#pragma once

#include <cstdint>
#include <functional>
#include <stdexcept>

namespace om::natstun {

struct Settings {
    // RFC 8489 §6.2.1: first retransmission timeout, request count and the final wait (Rm × RTO).
    uint32_t rto_ms = 500;
    uint32_t rc = 7;
    uint32_t rm = 16;
    // How long a test whose "no answer" is a result (filtering II/III, hairpinning) waits.
    uint32_t probe_timeout_ms = 1000;
};

class SettingsError : public std::invalid_argument {
public:
    using std::invalid_argument::invalid_argument;
};

// The value of a key ("rto_ms"), or nullptr when unset.
using SettingLookup = std::function<const char*(const char* key)>;

// Reads every key nat-stun knows (the kernel refuses any key a plugin did not read during
// create); unset keys keep their defaults. Throws SettingsError naming the key as written
// ("nat-stun.rc = '0': expected a count from 1 to 20").
Settings parse_settings(const SettingLookup& lookup);

}  // namespace om::natstun
