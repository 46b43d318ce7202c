#include "http/signal_upgrade.hpp"

#include "hub/server_metrics.hpp"
#include "net/reactor_pool.hpp"

#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/WebSocket.h>

#include <fcntl.h>
#include <unistd.h>

namespace om::server {
namespace {

constexpr const char* kStunPortHeader = "X-OrbitMesh-Stun-Port";

} // namespace

void SignalUpgrade::handleRequest(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response) {
    int fd = -1;
    if (stun_port_ > 0) response.set(kStunPortHeader, std::to_string(stun_port_));
    try {
        Poco::Net::WebSocket ws(request, response); // sends 101 Switching Protocols
        fd = ::fcntl(ws.impl()->sockfd(), F_DUPFD_CLOEXEC, 0);
        // ws closes Poco's descriptor when it goes out of scope; the duplicate keeps the
        // connection. Bytes a client sent before reading the 101 stay in Poco's buffer and are
        // lost: a client must wait for the handshake answer (RFC 6455 §4.1).
    } catch (const Poco::Net::WebSocketException& e) {
        metrics_.add(metric::errors("bad_upgrade"));
        response.erase(kStunPortHeader);
        response.setStatusAndReason(Poco::Net::HTTPResponse::HTTP_BAD_REQUEST);
        response.setContentLength(0);
        response.send();
        return;
    }
    if (fd < 0) {
        metrics_.add(metric::errors("upgrade_dup_failed"));
        return;
    }
    reactors_.adopt(fd);
}

} // namespace om::server
