// The composition root of a running server: HTTP (Poco HTTPServer, a few threads), the
// reactor pool that serves upgraded WebSockets, the hub that routes messages, the counters.
#pragma once

#include "hub/server_config.hpp"
#include "hub/server_metrics.hpp"

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace om::server {

class Hub;
class ReactorPool;
class HttpService;

class SignalServer {
public:
    explicit SignalServer(ServerConfig config);
    ~SignalServer();

    void start(); // listens; returns once serving
    void stop();  // idempotent
    int http_port() const;
    bool running() const;
    ServerMetrics& metrics() { return metrics_; }
    std::vector<std::string> agent_ids() const;

private:
    ServerConfig config_;
    ServerMetrics metrics_;
    std::unique_ptr<Hub> hub_;
    std::unique_ptr<ReactorPool> reactors_;
    std::unique_ptr<HttpService> http_;
    mutable std::mutex mutex_;
    bool running_ = false;
    int http_port_ = 0;
};

} // namespace om::server
