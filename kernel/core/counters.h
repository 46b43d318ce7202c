// Named monotonically increasing counters of one agent ("transport.datagrams_received").
// Written on the loop thread, read from any thread. Hot paths keep the returned reference.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace om {

// std::hash over anything that views as a string, so a lookup by string_view or const char*
// finds a std::string key without building one (C++20 heterogeneous lookup).
struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view text) const noexcept { return std::hash<std::string_view>{}(text); }
};

class Counters {
public:
    std::atomic<uint64_t>& counter(std::string_view name);
    void add(std::string_view name, int64_t delta) { apply(counter(name), delta); }
    uint64_t get(std::string_view name) const;
    std::string to_json() const;  // {"name": value, ...} sorted by name

    static void apply(std::atomic<uint64_t>& c, int64_t delta)
    {
        if (delta >= 0) c.fetch_add(static_cast<uint64_t>(delta), std::memory_order_relaxed);
        else c.fetch_sub(static_cast<uint64_t>(-delta), std::memory_order_relaxed);
    }

private:
    mutable std::mutex mutex_;
    // std::map nodes never move, so references handed out stay valid; the map keeps to_json
    // sorted, the hashed index makes a lookup by name one hash (it runs several times a packet).
    std::map<std::string, std::atomic<uint64_t>, std::less<>> values_;
    std::unordered_map<std::string_view, std::atomic<uint64_t>*> index_;
};

} // namespace om
