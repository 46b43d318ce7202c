#include "server_process.hpp"

#include <Poco/JWT/Signer.h>
#include <Poco/JWT/Token.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>

#ifndef OM_SERVER_BINARY
#error "OM_SERVER_BINARY names the orbitmesh-server to test"
#endif

namespace om::test {

ServerProcess::ServerProcess(std::vector<std::string> extra_args, std::vector<std::string> wrapper) {
    char path[] = "/tmp/om-server-test-XXXXXX";
    int log_fd = ::mkstemp(path);
    if (log_fd < 0) throw std::runtime_error("mkstemp failed");
    log_path_ = path;
    std::vector<std::string> args = {OM_SERVER_BINARY, "--bind", "127.0.0.1", "--http-port", "0", "--stun-port", "0"};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    args.insert(args.begin(), wrapper.begin(), wrapper.end());
    pid_ = ::fork();
    if (pid_ == 0) {
        ::dup2(log_fd, 1);
        ::dup2(log_fd, 2);
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        for (const char* name : {"ORBITMESH_CONFIG", "ORBITMESH_SECRET", "ORBITMESH_OPEN"}) ::unsetenv(name);
        ::execvp(argv[0], argv.data());
        ::_exit(127);
    }
    ::close(log_fd);
    const std::regex listening("listening on http://\\S+:([0-9]+)");
    const std::regex stun("STUN on udp \\S+:([0-9]+)( alt-port ([0-9]+))?");
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
        std::smatch m;
        std::string text = output();
        if (std::regex_search(text, m, listening)) {
            port_ = std::stoi(m[1]);
            if (std::regex_search(text, m, stun)) {
                stun_port_ = std::stoi(m[1]);
                if (m[3].matched) stun_alt_port_ = std::stoi(m[3]);
            }
            return;
        }
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            throw std::runtime_error("orbitmesh-server exited at start: " + text);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    throw std::runtime_error("orbitmesh-server did not start: " + output());
}

ServerProcess::~ServerProcess() {
    if (pid_ > 0) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
    }
    ::unlink(log_path_.c_str());
}

std::string ServerProcess::output() const {
    std::ifstream in(log_path_);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

int ServerProcess::terminate() {
    if (pid_ <= 0) return -1;
    ::kill(pid_, SIGTERM);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            if (WIFEXITED(status)) return WEXITSTATUS(status);
            return 128 + WTERMSIG(status);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    // Say why, for a failure that only shows on a loaded machine: the server's own log.
    std::fprintf(stderr, "orbitmesh-server (pid %d) did not exit within 10 s of SIGTERM; its log:\n%s\n",
                 static_cast<int>(pid_), output().c_str());
    // ... and where it hangs, when gdb is there to ask (the first such hang was Poco's 10 s
    // dispatcher idle time).
    std::system(("command -v gdb >/dev/null && gdb -p " + std::to_string(pid_) +
                 " -batch -ex 'thread apply all bt' 1>&2 2>/dev/null").c_str());
    return -1; // the destructor kills it
}

HttpReply http_get(int port, const std::string& path, const std::string& bearer) {
    Poco::Net::HTTPClientSession session("127.0.0.1", static_cast<Poco::UInt16>(port));
    session.setTimeout(Poco::Timespan(5, 0));
    Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_GET, path, Poco::Net::HTTPMessage::HTTP_1_1);
    if (!bearer.empty()) request.set("Authorization", "Bearer " + bearer);
    session.sendRequest(request);
    Poco::Net::HTTPResponse response;
    std::istream& body = session.receiveResponse(response);
    HttpReply reply;
    reply.status = static_cast<int>(response.getStatus());
    std::ostringstream text;
    Poco::StreamCopier::copyStream(body, text);
    reply.body = text.str();
    return reply;
}

double metric_value(const std::string& text, const std::string& sample) {
    std::istringstream lines(text);
    std::string line;
    while (std::getline(lines, line)) {
        if (line.rfind(sample + " ", 0) == 0) return std::atof(line.c_str() + sample.size() + 1);
    }
    return 0;
}

std::string metrics_when(int port, const std::string& sample, double at_least, int timeout_ms) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    std::string text = http_get(port, "/metrics").body;
    while (metric_value(text, sample) < at_least && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        text = http_get(port, "/metrics").body;
    }
    return text;
}

std::string make_token(const std::string& secret, const std::string& subject, long ttl_seconds) {
    Poco::JWT::Token token;
    token.setSubject(subject);
    token.setExpiration(Poco::Timestamp() + Poco::Timespan(ttl_seconds, 0));
    Poco::JWT::Signer signer(secret);
    return signer.sign(token, Poco::JWT::Signer::ALGO_HS256);
}

} // namespace om::test
