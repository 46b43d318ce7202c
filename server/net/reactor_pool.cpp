#include "net/reactor_pool.hpp"

#include "hub/server_config.hpp"

#include <thread>

namespace om::server {

ReactorPool::ReactorPool(const ServerConfig& config, ServerMetrics& metrics, ConnectionEvents& events) {
    int n = config.reactor_threads > 0 ? config.reactor_threads
                                       : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    for (int i = 0; i < n; ++i) reactors_.push_back(std::make_unique<Reactor>(config, metrics, events));
}

void ReactorPool::start() {
    for (auto& r : reactors_) r->start();
}

void ReactorPool::stop() {
    for (auto& r : reactors_) r->stop();
}

void ReactorPool::adopt(int fd) {
    reactors_[next_.fetch_add(1, std::memory_order_relaxed) % reactors_.size()]->adopt(fd);
}

} // namespace om::server
