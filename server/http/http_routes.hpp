// The HTTP surface (CONTRACT.md): GET /healthz, GET /metrics, GET /v1/agents and the WebSocket
// upgrade at /v1/signal, which hands the upgraded socket to the reactor pool and returns.
#pragma once

#include <Poco/Net/HTTPRequestHandlerFactory.h>

#include <functional>

namespace om::server {

class Hub;
class ReactorPool;
class ServerMetrics;
struct ServerConfig;

class HttpRoutes : public Poco::Net::HTTPRequestHandlerFactory {
public:
    // stun_port: the embedded STUN server's UDP port, announced in the upgrade answer; 0 = off.
    HttpRoutes(const ServerConfig& config, ServerMetrics& metrics, Hub& hub, ReactorPool& reactors, int stun_port)
        : config_(config), metrics_(metrics), hub_(hub), reactors_(reactors), stun_port_(stun_port) {}

    Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest& request) override;

private:
    const ServerConfig& config_;
    ServerMetrics& metrics_;
    Hub& hub_;
    ReactorPool& reactors_;
    int stun_port_;
};

} // namespace om::server
