// A few reactor threads; adopted sockets go to them round-robin.
#pragma once

#include "net/reactor.hpp"

#include <atomic>
#include <memory>
#include <vector>

namespace om::server {

class ReactorPool {
public:
    ReactorPool(const ServerConfig& config, ServerMetrics& metrics, ConnectionEvents& events);
    void start();
    void stop();
    void adopt(int fd);

private:
    std::vector<std::unique_ptr<Reactor>> reactors_;
    std::atomic<size_t> next_{0};
};

} // namespace om::server
