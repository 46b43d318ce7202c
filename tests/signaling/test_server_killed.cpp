// The real orbitmesh-server process, killed with SIGKILL mid-session and started again on the
// same port: agents notice, back off, reconnect, and relaying resumes.
#include "harness.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace {

int free_loopback_port()
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    socklen_t len = sizeof addr;
    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    close(fd);
    return ntohs(addr.sin_port);
}

bool accepting(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    close(fd);
    return ok;
}

// A server process that is always reaped, even when the test fails.
struct ServerProcess {
    pid_t pid = -1;
    explicit ServerProcess(int port)
    {
        std::string p = std::to_string(port);
        const char* argv[] = {OM_TEST_SERVER_BINARY, "--bind", "127.0.0.1", "--http-port", p.c_str(),
                              "--stun-port", "0", "--open", nullptr};
        REQUIRE(posix_spawn(&pid, OM_TEST_SERVER_BINARY, nullptr, nullptr, const_cast<char**>(argv), environ) == 0);
        for (int i = 0; i < 100 && !accepting(port); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
        REQUIRE(accepting(port));
    }
    void kill_hard()
    {
        if (pid <= 0) return;
        ::kill(pid, SIGKILL);
        waitpid(pid, nullptr, 0);
        pid = -1;
    }
    ~ServerProcess() { kill_hard(); }
};

} // namespace

TEST_CASE("a SIGKILLed server comes back and the agents resume relaying", "[reconnect][process]")
{
    const int port = free_loopback_port();
    const std::string url = "ws://127.0.0.1:" + std::to_string(port);
    auto server = std::make_unique<ServerProcess>(port);
    test::RecordingAgent a(url, "ka"), b(url, "kb");
    a.agent->connect();
    b.agent->connect();
    a.agent->connect_peer("kb", OM_TRANSPORT_SERVER_RELAY);
    a.agent->send("kb", "one");
    REQUIRE(b.wait_for(OM_EVENT_MESSAGE, 1));

    server->kill_hard();  // no close frame, no goodbye: the kernel resets the connections
    REQUIRE(a.wait_for(OM_EVENT_DISCONNECTED, 1));
    REQUIRE(b.wait_for(OM_EVENT_RECONNECTING, 1));

    server = std::make_unique<ServerProcess>(port);
    REQUIRE(a.wait_for(OM_EVENT_CONNECTED, 2, 20000));
    REQUIRE(b.wait_for(OM_EVENT_CONNECTED, 2, 20000));
    a.agent->send("kb", "two");
    REQUIRE(b.wait_for(OM_EVENT_MESSAGE, 2));
    auto got = b.of_type(OM_EVENT_MESSAGE);
    CHECK(std::string(got[1].data.begin(), got[1].data.end()) == "two");
}
