// GET /v1/signal: the WebSocket opening handshake (RFC 6455 §4.2), done by Poco, then the
// socket leaves Poco: its descriptor is duplicated, made non-blocking and adopted by one
// reactor thread (round-robin). The HTTP thread returns at once; no thread per connection.
// When the embedded STUN server runs, the 101 carries `X-OrbitMesh-Stun-Port: <port>`: agents
// use their server URL's host with that port for NAT discovery.
#pragma once

#include <Poco/Net/HTTPRequestHandler.h>

namespace om::server {

class ReactorPool;
class ServerMetrics;

class SignalUpgrade : public Poco::Net::HTTPRequestHandler {
public:
    SignalUpgrade(ServerMetrics& metrics, ReactorPool& reactors, int stun_port)
        : metrics_(metrics), reactors_(reactors), stun_port_(stun_port) {}
    void handleRequest(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response) override;

private:
    ServerMetrics& metrics_;
    ReactorPool& reactors_;
    int stun_port_; // 0: STUN is off, no header
};

} // namespace om::server
