// A real orbitmesh-server for one test: started on 127.0.0.1 with --http-port 0, its output
// captured in a file, the port read from its "listening on" line; stopped with SIGTERM (the
// exit code is returned) and killed in the destructor if still running.
#pragma once

#include <string>
#include <vector>

namespace om::test {

class ServerProcess {
public:
    // wrapper: a command the server runs under (e.g. {"ip", "netns", "exec", NAME}), which must
    // exec it (the pid stays the server's).
    explicit ServerProcess(std::vector<std::string> extra_args = {"--open"}, std::vector<std::string> wrapper = {});
    ~ServerProcess();
    ServerProcess(const ServerProcess&) = delete;
    ServerProcess& operator=(const ServerProcess&) = delete;

    int port() const { return port_; }
    // The embedded STUN server's ports from its start line ("--stun-port -1" picks one); 0 = off.
    int stun_port() const { return stun_port_; }
    int stun_alt_port() const { return stun_alt_port_; }
    std::string output() const; // stdout and stderr so far
    // SIGTERM, then waits up to 10 s; returns the exit code (or 128 + signal, -1 if it hung).
    int terminate();

private:
    int pid_ = -1;
    int port_ = 0;
    int stun_port_ = 0;
    int stun_alt_port_ = 0;
    std::string log_path_;
};

// GET on 127.0.0.1:port; status and body.
struct HttpReply {
    int status = 0;
    std::string body;
};
HttpReply http_get(int port, const std::string& path, const std::string& bearer = "");

// A sample of the Prometheus text ("orbitmesh_rate_limited_total", or with its label set
// "orbitmesh_errors_total{kind=\"unknown_type\"}"); 0 when absent.
double metric_value(const std::string& metrics_text, const std::string& sample);

// /metrics of the server on port, fetched again until sample reaches at_least or timeout_ms
// runs out (then the last text). The server reads each connection on its own reactor, so a
// burst a client has written may still be in flight when another connection asks.
std::string metrics_when(int port, const std::string& sample, double at_least, int timeout_ms = 10000);

// HS256 tokens as the server checks them; ttl may be negative (already expired).
std::string make_token(const std::string& secret, const std::string& subject, long ttl_seconds);

} // namespace om::test
