#include "netsim_model.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace om::netsim {
namespace {

constexpr double kMicrosPerMilli = 1000.0;

void require(bool ok, const char* name, const char* range)
{
    if (!ok) throw std::invalid_argument(std::string(name) + " must be " + range);
}

bool is_probability(double p) { return p >= 0.0 && p <= 1.0; }  // false for NaN
bool is_duration(double ms) { return ms >= 0.0 && std::isfinite(ms); }

}  // namespace

void validate(const ModelSettings& s)
{
    require(is_duration(s.delay_ms), "delay_ms", "a finite number of milliseconds >= 0");
    require(is_duration(s.jitter_ms), "jitter_ms", "a finite number of milliseconds >= 0");
    require(is_duration(s.reorder_gap_ms), "reorder_gap_ms", "a finite number of milliseconds >= 0");
    require(is_probability(s.loss), "loss", "between 0 and 1");
    require(is_probability(s.duplicate), "duplicate", "between 0 and 1");
    require(is_probability(s.reorder), "reorder", "between 0 and 1");
    require(s.queue_limit >= 1, "queue_limit", "at least 1");
}

Model::Model(const ModelSettings& settings) : settings_(settings), random_(settings.seed)
{
    validate(settings_);
}

void Model::set_loss(double loss)
{
    require(is_probability(loss), "loss", "between 0 and 1");
    settings_.loss = loss;
}

double Model::next_unit() noexcept
{
    return static_cast<double>(random_() >> 11) * 0x1.0p-53;
}

void Model::forget_released(uint64_t now_us)
{
    while (!held_release_us_.empty() && held_release_us_.top() <= now_us) held_release_us_.pop();
}

size_t Model::held(uint64_t now_us)
{
    forget_released(now_us);
    return held_release_us_.size();
}

Decision Model::decide(uint64_t now_us, size_t bytes)
{
    forget_released(now_us);
    // The same five draws for every packet, whatever the settings: changing one probability
    // (set_loss mid-run) never shifts the random stream of the others.
    const double loss_draw = next_unit();
    const double duplicate_draw = next_unit();
    const double reorder_draw = next_unit();
    const std::array<double, Decision::kMaxCopies> jitter_draws{next_unit(), next_unit()};

    Decision decision;
    if (loss_draw < settings_.loss) {
        decision.fate = Fate::lost;
        return decision;
    }
    const bool reorder = reorder_draw < settings_.reorder;
    const uint32_t wanted_copies = duplicate_draw < settings_.duplicate ? 2 : 1;
    const double now = static_cast<double>(now_us);
    const double transmit_us =
        settings_.rate_kbps == 0 ? 0.0 : static_cast<double>(bytes) * 8.0 * kMicrosPerMilli / static_cast<double>(settings_.rate_kbps);

    for (uint32_t copy = 0; copy < wanted_copies; ++copy) {
        const bool link_busy = settings_.rate_kbps != 0 && link_free_us_ > now;
        const double departs = std::max(now, link_free_us_) + transmit_us;
        const double jitter = settings_.jitter_ms * (2.0 * jitter_draws[copy] - 1.0);
        double delay_ms = std::max(0.0, settings_.delay_ms + jitter);
        if (reorder && copy == 0) delay_ms += settings_.reorder_gap_ms;
        const uint64_t release = static_cast<uint64_t>(std::llround(departs + delay_ms * kMicrosPerMilli));

        const bool holds = release > now_us;
        if (holds && held_release_us_.size() >= settings_.queue_limit) {
            if (copy == 0) decision.fate = Fate::queue_full;
            break;  // a duplicate that finds the queue full is simply not made
        }
        if (settings_.rate_kbps != 0) link_free_us_ = departs;
        if (holds) held_release_us_.push(release);
        decision.release_us[copy] = release;
        decision.copies = copy + 1;
        decision.delayed = decision.delayed || holds;
        decision.rate_limited = decision.rate_limited || link_busy;
    }
    if (decision.fate == Fate::delivered) {
        decision.duplicated = decision.copies == 2;
        decision.reordered = reorder;
    }
    return decision;
}

}  // namespace om::netsim
