// The composition root of a running server: HTTP (Poco HTTPServer, a few threads), the
// reactor pool that serves upgraded WebSockets, the hub that routes messages, the embedded STUN
// server (its own UDP threads), the counters.
#pragma once

#include "hub/server_config.hpp"
#include "hub/server_metrics.hpp"
#include "stun/stun_config.hpp"

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace om::server {

class Hub;
class ReactorPool;
class HttpService;
class StunServer;

struct StunPorts {
    int port = 0;     // 0: STUN is off
    int alt_port = 0; // 0: no alternate port
};

class SignalServer {
public:
    SignalServer(ServerConfig config, StunConfig stun);
    ~SignalServer();

    void start(); // listens; returns once serving
    void stop();  // idempotent
    int http_port() const;
    StunPorts stun_ports() const; // throws om::Error(OM_ERR_STATE) when not running
    bool running() const;
    ServerMetrics& metrics() { return metrics_; }
    std::vector<std::string> agent_ids() const;

private:
    ServerConfig config_;
    StunConfig stun_config_;
    ServerMetrics metrics_;
    std::unique_ptr<Hub> hub_;
    std::unique_ptr<ReactorPool> reactors_;
    std::unique_ptr<HttpService> http_;
    std::unique_ptr<StunServer> stun_;
    StunPorts stun_ports_;
    mutable std::mutex mutex_;
    bool running_ = false;
    int http_port_ = 0;
};

} // namespace om::server
