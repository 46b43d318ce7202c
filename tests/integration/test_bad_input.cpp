// Bad input gets error frames (or, when framing itself is broken, a Close with the RFC 6455
// code) and counters, while the other agents keep working.
#include "server_process.hpp"
#include "ws_test_client.hpp"

#include <catch2/catch.hpp>

#include <msgpack.hpp>

#include <random>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

using namespace om::test;

namespace {

// A registered pair that must keep relaying whatever the others do.
struct WellBehavedPair {
    explicit WellBehavedPair(int port) : a(port), b(port) {
        a.register_as("good-a");
        b.register_as("good-b");
    }
    // One relay a -> b within 1 s.
    bool still_relays(uint64_t seq) {
        sig::Relay relay;
        relay.to = "good-b";
        relay.seq = seq;
        relay.data = {1, 2, 3, static_cast<uint8_t>(seq)};
        a.send(relay);
        auto got = b.receive_as<sig::Relay>(1s);
        return got && got->seq == seq && got->data == relay.data;
    }
    TestClient a;
    TestClient b;
};

std::vector<uint8_t> msgpack_map(const std::vector<std::pair<std::string, msgpack::object>>& fields,
                                 msgpack::zone&) {
    msgpack::sbuffer buffer;
    msgpack::packer<msgpack::sbuffer> packer(buffer);
    packer.pack_map(static_cast<uint32_t>(fields.size()));
    for (const auto& [key, value] : fields) {
        packer.pack(key);
        packer.pack(value);
    }
    return std::vector<uint8_t>(buffer.data(), buffer.data() + buffer.size());
}

std::optional<sig::Error> error_for(TestClient& c, std::span<const uint8_t> bytes) {
    c.send_frame(ws::Opcode::Binary, bytes);
    return c.receive_as<sig::Error>();
}

} // namespace

TEST_CASE("malformed msgpack, wrong version, unknown type: error frames, connection kept", "[bad_input]") {
    ServerProcess server({"--open"});
    WellBehavedPair pair(server.port());
    TestClient c(server.port());
    c.register_as("tester");
    msgpack::zone zone;

    const uint8_t garbage[] = {0xc1, 0xff, 0x00, 0x13};
    auto malformed = error_for(c, garbage);
    REQUIRE(malformed);
    CHECK(malformed->code == 400);

    auto wrong_version = error_for(c, msgpack_map({{"v", msgpack::object(2)}, {"t", msgpack::object("ping", zone)},
                                                   {"nonce", msgpack::object(1)}},
                                                  zone));
    REQUIRE(wrong_version);
    CHECK(wrong_version->code == 426);

    auto unknown = error_for(c, msgpack_map({{"v", msgpack::object(1)}, {"t", msgpack::object("teleport", zone)}}, zone));
    REQUIRE(unknown);
    CHECK(unknown->code == 400);

    c.send(sig::Ping{5}); // still served
    auto pong = c.receive_as<sig::Pong>();
    REQUIRE(pong);
    CHECK(pong->nonce == 5);
    CHECK(pair.still_relays(1));

    std::string metrics = http_get(server.port(), "/metrics").body;
    CHECK(metric_value(metrics, "orbitmesh_errors_total{kind=\"malformed\"}") == 1);
    CHECK(metric_value(metrics, "orbitmesh_errors_total{kind=\"unsupported_version\"}") == 1);
    CHECK(metric_value(metrics, "orbitmesh_errors_total{kind=\"unknown_type\"}") == 1);
    CHECK(server.terminate() == 0);
}

TEST_CASE("random bytes and broken frames close only their own connection", "[bad_input]") {
    ServerProcess server({"--open"});
    WellBehavedPair pair(server.port());

    std::mt19937 random(1234);
    for (int round = 0; round < 5; ++round) {
        TestClient noisy(server.port());
        std::vector<uint8_t> bytes(512);
        for (auto& b : bytes) b = static_cast<uint8_t>(random());
        bytes[0] = 0x82; // a final binary frame header ...
        bytes[1] = 0x7E; // ... unmasked with a 16-bit length: a client frame must be masked (§5.1)
        noisy.send_raw(bytes);
        CHECK(noisy.wait_closed(3s) == uint16_t{1002});
        CHECK(pair.still_relays(static_cast<uint64_t>(round)));
    }

    TestClient reserved(server.port()); // reserved opcode 0x3 (§5.2)
    const uint8_t empty[1] = {0};
    std::vector<uint8_t> frame;
    ws::append_frame(frame, ws::Opcode::Binary, std::span<const uint8_t>(empty, 0), ws::MaskKey{1, 2, 3, 4});
    frame[0] = 0x83;
    reserved.send_raw(frame);
    CHECK(reserved.wait_closed(3s) == uint16_t{1002});

    TestClient truncated(server.port()); // a frame cut short, then the client leaves
    std::vector<uint8_t> whole;
    ws::append_frame(whole, ws::Opcode::Binary, sig::encode(sig::Ping{1}), ws::MaskKey{9, 9, 9, 9});
    truncated.send_raw(std::span<const uint8_t>(whole.data(), whole.size() / 2));
    ::shutdown(connect_loopback(server.port()), SHUT_RDWR); // and a bare TCP connect that leaves
    CHECK(pair.still_relays(100));
    CHECK(metric_value(http_get(server.port(), "/metrics").body, "orbitmesh_errors_total{kind=\"bad_frame\"}") >= 6);
    CHECK(server.terminate() == 0);
}

TEST_CASE("oversized messages: 413 up to twice the limit, close 1009 above", "[bad_input]") {
    ServerProcess server({"--open", "--max-frame-bytes", "4096"});
    WellBehavedPair pair(server.port());
    TestClient c(server.port());
    c.register_as("big");
    sig::Relay relay;
    relay.to = "good-b";
    relay.data.assign(6000, 0xAB);
    c.send(relay);
    auto too_large = c.receive_as<sig::Error>();
    REQUIRE(too_large);
    CHECK(too_large->code == 413);
    c.send(sig::Ping{3});
    CHECK(c.receive_as<sig::Pong>());

    // A header announcing 10 MiB: refused before any payload is buffered (RFC 6455 §7.4.1 1009).
    std::array<uint8_t, ws::kMaxHeaderSize> header{};
    size_t n = ws::encode_header(header, ws::Opcode::Binary, 10u << 20, ws::MaskKey{1, 2, 3, 4});
    c.send_raw(std::span<const uint8_t>(header.data(), n));
    CHECK(c.wait_closed(3s) == uint16_t{1009});
    CHECK(pair.still_relays(7));
    CHECK(server.terminate() == 0);
}

TEST_CASE("a half-sent frame or an unfinished upgrade does not stall other agents", "[bad_input]") {
    ServerProcess server({"--open", "--reactor-threads", "1"}); // everyone shares one reactor
    TestClient stalled(server.port());
    stalled.register_as("stalled");
    std::vector<uint8_t> whole;
    ws::append_frame(whole, ws::Opcode::Binary, sig::encode(sig::Ping{1}), ws::MaskKey{5, 6, 7, 8});
    stalled.send_raw(std::span<const uint8_t>(whole.data(), whole.size() - 3)); // never finished

    // Two clients that never finish their HTTP upgrade request.
    int slow_a = connect_loopback(server.port());
    int slow_b = connect_loopback(server.port());
    const char partial[] = "GET /v1/signal HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websock";
    CHECK(::send(slow_a, partial, sizeof partial - 1, MSG_NOSIGNAL) > 0);
    CHECK(::send(slow_b, partial, sizeof partial - 1, MSG_NOSIGNAL) > 0);

    auto started = std::chrono::steady_clock::now();
    WellBehavedPair pair(server.port());
    for (uint64_t seq = 0; seq < 20; ++seq) REQUIRE(pair.still_relays(seq));
    CHECK(std::chrono::steady_clock::now() - started < 1s);
    CHECK(http_get(server.port(), "/healthz").body == "ok");

    // The rest of the half frame arrives: the stalled agent is served again.
    stalled.send_raw(std::span<const uint8_t>(whole.data() + whole.size() - 3, 3));
    CHECK(stalled.receive_as<sig::Pong>());
    ::close(slow_a);
    ::close(slow_b);
    CHECK(server.terminate() == 0);
}

TEST_CASE("a relay flood hits the rate limit while a well-behaved pair keeps relaying", "[bad_input][flood]") {
    ServerProcess server({"--open", "--relay-bytes-per-s", "200000"});
    WellBehavedPair pair(server.port());
    TestClient flooder(server.port());
    TestClient sink(server.port());
    flooder.register_as("flooder");
    sink.register_as("sink");

    std::atomic<bool> done{false};
    std::thread drain([&] { // the sink reads whatever arrives; the flooder reads its errors
        while (!done) {
            sink.next_frame(20ms);
            flooder.next_frame(1ms);
        }
    });
    sig::Relay relay;
    relay.to = "sink";
    relay.data.assign(2000, 0x5A);
    for (uint64_t seq = 0; seq < 2000; ++seq) {
        relay.seq = seq;
        flooder.send(relay);
    }
    for (uint64_t seq = 0; seq < 10; ++seq) CHECK(pair.still_relays(seq));
    done = true;
    drain.join();
    // Judge once the server has read the whole flood (2000 frames, plus the pair's own relays).
    std::string metrics = metrics_when(server.port(), "orbitmesh_frames_in_total{type=\"relay\"}", 2000);
    CHECK(metric_value(metrics, "orbitmesh_rate_limited_total") > 1000);
    CHECK(metric_value(metrics, "orbitmesh_frames_out_total{type=\"error\"}") > 0);
    CHECK(metric_value(metrics, "orbitmesh_relay_bytes_total") < 2000.0 * 2000);
    CHECK(server.terminate() == 0);
}
