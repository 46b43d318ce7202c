// A real coturn (`turnserver` from Debian) for one test, on 127.0.0.1 and a free port, with
// loopback peers allowed (TOOLCHAIN.md "coturn in tests"). Either a static user (long-term
// credentials) or a shared secret (coturn's use-auth-secret, time-limited credentials). Killed
// in the destructor; its log stays in a temporary file for a failing test's INFO.
#pragma once

#include <string>
#include <vector>

namespace om::test {

struct CoturnOptions {
    std::string realm = "orbitmesh.test";
    std::string user;    // "name:password" (static long-term credentials)
    std::string secret;  // static-auth-secret (time-limited credentials)
    std::vector<std::string> extra;  // more turnserver arguments
};

class CoturnProcess {
public:
    explicit CoturnProcess(const CoturnOptions& options);
    ~CoturnProcess();
    CoturnProcess(const CoturnProcess&) = delete;
    CoturnProcess& operator=(const CoturnProcess&) = delete;

    // Whether `turnserver` is installed; a test says SKIPPED loudly when it is not.
    static bool available();
    int port() const { return port_; }
    std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
    std::string log() const;

private:
    int pid_ = -1;
    int port_ = 0;
    std::string log_path_;
};

// A free UDP port on 127.0.0.1 (bound and released: another process could take it meanwhile,
// which the callers' start-up checks notice).
int free_udp_port();

}  // namespace om::test
