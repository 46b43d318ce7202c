#include "core/counters.h"

#include <Poco/JSON/Object.h>

#include <sstream>

namespace om {

std::atomic<uint64_t>& Counters::counter(std::string_view name)
{
    std::lock_guard<std::mutex> lock(mutex_);
    if (auto found = index_.find(name); found != index_.end()) return *found->second;
    auto it = values_.try_emplace(std::string(name), 0).first;
    index_.emplace(it->first, &it->second);  // the view is of the node's own key
    return it->second;
}

uint64_t Counters::get(std::string_view name) const
{
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = values_.find(name);
    return it == values_.end() ? 0 : it->second.load(std::memory_order_relaxed);
}

std::string Counters::to_json() const
{
    Poco::JSON::Object object(Poco::JSON_PRESERVE_KEY_ORDER);
    {
        std::lock_guard<std::mutex> lock(mutex_);
        for (const auto& [name, value] : values_) object.set(name, Poco::UInt64(value.load(std::memory_order_relaxed)));
    }
    std::ostringstream out;
    object.stringify(out);
    return out.str();
}

} // namespace om
