#include "http/http_service.hpp"

#include "http/http_routes.hpp"
#include "hub/server_config.hpp"

#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>

namespace om::server {

HttpService::HttpService(const ServerConfig& config, HttpRoutes* routes)
    : pool_("om-http", 1, config.http_threads) {
    Poco::Net::HTTPRequestHandlerFactory::Ptr factory(routes);
    Poco::Net::ServerSocket socket;
    socket.bind(Poco::Net::SocketAddress(config.bind, static_cast<Poco::UInt16>(config.http_port)), true);
    socket.listen(1024);
    port_ = socket.address().port();
    auto* params = new Poco::Net::HTTPServerParams;
    params->setMaxThreads(config.http_threads);
    params->setMaxQueued(1024);
    params->setKeepAlive(false);
    params->setTimeout(Poco::Timespan(config.http_timeout.count() * 1000));
    // Poco's dispatcher threads wait for work this long before they look at the stop flag: with
    // its default of 10 s, stop() (and so SIGTERM) now and then hung 10 s in joinAll() while a
    // dispatcher sat out its idle wait.
    params->setThreadIdleTime(Poco::Timespan(0, 250 * 1000));
    server_ = std::make_unique<Poco::Net::HTTPServer>(factory, pool_, socket, params);
    server_->start();
}

HttpService::~HttpService() { stop(); }

void HttpService::stop() {
    if (!server_) return;
    server_->stopAll(true);
    server_.reset();
    pool_.joinAll();
}

} // namespace om::server
