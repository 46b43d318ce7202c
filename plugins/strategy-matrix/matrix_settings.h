// strategy-matrix's settings as the user writes them ("strategy-matrix.symmetric_direct=0"),
// parsed strictly: a value that is not exactly 0 or 1 fails, naming its key.
#pragma once

#include <functional>
#include <stdexcept>

namespace om::strategymatrix {

struct Settings {
    // Beyond the seed: hole punch first when one side is Symmetric and the other's filter can be
    // opened (matrix_plan.h). 0 gives the seed's matrix exactly.
    bool symmetric_direct = true;
};

class SettingsError : public std::invalid_argument {
public:
    using std::invalid_argument::invalid_argument;
};

// The value of a key ("symmetric_direct"), or nullptr when unset.
using SettingLookup = std::function<const char*(const char* key)>;

// Reads every key the plugin knows (the kernel refuses keys not read during create); unset keys
// keep their defaults. Throws SettingsError ("strategy-matrix.symmetric_direct = 'yes': expected 0 or 1").
Settings parse_settings(const SettingLookup& lookup);

}  // namespace om::strategymatrix
