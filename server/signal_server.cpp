#include "signal_server.hpp"

#include "http/http_routes.hpp"
#include "http/http_service.hpp"
#include "hub/hub.hpp"
#include "net/reactor_pool.hpp"

namespace om::server {

SignalServer::SignalServer(ServerConfig config) : config_(std::move(config)) {}

SignalServer::~SignalServer() { stop(); }

void SignalServer::start() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (running_) return;
    hub_ = std::make_unique<Hub>(config_, metrics_);
    reactors_ = std::make_unique<ReactorPool>(config_, metrics_, *hub_);
    reactors_->start();
    try {
        http_ = std::make_unique<HttpService>(config_, new HttpRoutes(config_, metrics_, *hub_, *reactors_));
    } catch (...) {
        reactors_->stop();
        throw;
    }
    http_port_ = http_->port();
    running_ = true;
}

void SignalServer::stop() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!running_) return;
    http_->stop();    // no new upgrades
    reactors_->stop(); // every connection closed, the hub told
    http_.reset();
    reactors_.reset();
    running_ = false;
}

int SignalServer::http_port() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return running_ ? http_port_ : -1;
}

bool SignalServer::running() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return running_;
}

std::vector<std::string> SignalServer::agent_ids() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return hub_ ? hub_->agent_ids() : std::vector<std::string>{};
}

} // namespace om::server
