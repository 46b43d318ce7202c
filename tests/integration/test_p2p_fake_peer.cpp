// A real agent (liborbitmesh) against a hand-made peer: a raw signaling client plus a raw UDP
// socket that speaks ICE through libs/proto. It trickles its real candidate after the
// response (the agent must check it), and, in a second run, signs its answers with a wrong
// password (the agent must drop and count them, then fall back to the relay).
#include "server_process.hpp"
#include "ws_test_client.hpp"

#include "proto/address.h"
#include "proto/candidate.h"
#include "proto/ice_check.h"

#include <orbitmesh/orbitmesh.hpp>

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <future>

namespace {

using namespace om::test;
namespace pice = om::proto::ice;

constexpr const char* kFakeUfrag = "fakeufrag";
constexpr const char* kFakePwd = "fakePassword0123456789abcdef";

// The fake peer's UDP socket on 127.0.0.1, answering checks with `answer_pwd`.
struct FakeUdpPeer {
    int fd = -1;
    om_address address{};

    FakeUdpPeer()
    {
        fd = socket(AF_INET, SOCK_DGRAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
        socklen_t len = sizeof a;
        getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
        REQUIRE(om::proto::parse_address("127.0.0.1:" + std::to_string(ntohs(a.sin_port)), 0, address));
    }
    ~FakeUdpPeer() { close(fd); }

    // Answers the agent's checks for up to `ms` (bounded); returns how many it answered.
    int answer_checks(const std::string& agent_pwd_unused, const std::string& answer_pwd, int ms, int max_answers)
    {
        (void)agent_pwd_unused;
        int answered = 0;
        auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
        while (answered < max_answers && std::chrono::steady_clock::now() < deadline) {
            pollfd p{fd, POLLIN, 0};
            if (poll(&p, 1, 20) <= 0) continue;
            uint8_t buf[1500];
            sockaddr_in from{};
            socklen_t len = sizeof from;
            ssize_t n = recvfrom(fd, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
            if (n <= 0) continue;
            pice::ReceivedCheck check;
            std::string owner;
            auto lookup = [](std::string_view ufrag) -> std::optional<std::string> {
                if (ufrag == kFakeUfrag) return std::string(kFakePwd);
                return std::nullopt;
            };
            if (pice::verify_check_request({buf, size_t(n)}, lookup, check, &owner) != pice::CheckVerdict::Ok) continue;
            om_address source{};
            char text[64];
            inet_ntop(AF_INET, &from.sin_addr, text, sizeof text);
            REQUIRE(om::proto::parse_address(std::string(text) + ":" + std::to_string(ntohs(from.sin_port)), 0, source));
            std::array<uint8_t, 256> out{};
            size_t size = pice::build_check_success(out, check.id, source, answer_pwd);
            sendto(fd, out.data(), size, 0, reinterpret_cast<sockaddr*>(&from), len);
            ++answered;
        }
        return answered;
    }
};

struct Setup {
    ServerProcess server{{"--open", "--stun-port", "0"}};
    TestClient fake{server.port()};
    FakeUdpPeer udp;
    std::unique_ptr<orbitmesh::Agent> agent;

    Setup()
    {
        fake.register_as("fake");
        orbitmesh::AgentOptions o;
        o.server_url("ws://127.0.0.1:" + std::to_string(server.port())).agent_id("real").bind_address("127.0.0.1");
        o.raw().nat_punch_retries = 4;
        o.raw().nat_punch_interval_ms = 50;
        o.raw().connection_timeout_ms = 5000;
        // The fake peer speaks ICE, not QUIC: without a delivery plugin the checked path alone
        // is the connection, which is what these tests are about.
        o.raw().delivery_plugin = "none";
        agent = std::make_unique<orbitmesh::Agent>(o, [](const om_event&) {});
        agent->connect();
    }

    // The agent's connect_request as the fake peer sees it, answered with `candidates`.
    sig::ConnectRequest answer(std::vector<std::string> candidates)
    {
        auto request = fake.receive_as<sig::ConnectRequest>(5s);
        REQUIRE(request);
        CHECK(!request->candidates.empty());
        sig::ConnectResponse response;
        response.to = "real";
        response.request_id = request->request_id;
        response.accept = true;
        response.ufrag = kFakeUfrag;
        response.pwd = kFakePwd;
        response.candidates = std::move(candidates);
        fake.send(response);
        return *request;
    }
};

std::string real_candidate_line(const om_address& address)
{
    return pice::format(pice::make_host(address));
}

} // namespace

TEST_CASE("p2p: a candidate trickled after the response is checked and wins", "[p2p]")
{
    Setup s;
    auto connecting = std::async(std::launch::async, [&] { return s.agent->connect_peer("fake"); });
    // The response offers only an address where nobody listens; the real one trickles after.
    om_address nobody{};
    REQUIRE(om::proto::parse_address("127.0.0.1:9", 0, nobody));
    sig::ConnectRequest request = s.answer({real_candidate_line(nobody)});
    sig::Candidate trickle;
    trickle.to = "real";
    trickle.candidate = real_candidate_line(s.udp.address);
    s.fake.send(trickle);
    // Checks and the nomination reach the trickled address and are answered with the right key.
    CHECK(s.udp.answer_checks(request.pwd, kFakePwd, 3000, 2) == 2);
    om_peer_state state = connecting.get();
    CHECK(state.status == OM_PEER_CONNECTED);
    CHECK(state.active_transport == OM_TRANSPORT_P2P);
    CHECK_THAT(std::string(state.remote_candidate),
               Catch::Contains(om::proto::format_address(s.udp.address).substr(10)));
    CHECK(s.agent->counter("ice.candidates_trickled_in") == 1);
}

TEST_CASE("p2p: answers signed with a wrong password are dropped and counted, then the relay takes over", "[p2p]")
{
    Setup s;
    auto connecting = std::async(std::launch::async, [&] { return s.agent->connect_peer("fake"); });
    sig::ConnectRequest request = s.answer({real_candidate_line(s.udp.address)});
    // A peer that lies: it answers every check, but not with the key it announced.
    int answered = s.udp.answer_checks(request.pwd, "anotherPasswordEntirely000", 3000, 4);
    CHECK(answered == 4);  // exactly NatPunchRetries checks, then the agent gives up on the pair
    om_peer_state state = connecting.get();
    CHECK(state.status == OM_PEER_CONNECTED);
    CHECK(state.active_transport == OM_TRANSPORT_SERVER_RELAY);
    CHECK_THAT(std::string(state.diagnosis), Catch::Contains("no direct path"));
    CHECK(s.agent->counter("ice.responses_bad_integrity") == 4);
}

TEST_CASE("p2p: signed checks with an unknown ufrag or a wrong key are dropped and counted", "[p2p]")
{
    Setup s;
    auto connecting = std::async(std::launch::async, [&] { return s.agent->connect_peer("fake"); });
    sig::ConnectRequest request = s.answer({real_candidate_line(s.udp.address)});
    om::proto::ice::Candidate agent_candidate;
    REQUIRE(pice::parse(request.candidates.front(), agent_candidate));
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(agent_candidate.address.port);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    auto send_check = [&](const std::string& ufrag, const std::string& key) {
        pice::CheckRequest r;
        r.remote_ufrag = ufrag;
        r.local_ufrag = kFakeUfrag;
        r.remote_pwd = key;
        r.priority = 1862270975;
        r.role = pice::Role::Controlled;
        r.tie_breaker = 1;
        std::array<uint8_t, 256> buf{};
        size_t n = pice::build_check_request(buf, om::proto::stun::random_transaction_id(), r);
        sendto(s.udp.fd, buf.data(), n, 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
    };
    send_check("nosuchufrag", request.pwd);            // a ufrag no session of the agent owns
    send_check(request.ufrag, "notTheAgentsPassword00");  // the right ufrag, a forged signature
    s.udp.answer_checks(request.pwd, kFakePwd, 3000, 2);  // then the genuine exchange
    om_peer_state state = connecting.get();
    CHECK(state.active_transport == OM_TRANSPORT_P2P);
    CHECK(s.agent->counter("ice.checks_dropped.unknown_ufrag") == 1);
    CHECK(s.agent->counter("ice.checks_dropped.bad_integrity") == 1);
}
