// The network model behind netsim, free of any I/O: given the time a packet arrives and its
// size, it decides whether the packet is lost, how many copies leave and when each leaves.
// Time comes from the caller and randomness from a seeded std::mt19937_64, so one seed and one
// sequence of (time, size) always give the same decisions: tests drive it with a synthetic
// clock, the plugin with the host's.
//
// The path a packet takes (like Linux netem's): loss -> duplication -> queue limit -> the rate
// cap (a serialization queue: one packet on the link at a time) -> delay +- jitter -> an extra
// reorder gap for the packets picked to be overtaken.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <queue>
#include <random>
#include <vector>

namespace om::netsim {

struct ModelSettings {
    uint64_t seed = 1;
    double delay_ms = 0;         // one-way delay added to every packet
    double jitter_ms = 0;        // uniform +-jitter around delay; the total never goes below 0
    double loss = 0;             // probability a packet is dropped
    double duplicate = 0;        // probability a packet leaves twice
    double reorder = 0;          // probability a packet is held back reorder_gap_ms more
    double reorder_gap_ms = 10;
    uint64_t rate_kbps = 0;      // link rate in kbit/s; 0 = unlimited
    uint64_t queue_limit = 1000; // packets held at once (delayed or waiting for the link)
};

// Throws std::invalid_argument naming the first setting out of range.
void validate(const ModelSettings& settings);

enum class Fate : uint8_t {
    delivered,   // copies > 0, each leaving at release_us[i]
    lost,        // dropped by `loss`
    queue_full,  // dropped because queue_limit packets were already held
};

struct Decision {
    static constexpr size_t kMaxCopies = 2;

    Fate fate = Fate::delivered;
    uint32_t copies = 0;
    std::array<uint64_t, kMaxCopies> release_us{};  // absolute times, same clock as now_us
    bool duplicated = false;    // a second copy leaves
    bool reordered = false;     // held back by the reorder gap
    bool delayed = false;       // some copy leaves after now_us
    bool rate_limited = false;  // the link was still busy with earlier packets

    bool operator==(const Decision&) const = default;
};

class Model {
public:
    explicit Model(const ModelSettings& settings);  // validates

    // Decides the fate of a packet of `bytes` arriving at now_us. Times must not go backwards.
    Decision decide(uint64_t now_us, size_t bytes);

    // Throws std::invalid_argument outside 0..1.
    void set_loss(double loss);
    const ModelSettings& settings() const noexcept { return settings_; }

    // Packets decided but not yet released at now_us (what queue_limit bounds).
    size_t held(uint64_t now_us);

private:
    // Uniform in [0, 1) from the top 53 bits: the same on every standard library, unlike
    // std::uniform_real_distribution.
    double next_unit() noexcept;
    void forget_released(uint64_t now_us);

    ModelSettings settings_;
    std::mt19937_64 random_;
    double link_free_us_ = 0;  // when the link finishes serializing the packets it has
    std::priority_queue<uint64_t, std::vector<uint64_t>, std::greater<>> held_release_us_;
};

}  // namespace om::netsim
