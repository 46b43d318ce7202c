// The embedded STUN server's abuse limits: no answer more than 64 bytes longer than its
// request (IPv4 and IPv6 on ::1), and the per-source rate limit under a flood (on 127.0.0.1,
// and with two sources in a network namespace this test makes, where other addresses are ours).
#include "stun_test_support.hpp"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <random>
#include <thread>

using namespace om::test;
namespace stun = om::proto::stun;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

namespace {

constexpr size_t kMaxGrowth = 64; // the rule shared with the nat-stun plugin

bool ipv6_loopback_usable() {
    int fd = ::socket(AF_INET6, SOCK_DGRAM, 0);
    if (fd < 0) return false;
    sockaddr_in6 sa{};
    sa.sin6_family = AF_INET6;
    sa.sin6_addr = in6addr_loopback;
    bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
    ::close(fd);
    return ok;
}

// Sends `count` requests from `flooder` as fast as it can, with one request from `other` (when
// given) after every 300; counts the answers each gets within `collect`.
struct FloodResult {
    int flooder_answers = 0;
    int other_sent = 0;
    int other_answers = 0;
    double seconds = 0;
};

int drain(const StunTestClient& client, milliseconds wait) {
    int n = 0;
    auto deadline = Clock::now() + wait;
    while (Clock::now() < deadline) {
        if (!client.receive(milliseconds(50))) continue;
        ++n;
    }
    return n;
}

FloodResult flood(const StunTestClient& flooder, const StunTestClient* other, const om_address& server, int count) {
    FloodResult r;
    const std::vector<uint8_t> request = binding_request({});
    auto start = Clock::now();
    for (int i = 0; i < count; ++i) {
        flooder.send(request, server);
        if (other && i % 300 == 0) {
            other->send(request, server);
            ++r.other_sent;
        }
    }
    r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    r.flooder_answers = drain(flooder, milliseconds(800));
    if (other) r.other_answers = drain(*other, milliseconds(200));
    return r;
}

void check_limited(const FloodResult& r, int rate) {
    INFO("answers " << r.flooder_answers << " in " << r.seconds << " s");
    // At most the burst (2 x rate) plus what refills while the flood lasts, plus slack for the
    // time the last requests spend in the server's queue.
    CHECK(r.flooder_answers <= 2 * rate + static_cast<int>(rate * (r.seconds + 0.2)) + 2);
    CHECK(r.flooder_answers >= rate); // the burst itself is answered
}

// A network namespace of our own (root and iproute2 needed), deleted whatever happens.
class Namespace {
public:
    explicit Namespace(std::string name) : name_(std::move(name)) {
        ok_ = ::geteuid() == 0 && run("ip netns add " + name_) && run("ip -n " + name_ + " link set lo up");
    }
    ~Namespace() {
        if (ok_) run("ip netns del " + name_);
    }
    bool ok() const { return ok_; }
    const std::string& name() const { return name_; }
    bool add_address(const std::string& cidr) { return run("ip -n " + name_ + " addr add " + cidr + " dev lo"); }
    // A client socket inside the namespace: made by a thread that entered it (setns affects the
    // calling thread only), then used from here.
    std::unique_ptr<StunTestClient> client(const std::string& ip) const {
        std::unique_ptr<StunTestClient> out;
        std::thread([&] {
            int ns = ::open(("/var/run/netns/" + name_).c_str(), O_RDONLY | O_CLOEXEC);
            if (ns >= 0 && ::setns(ns, CLONE_NEWNET) == 0) out = std::make_unique<StunTestClient>(ip);
            if (ns >= 0) ::close(ns);
        }).join();
        return out;
    }

private:
    static bool run(const std::string& command) { return std::system((command + " >/dev/null 2>&1").c_str()) == 0; }
    std::string name_;
    bool ok_ = false;
};

} // namespace

TEST_CASE("an answer is never more than 64 bytes longer than its request (IPv4)", "[stun][amplification]") {
    ServerProcess server(stun_args({"--stun-alt-port", "-1", "--stun-rate-limit", "0"}));
    StunTestClient client;
    // The smallest request (20 bytes) still gets every attribute over IPv4.
    std::vector<uint8_t> request = binding_request({});
    client.send(request, loopback(server.stun_port()));
    auto answer = client.receive();
    REQUIRE(answer);
    CHECK(answer->bytes.size() <= request.size() + kMaxGrowth);
    for (uint16_t type : {stun::attr::XorMappedAddress, stun::attr::MappedAddress, stun::attr::OtherAddress,
                          stun::attr::ResponseOrigin})
        CHECK(answer->has(type));

    // Random requests: PADDING, FINGERPRINT and optional attributes in any mix.
    std::mt19937 random(42);
    for (int i = 0; i < 200; ++i) {
        RequestSpec spec;
        spec.fingerprint = random() % 2;
        spec.padding = (random() % 3 == 0) ? 4 * (random() % 100) : 0;
        for (unsigned n = random() % 4; n > 0; --n) spec.unknown_required.push_back(0x8100 + n); // optional
        request = binding_request(spec);
        client.send(request, loopback(server.stun_port()));
        answer = client.receive();
        REQUIRE(answer);
        CHECK(answer->bytes.size() <= request.size() + kMaxGrowth);
        CHECK(answer->has(stun::attr::XorMappedAddress));
        if (spec.padding) CHECK(answer->has(stun::attr::Padding));
    }
}

TEST_CASE("an answer is never more than 64 bytes longer than its request (IPv6 on ::1)", "[stun][amplification]") {
    if (!ipv6_loopback_usable()) {
        WARN("SKIPPED: ::1 is not usable here");
        return;
    }
    ServerProcess server(stun_args({"--stun-alt-port", "-1"}, "::1"));
    StunTestClient client("::1");
    // 20 bytes of request leave room for XOR-MAPPED-ADDRESS and OTHER-ADDRESS only (24 each).
    std::vector<uint8_t> request = binding_request({});
    client.send(request, loopback(static_cast<uint16_t>(server.stun_port()), "::1"));
    auto answer = client.receive();
    REQUIRE(answer);
    CHECK(answer->bytes.size() <= request.size() + kMaxGrowth);
    CHECK(text(*answer->address(stun::attr::XorMappedAddress)) == text(client.local()));
    CHECK(answer->has(stun::attr::OtherAddress));
    CHECK_FALSE(answer->has(stun::attr::ResponseOrigin));
    CHECK_FALSE(answer->has(stun::attr::MappedAddress));

    // A client that wants them all pads its request; the answer is as large as the request.
    request = binding_request({.fingerprint = true, .padding = 100});
    client.send(request, loopback(static_cast<uint16_t>(server.stun_port()), "::1"));
    answer = client.receive();
    REQUIRE(answer);
    CHECK(answer->bytes.size() <= request.size());
    for (uint16_t type : {stun::attr::XorMappedAddress, stun::attr::MappedAddress, stun::attr::OtherAddress,
                          stun::attr::ResponseOrigin, stun::attr::Padding})
        CHECK(answer->has(type));
    CHECK(answer->message.has_fingerprint);
    CHECK(text(*answer->address(stun::attr::ResponseOrigin)) ==
          text(loopback(static_cast<uint16_t>(server.stun_port()), "::1")));
}

TEST_CASE("a flooding source gets at most its burst plus its rate, then is answered again", "[stun][rate_limit]") {
    const int rate = 50;
    ServerProcess server(stun_args({"--stun-rate-limit", std::to_string(rate), "--stun-threads", "2"}));
    StunTestClient flooder;
    FloodResult r = flood(flooder, nullptr, loopback(server.stun_port()), 3000);
    check_limited(r, rate);
    CHECK(stun_counter(server, "rate_limited") >= 3000 - r.flooder_answers - 50);
    // A second later the bucket has refilled.
    std::this_thread::sleep_for(milliseconds(1000));
    flooder.send(binding_request({}), loopback(server.stun_port()));
    CHECK(flooder.receive());
}

TEST_CASE("while one source floods, another source is still answered", "[stun][rate_limit][netns]") {
    Namespace ns("omstun-" + std::to_string(::getpid()));
    if (!ns.ok() || !ns.add_address("10.201.0.1/32") || !ns.add_address("10.201.0.2/32") ||
        !ns.add_address("10.201.0.3/32")) {
        WARN("SKIPPED: cannot make a network namespace here (needs root and iproute2)");
        return;
    }
    const int rate = 50;
    ServerProcess server({"--open", "--bind", "10.201.0.1", "--stun-port", "3478", "--stun-rate-limit",
                          std::to_string(rate), "--stun-threads", "2"},
                         {"ip", "netns", "exec", ns.name()});
    auto flooder = ns.client("10.201.0.2");
    auto other = ns.client("10.201.0.3");
    REQUIRE(flooder);
    REQUIRE(other);
    FloodResult r = flood(*flooder, other.get(), loopback(3478, "10.201.0.1"), 3000);
    check_limited(r, rate);
    CHECK(r.other_answers == r.other_sent);
}
