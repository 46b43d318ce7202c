#include "signal_server.hpp"

#include "http/http_routes.hpp"
#include "http/http_service.hpp"
#include "hub/hub.hpp"
#include "net/reactor_pool.hpp"
#include "stun/stun_server.hpp"

#include "core/error.h"
#include "proto/address.h"

namespace om::server {

SignalServer::SignalServer(ServerConfig config, StunConfig stun)
    : config_(std::move(config)), stun_config_(std::move(stun)) {}

SignalServer::~SignalServer() { stop(); }

void SignalServer::start() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (running_) return;
    // STUN first: a port in use fails start before anything else listens, and the upgrade
    // answer can name the port actually bound.
    stun_ports_ = {};
    if (stun_config_.enabled()) {
        stun_ = std::make_unique<StunServer>(stun_config_, metrics_);
        try {
            stun_->start();
        } catch (...) {
            stun_.reset();
            throw;
        }
        stun_ports_ = {stun_->port(), stun_->alt_port()};
    }
    // With a TURN secret and the embedded relay, agents are handed this server's own relay.
    if (!config_.turn_secret.empty() && config_.turn_address.empty() && stun_ && stun_->relay()) {
        om_address relay{};
        if (proto::parse_address(stun_config_.bind, stun_ports_.port, relay)) {
            relay.port = stun_ports_.port;
            config_.turn_address = proto::format_address(relay);
        }
    }
    try {
        hub_ = std::make_unique<Hub>(config_, metrics_);
        reactors_ = std::make_unique<ReactorPool>(config_, metrics_, *hub_);
        reactors_->start();
        try {
            http_ = std::make_unique<HttpService>(
                config_, new HttpRoutes(config_, metrics_, *hub_, *reactors_, stun_ports_.port));
        } catch (...) {
            reactors_->stop();
            throw;
        }
    } catch (...) {
        stun_.reset();
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
    stun_.reset(); // stops and joins its threads
    running_ = false;
}

int SignalServer::http_port() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return running_ ? http_port_ : -1;
}

StunPorts SignalServer::stun_ports() const {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!running_) om::fail(OM_ERR_STATE, "the server is not running");
    return stun_ports_;
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
