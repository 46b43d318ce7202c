// Poco's HTTPServer on bind:port with a small thread pool and a request timeout, so a client
// that never finishes its request (or its upgrade) holds a thread for at most http_timeout.
#pragma once

#include <Poco/Net/HTTPServer.h>
#include <Poco/ThreadPool.h>

#include <memory>

namespace om::server {

class HttpRoutes;
struct ServerConfig;

class HttpService {
public:
    HttpService(const ServerConfig& config, HttpRoutes* routes); // takes ownership of routes
    ~HttpService();
    int port() const { return port_; }
    void stop();

private:
    Poco::ThreadPool pool_;
    std::unique_ptr<Poco::Net::HTTPServer> server_;
    int port_ = 0;
};

} // namespace om::server
