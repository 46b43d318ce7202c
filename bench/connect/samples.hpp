// Samples of one measured quantity and their nearest-rank percentiles, printed as a JSON object
// and as a row of the human table.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

namespace bench {

class Samples {
public:
    void add(double value) { values_.push_back(value); }
    size_t size() const { return values_.size(); }
    bool empty() const { return values_.empty(); }

    // Nearest rank (p in 0..100); NaN without samples.
    double percentile(double p) const
    {
        if (values_.empty()) return std::nan("");
        std::vector<double> sorted = values_;
        std::sort(sorted.begin(), sorted.end());
        size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * double(sorted.size())));
        return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1];
    }
    double p50() const { return percentile(50); }

    // {"n":..,"p50":..,"p90":..,"p99":..,"max":..} in milliseconds, 3 decimals.
    std::string json() const
    {
        if (values_.empty()) return "{\"n\":0}";
        char buf[160];
        std::snprintf(buf, sizeof buf, "{\"n\":%zu,\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f,\"max\":%.3f}", values_.size(),
                      percentile(50), percentile(90), percentile(99), percentile(100));
        return buf;
    }

    std::string row(const std::string& name) const
    {
        char buf[200];
        std::snprintf(buf, sizeof buf, "%-44s %5zu %9.3f %9.3f %9.3f %9.3f", name.c_str(), values_.size(), percentile(50),
                      percentile(90), percentile(99), percentile(100));
        return buf;
    }

private:
    std::vector<double> values_;
};

} // namespace bench
