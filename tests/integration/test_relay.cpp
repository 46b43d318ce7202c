// Two agents relay 10,000 reliable-ordered messages through the server: every one arrives,
// intact and in order, with `from` set by the server.
#include "server_process.hpp"
#include "ws_test_client.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

using namespace om::test;

namespace {

std::vector<uint8_t> payload_for(uint64_t seq) {
    std::vector<uint8_t> data(16 + seq % 200);
    for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>((seq * 131 + i * 7) & 0xFF);
    return data;
}

} // namespace

TEST_CASE("10,000 relayed messages keep integrity and order", "[relay]") {
    ServerProcess server({"--open"});
    TestClient a(server.port());
    TestClient b(server.port());
    a.register_as("a");
    b.register_as("b");

    constexpr uint64_t count = 10000;
    constexpr uint64_t window = 256; // in flight; stays far below the server's send queue
    std::atomic<uint64_t> received{0};
    std::atomic<bool> ok{true};
    std::string failure;
    std::thread reader([&] {
        while (received < count) {
            auto relay = b.receive_as<sig::Relay>(5s);
            if (!relay || relay->from != std::optional<std::string>("a") || relay->seq != received.load() ||
                relay->data != payload_for(relay->seq) || relay->mode != 0) {
                failure = relay ? "wrong message at seq " + std::to_string(received.load()) : "nothing arrived";
                ok = false;
                return;
            }
            ++received;
        }
    });
    auto deadline = std::chrono::steady_clock::now() + 60s;
    for (uint64_t seq = 0; seq < count && ok && std::chrono::steady_clock::now() < deadline;) {
        if (seq - received.load() >= window) {
            std::this_thread::sleep_for(100us);
            continue;
        }
        sig::Relay relay;
        relay.to = "b";
        relay.from = "mallory"; // the server must overwrite it
        relay.seq = seq;
        relay.mode = 0;
        relay.data = payload_for(seq);
        a.send(relay);
        ++seq;
    }
    reader.join();
    INFO(failure);
    CHECK(ok);
    CHECK(received == count);
    // Nothing came back to the sender: no 503, no 429.
    CHECK_FALSE(a.receive(100ms).has_value());
    std::string metrics = http_get(server.port(), "/metrics").body;
    CHECK(metric_value(metrics, "orbitmesh_frames_in_total{type=\"relay\"}") == count);
    CHECK(metric_value(metrics, "orbitmesh_queue_drops_total") == 0);
    CHECK(server.terminate() == 0);
}

TEST_CASE("signaling messages are forwarded with from set and unknown peers get 404", "[relay]") {
    ServerProcess server({"--open"});
    TestClient a(server.port());
    TestClient b(server.port());
    a.register_as("a");
    b.register_as("b");

    sig::ConnectRequest request;
    request.to = "b";
    request.request_id = 7;
    request.candidates = {"candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host"};
    request.ufrag = "ufrag1";
    request.pwd = "pwdpwdpwdpwdpwdpwdpwdpwd";
    a.send(request);
    auto got = b.receive_as<sig::ConnectRequest>();
    REQUIRE(got);
    CHECK(got->from == std::optional<std::string>("a"));
    CHECK(got->request_id == 7);
    CHECK(got->candidates == request.candidates);

    sig::Candidate candidate{std::nullopt, "a", "candidate:2 1 udp 1694498815 203.0.113.5 6000 typ srflx"};
    b.send(candidate);
    auto trickled = a.receive_as<sig::Candidate>();
    REQUIRE(trickled);
    CHECK(trickled->from == std::optional<std::string>("b"));

    sig::Relay to_nobody;
    to_nobody.to = "nobody";
    a.send(to_nobody);
    auto error = a.receive_as<sig::Error>();
    REQUIRE(error);
    CHECK(error->code == 404);

    a.send(sig::Ping{42});
    auto pong = a.receive_as<sig::Pong>();
    REQUIRE(pong);
    CHECK(pong->nonce == 42);
    CHECK(server.terminate() == 0);
}
