#include "hub/server_metrics.hpp"

#include <sstream>

namespace om::server {
namespace {

// A family of counters that share a prefix becomes one Prometheus metric with a label.
struct LabelledFamily {
    std::string_view prefix;
    std::string_view metric;
    std::string_view label;
};

constexpr LabelledFamily labelled_families[] = {
    {"frames.in.", "orbitmesh_frames_in_total", "type"},
    {"frames.out.", "orbitmesh_frames_out_total", "type"},
    {"errors.", "orbitmesh_errors_total", "kind"},
    {"auth.failures.", "orbitmesh_auth_failures_by_reason_total", "reason"},
    {"agents.nat.", "orbitmesh_registrations_by_nat_total", "nat_type"},
    {"turn.refused.", "orbitmesh_turn_refused_total", "reason"},
    {"turn.dropped.", "orbitmesh_turn_dropped_total", "reason"},
};

constexpr std::string_view gauges[] = {"agents.connected", "connections.open", "turn.allocations"};

std::string metric_name(std::string_view dotted) {
    std::string name = "orbitmesh_";
    for (char c : dotted) name += (c == '.' || c == '-') ? '_' : c;
    return name;
}

bool is_gauge(std::string_view name) {
    for (std::string_view g : gauges)
        if (g == name) return true;
    return false;
}

} // namespace

std::atomic<uint64_t>& ServerMetrics::counter(std::string_view name) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = values_.find(name);
    if (it == values_.end()) it = values_.try_emplace(std::string(name), 0).first;
    return it->second;
}

uint64_t ServerMetrics::get(std::string_view name) const {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = values_.find(name);
    return it == values_.end() ? 0 : it->second.load(std::memory_order_relaxed);
}

std::vector<std::pair<std::string, uint64_t>> ServerMetrics::snapshot() const {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<std::pair<std::string, uint64_t>> out;
    out.reserve(values_.size());
    for (const auto& [name, value] : values_) out.emplace_back(name, value.load(std::memory_order_relaxed));
    return out;
}

std::string ServerMetrics::prometheus_text() const {
    std::map<std::string, std::vector<std::string>> families; // metric name -> sample lines
    std::map<std::string, const char*> types;
    for (const auto& [name, value] : snapshot()) {
        bool labelled = false;
        for (const LabelledFamily& f : labelled_families) {
            if (name.rfind(f.prefix, 0) != 0) continue;
            std::string metric(f.metric);
            families[metric].push_back(metric + "{" + std::string(f.label) + "=\"" +
                                       name.substr(f.prefix.size()) + "\"} " + std::to_string(value));
            types[metric] = "counter";
            labelled = true;
            break;
        }
        if (labelled) continue;
        std::string metric = metric_name(name) + (is_gauge(name) ? "" : "_total");
        families[metric].push_back(metric + " " + std::to_string(value));
        types[metric] = is_gauge(name) ? "gauge" : "counter";
    }
    std::ostringstream out;
    for (const auto& [metric, lines] : families) {
        out << "# TYPE " << metric << ' ' << types[metric] << '\n';
        for (const std::string& line : lines) out << line << '\n';
    }
    return out.str();
}

} // namespace om::server
