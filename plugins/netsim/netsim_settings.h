// netsim's settings as the user writes them ("netsim.loss=0.05;netsim.seed=7"), parsed strictly:
// a value that is not exactly a number in range fails, naming its key.
#pragma once

#include "netsim_model.h"

#include <functional>
#include <stdexcept>

namespace om::netsim {

// Which traffic the model acts on; the other direction passes untouched.
enum class Direction : uint8_t { send, recv, both };

inline bool simulates_send(Direction d) { return d != Direction::recv; }
inline bool simulates_recv(Direction d) { return d != Direction::send; }

struct Settings {
    ModelSettings model;
    Direction direction = Direction::send;
};

class SettingsError : public std::invalid_argument {
public:
    using std::invalid_argument::invalid_argument;
};

// The value of a key ("loss"), or nullptr when unset.
using SettingLookup = std::function<const char*(const char* key)>;

// Reads every key netsim knows; unset keys keep their defaults. Throws SettingsError, whose
// message names the key as the user wrote it ("netsim.loss = '1.5': expected ...").
Settings parse_settings(const SettingLookup& lookup);

}  // namespace om::netsim
