// An unordered_map that keeps the nodes of erased entries and reuses them for the next inserts
// (C++17 node handles), so a map whose entries come and go at a steady count allocates nothing
// once warm. The loop's timers and each plugin's timers are re-armed several times per packet.
#pragma once

#include <cstddef>
#include <unordered_map>
#include <utility>
#include <vector>

namespace om {

template <class Key, class Value>
class RecyclingMap {
public:
    using Map = std::unordered_map<Key, Value>;
    using iterator = typename Map::iterator;

    // Adds key, which must not be there yet (timer ids are never reused): no lookup first.
    void insert_new(const Key& key, Value value)
    {
        if (spares_.empty()) {
            map_.emplace(key, std::move(value));
            return;
        }
        typename Map::node_type node = std::move(spares_.back());
        spares_.pop_back();
        node.key() = key;
        node.mapped() = std::move(value);
        map_.insert(std::move(node));
    }

    iterator find(const Key& key) { return map_.find(key); }
    iterator end() noexcept { return map_.end(); }
    size_t size() const noexcept { return map_.size(); }
    bool empty() const noexcept { return map_.empty(); }
    const Map& entries() const noexcept { return map_; }

    // Erases the entry, keeping its node (its value is reset first: nothing it owned lingers).
    void erase(iterator it)
    {
        typename Map::node_type node = map_.extract(it);
        node.mapped() = Value{};
        if (spares_.size() < kMaxSpares) spares_.push_back(std::move(node));
    }
    bool erase(const Key& key)
    {
        auto it = map_.find(key);
        if (it == map_.end()) return false;
        erase(it);
        return true;
    }
    void clear()
    {
        map_.clear();
        spares_.clear();
    }

private:
    static constexpr size_t kMaxSpares = 64;  // after a burst of timers, the rest is freed
    Map map_;
    std::vector<typename Map::node_type> spares_;
};

} // namespace om
