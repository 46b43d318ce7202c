#include "coturn_process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace om::test {
namespace {

// True once a STUN Binding request to 127.0.0.1:port is answered (coturn is up).
bool answers_binding(int port)
{
    const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) return false;
    timeval tv{0, 100'000};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(static_cast<uint16_t>(port));
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    // RFC 8489 §5: a Binding request, no attributes, a fixed transaction id.
    const unsigned char request[20] = {0, 1, 0, 0, 0x21, 0x12, 0xA4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    ::sendto(fd, request, sizeof request, 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
    unsigned char reply[512];
    const ssize_t n = ::recv(fd, reply, sizeof reply, 0);
    ::close(fd);
    return n >= 20 && reply[0] == 0x01 && reply[1] == 0x01;
}

// True once a TCP connection to 127.0.0.1:port is accepted (a coturn without UDP listeners).
bool accepts_tcp(int port)
{
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(static_cast<uint16_t>(port));
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) == 0;
    ::close(fd);
    if (!ok) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    return ok;
}

}  // namespace

int free_udp_port()
{
    const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(fd);
    return ntohs(a.sin_port);
}

bool CoturnProcess::available() { return std::system("command -v turnserver >/dev/null 2>&1") == 0; }

CoturnProcess::CoturnProcess(const CoturnOptions& options)
{
    char path[] = "/tmp/om-coturn-XXXXXX";
    const int log_fd = ::mkstemp(path);
    if (log_fd < 0) throw std::runtime_error("mkstemp failed");
    log_path_ = path;
    const bool tcp_only = std::find(options.extra.begin(), options.extra.end(), "--no-udp") != options.extra.end();
    for (int attempt = 0; attempt < 3 && pid_ < 0; ++attempt) {
        port_ = free_udp_port();
        // Relay ports from a range of their own above the listening port's neighbourhood.
        const int relay_min = 40000 + (port_ % 200) * 100;
        std::vector<std::string> args = {"turnserver", "-n", "--no-cli", "--no-tls", "--no-dtls",
                                         "--listening-ip", "127.0.0.1", "--relay-ip", "127.0.0.1",
                                         "--listening-port", std::to_string(port_),
                                         "--min-port", std::to_string(relay_min), "--max-port", std::to_string(relay_min + 99),
                                         "--allow-loopback-peers", "--fingerprint", "--realm", options.realm,
                                         "--log-file", "stdout", "--simple-log", "-v"};
        if (!options.secret.empty()) {
            args.insert(args.end(), {"--use-auth-secret", "--static-auth-secret", options.secret});
        } else {
            args.insert(args.end(), {"--lt-cred-mech", "--user", options.user});
        }
        args.insert(args.end(), options.extra.begin(), options.extra.end());
        const pid_t pid = ::fork();
        if (pid == 0) {
            ::dup2(log_fd, 1);
            ::dup2(log_fd, 2);
            std::vector<char*> argv;
            for (auto& a : args) argv.push_back(a.data());
            argv.push_back(nullptr);
            ::execvp("turnserver", argv.data());
            ::_exit(127);
        }
        pid_ = pid;
        const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        bool up = false;
        while (!up && std::chrono::steady_clock::now() < until) {
            int status = 0;
            if (::waitpid(pid_, &status, WNOHANG) == pid_) break;  // exited (port taken?)
            up = tcp_only ? accepts_tcp(port_) : answers_binding(port_);
        }
        if (!up) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
            pid_ = -1;
        }
    }
    ::close(log_fd);
    if (pid_ < 0) throw std::runtime_error("coturn did not start: " + log());
}

CoturnProcess::~CoturnProcess()
{
    if (pid_ > 0) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
    }
    if (!log_path_.empty()) ::unlink(log_path_.c_str());
}

std::string CoturnProcess::log() const
{
    std::ifstream in(log_path_);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

}  // namespace om::test
