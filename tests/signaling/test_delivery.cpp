// Delivery through the public API: every mode on several channels over the direct path and the
// server relay, on one QUIC connection per peer (delivery-quic), end-to-end encrypted with
// pinned fingerprints; message size limits; disabled modes; the server relay carrying only
// ciphertext; a direct path that dies mid-stream moving to the relay with nothing lost; an
// identity that survives a restart; a vanished peer released after DisconnectTimeoutMs.
#include "delivery_checks.h"
#include "harness.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <cstring>
#include <map>

namespace {

using test::RecordingAgent;
using test::check_encrypted_state;
using test::exchange_every_mode;
using test::fast;
using test::numbered;
using test::received;
using test::send_all;
using test::url_of;
using test::wait_received;

std::unique_ptr<orbitmesh::Server> start_server()
{
    return test::start_server_with_stun();
}

std::string url_of(uint16_t port)
{
    return "ws://127.0.0.1:" + std::to_string(port);
}

// A TCP proxy in front of the server for one client: records what the server sends to it.
class RecordingProxy {
public:
    explicit RecordingProxy(uint16_t server_port) : server_port_(server_port)
    {
        listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::bind(listener_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
        REQUIRE(::listen(listener_, 4) == 0);
        socklen_t len = sizeof a;
        ::getsockname(listener_, reinterpret_cast<sockaddr*>(&a), &len);
        port_ = ntohs(a.sin_port);
        thread_ = std::thread([this] { run(); });
    }
    ~RecordingProxy()
    {
        stop_ = true;
        thread_.join();
        ::close(listener_);
    }
    uint16_t port() const { return port_; }
    std::string from_server()
    {
        std::lock_guard<std::mutex> lock(mutex_);
        return recorded_;
    }
    // From now on `from` (in what the server sends) reaches the client as `to` (same length): a
    // lying man in the middle of the signaling. Returns how often it did so.
    void rewrite(std::string from, std::string to)
    {
        REQUIRE(from.size() == to.size());
        std::lock_guard<std::mutex> lock(mutex_);
        rewrite_from_ = std::move(from);
        rewrite_to_ = std::move(to);
    }
    int rewrites()
    {
        std::lock_guard<std::mutex> lock(mutex_);
        return rewrites_;
    }

private:
    void run()
    {
        int client = -1, upstream = -1;
        while (!stop_) {
            pollfd fds[3] = {{listener_, POLLIN, 0}, {client, POLLIN, 0}, {upstream, POLLIN, 0}};
            if (::poll(fds, 3, 50) <= 0) continue;
            if (fds[0].revents & POLLIN) {
                client = ::accept(listener_, nullptr, nullptr);
                upstream = ::socket(AF_INET, SOCK_STREAM, 0);
                sockaddr_in a{};
                a.sin_family = AF_INET;
                a.sin_port = htons(server_port_);
                a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
                if (::connect(upstream, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) break;
            }
            char buf[65536];
            if (client >= 0 && (fds[1].revents & (POLLIN | POLLHUP))) {
                ssize_t n = ::recv(client, buf, sizeof buf, 0);
                if (n <= 0) break;
                (void)::send(upstream, buf, size_t(n), MSG_NOSIGNAL);
            }
            if (upstream >= 0 && (fds[2].revents & (POLLIN | POLLHUP))) {
                ssize_t n = ::recv(upstream, buf, sizeof buf, 0);
                if (n <= 0) break;
                {
                    std::lock_guard<std::mutex> lock(mutex_);
                    recorded_.append(buf, size_t(n));
                    if (!rewrite_from_.empty()) {
                        std::string chunk(buf, size_t(n));
                        for (size_t at = chunk.find(rewrite_from_); at != std::string::npos;
                             at = chunk.find(rewrite_from_, at + 1)) {
                            std::memcpy(buf + at, rewrite_to_.data(), rewrite_to_.size());
                            ++rewrites_;
                        }
                    }
                }
                (void)::send(client, buf, size_t(n), MSG_NOSIGNAL);
            }
        }
        if (client >= 0) ::close(client);
        if (upstream >= 0) ::close(upstream);
    }

    uint16_t server_port_;
    uint16_t port_ = 0;
    int listener_ = -1;
    std::atomic<bool> stop_{false};
    std::thread thread_;
    std::mutex mutex_;
    std::string recorded_;
    std::string rewrite_from_, rewrite_to_;
    int rewrites_ = 0;
};

} // namespace

TEST_CASE("delivery: every mode on several channels over the direct path, encrypted end to end", "[delivery]")
{
    auto server = start_server();
    RecordingAgent a(url_of(server->http_port()), "alice", {}, fast);
    RecordingAgent b(url_of(server->http_port()), "bob", {}, fast);
    a.agent->connect();
    b.agent->connect();
    REQUIRE(a.agent->connect_peer("bob").active_transport == OM_TRANSPORT_P2P);
    REQUIRE(b.wait_for(OM_EVENT_PEER_CONNECTED, 1, 5000));
    const uint64_t relayed_before = server->counter("frames.in.relay");
    exchange_every_mode(a, b);
    CHECK(server->counter("frames.in.relay") == relayed_before);  // nothing went through the server
    check_encrypted_state(a, b);
    CHECK(a.agent->peer_state("bob").messages_sent == 600);
}

TEST_CASE("delivery: every mode over the server relay, which sees only ciphertext", "[delivery]")
{
    auto server = start_server();
    RecordingProxy proxy(server->http_port());  // between the server and bob
    RecordingAgent a(url_of(server->http_port()), "alice", {}, fast);
    RecordingAgent b(url_of(proxy.port()), "bob", {}, fast);
    a.agent->connect();
    b.agent->connect();
    om_peer_state state = a.agent->connect_peer("bob", OM_TRANSPORT_SERVER_RELAY);
    REQUIRE(state.status == OM_PEER_CONNECTED);
    CHECK(state.active_transport == OM_TRANSPORT_SERVER_RELAY);
    REQUIRE(b.wait_for(OM_EVENT_PEER_CONNECTED, 1, 5000));
    exchange_every_mode(a, b);
    check_encrypted_state(a, b);
    CHECK(server->counter("frames.in.relay") > 0);
    // What the server forwarded to bob: relay frames, and none of the messages in clear.
    std::string wire = proxy.from_server();
    CHECK(wire.find("relay") != std::string::npos);
    CHECK(wire.find("ordered 0 1") == std::string::npos);
    CHECK(wire.find("unordered 7") == std::string::npos);
    CHECK(wire.find("unreliable 1") == std::string::npos);
    CHECK(wire.find("sequenced 0") == std::string::npos);
}

TEST_CASE("delivery: size limits and disabled modes are clear errors", "[delivery]")
{
    auto server = start_server();
    auto no_datagrams = [](orbitmesh::AgentOptions& o) {
        fast(o);
        o.raw().enable_unreliable_delivery = 0;
    };
    RecordingAgent a(url_of(server->http_port()), "alice", {}, fast);
    RecordingAgent b(url_of(server->http_port()), "bob", {}, fast);
    RecordingAgent c(url_of(server->http_port()), "carol", {}, no_datagrams);
    a.agent->connect();
    b.agent->connect();
    c.agent->connect();
    REQUIRE(a.agent->connect_peer("bob").status == OM_PEER_CONNECTED);

    // 16 MiB in a reliable mode arrives whole; one byte more is refused.
    std::string big(OM_MAX_RELIABLE_MESSAGE, 'x');
    for (size_t i = 0; i < big.size(); i += 4096) big[i] = char('a' + (i / 4096) % 26);
    send_all(*a.agent, "bob", big, OM_DELIVERY_RELIABLE_ORDERED, 3);
    REQUIRE(wait_received(b, "alice", OM_DELIVERY_RELIABLE_ORDERED, 3, 1, 30000));
    CHECK(received(b, "alice", OM_DELIVERY_RELIABLE_ORDERED, 3)[0] == big);
    big.push_back('!');
    CHECK(test::status_of([&] { a.agent->send("bob", big, OM_DELIVERY_RELIABLE_ORDERED); }) == OM_ERR_TOO_LARGE);

    // An unreliable message must fit one datagram: the error names the limit.
    std::string message;
    try {
        a.agent->send("bob", std::string(1400, 'u'), OM_DELIVERY_UNRELIABLE);
        FAIL("an unreliable message of the MTU's size was accepted");
    } catch (const orbitmesh::Error& e) {
        CHECK(e.status() == OM_ERR_TOO_LARGE);
        message = e.what();
    }
    CHECK_THAT(message, Catch::Contains("bytes"));
    CHECK(test::status_of([&] { a.agent->send("bob", "x", OM_DELIVERY_UNRELIABLE, OM_MAX_CHANNELS); }) ==
          OM_ERR_INVALID_ARGUMENT);

    // Carol turned datagrams off: her sends say so, reliable ones still go.
    REQUIRE(c.agent->connect_peer("bob").status == OM_PEER_CONNECTED);
    try {
        c.agent->send("bob", "dgram", OM_DELIVERY_SEQUENCED);
        FAIL("a disabled mode was accepted");
    } catch (const orbitmesh::Error& e) {
        CHECK(e.status() == OM_ERR_NOT_SUPPORTED);
        CHECK_THAT(std::string(e.what()), Catch::Contains("enable_unreliable"));
    }
    c.agent->send("bob", "still reliable");
    REQUIRE(wait_received(b, "carol", OM_DELIVERY_RELIABLE_ORDERED, 0, 1));
}

TEST_CASE("delivery: a direct path that dies mid-stream moves to the relay, nothing lost", "[delivery]")
{
    auto server = start_server();
    auto quick = [](orbitmesh::AgentOptions& o) {
        fast(o);
        o.raw().keep_alive_interval_ms = 100;
        o.raw().disconnect_timeout_ms = 3000;  // consent expires after half of it
    };
    RecordingAgent a(url_of(server->http_port()), "alice", {}, quick);
    RecordingAgent b(url_of(server->http_port()), "bob", {}, quick);
    a.agent->connect();
    b.agent->connect();
    REQUIRE(a.agent->connect_peer("bob").active_transport == OM_TRANSPORT_P2P);
    REQUIRE(b.wait_for(OM_EVENT_PEER_CONNECTED, 1, 5000));

    constexpr int kTotal = 3000;
    for (int i = 0; i < kTotal; ++i) {
        // Bob's socket closes without a word a third of the way: only consent can tell.
        if (i == kTotal / 3) b.agent->close_transport();
        send_all(*a.agent, "bob", numbered("m", i), OM_DELIVERY_RELIABLE_ORDERED);
    }
    REQUIRE(wait_received(b, "alice", OM_DELIVERY_RELIABLE_ORDERED, 0, kTotal, 20000));
    auto got = received(b, "alice", OM_DELIVERY_RELIABLE_ORDERED, 0);
    REQUIRE(got.size() == size_t(kTotal));
    for (int i = 0; i < kTotal; ++i) REQUIRE(got[size_t(i)] == numbered("m", i));  // once, in order
    CHECK(a.agent->peer_state("bob").active_transport == OM_TRANSPORT_SERVER_RELAY);
    CHECK(a.agent->peer_state("bob").status == OM_PEER_CONNECTED);
    CHECK(a.count(OM_EVENT_PEER_DISCONNECTED) == 0);
    bool saw_relay = false;
    for (auto& e : a.of_type(OM_EVENT_PEER_STATE_CHANGED)) saw_relay |= e.transport == OM_TRANSPORT_SERVER_RELAY;
    CHECK(saw_relay);
}

TEST_CASE("delivery: an identity file keeps the fingerprint across restarts", "[delivery]")
{
    auto path = std::filesystem::temp_directory_path() / ("om-identity-" + std::to_string(::getpid()) + ".pem");
    std::filesystem::remove(path);
    auto with_file = [&](orbitmesh::AgentOptions& o) { o.raw().identity_file = path.c_str(); };
    std::string first, second;
    {
        RecordingAgent a("", "alice", {}, with_file);
        first = a.agent->fingerprint();
    }
    CHECK(std::filesystem::exists(path));
    CHECK((std::filesystem::status(path).permissions() & std::filesystem::perms::group_read) ==
          std::filesystem::perms::none);
    {
        RecordingAgent a("", "alice", {}, with_file);
        second = a.agent->fingerprint();
    }
    RecordingAgent fresh("", "alice");
    CHECK(first.size() == OM_FINGERPRINT_STRLEN - 1);
    CHECK(first == second);
    CHECK(fresh.agent->fingerprint() != first);
    std::filesystem::remove(path);
}

TEST_CASE("delivery: a peer that vanishes is Disconnected after DisconnectTimeoutMs and released", "[delivery]")
{
    auto server = start_server();
    auto quick = [](orbitmesh::AgentOptions& o) {
        fast(o);
        o.raw().keep_alive_interval_ms = 100;
        o.raw().disconnect_timeout_ms = 800;
        o.raw().fallback_to_relay = 0;
    };
    RecordingAgent a(url_of(server->http_port()), "alice", {}, quick);
    auto b = std::make_unique<RecordingAgent>(url_of(server->http_port()), "bob", std::string(), quick);
    a.agent->connect();
    b->agent->connect();
    REQUIRE(a.agent->connect_peer("bob").status == OM_PEER_CONNECTED);
    b->agent->close_transport();
    REQUIRE(a.wait_for(OM_EVENT_PEER_DISCONNECTED, 1, 4000));
    CHECK(a.agent->peer_state("bob").status == OM_PEER_DISCONNECTED);
    CHECK(a.agent->peer_state("bob").cwnd == 0);  // no session any more
    CHECK(test::status_of([&] { a.agent->send("bob", "late"); }) == OM_ERR_STATE);
}

namespace {

// netsim's set_loss(f64) through om_plugin_call: msgpack [value].
void set_loss(orbitmesh::Agent& agent, double loss)
{
    std::vector<uint8_t> args = {0x91, 0xcb};
    uint64_t bits;
    std::memcpy(&bits, &loss, sizeof bits);
    for (int i = 7; i >= 0; --i) args.push_back(uint8_t(bits >> (8 * i)));
    agent.plugin_call("netsim", "set_loss", args);
}

bool wait_transport(RecordingAgent& a, const std::string& peer, om_transport_type t, int timeout_ms,
                    const std::function<void()>& meanwhile)
{
    for (int i = 0; i < timeout_ms / 5; ++i) {
        if (a.agent->peer_state(peer).active_transport == t) return true;
        meanwhile();
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return false;
}

} // namespace

TEST_CASE("delivery: cut and restored, the path goes P2P -> ServerRelay -> P2P with nothing lost", "[delivery]")
{
    auto server = start_server();
    auto quick = [](orbitmesh::AgentOptions& o) {
        fast(o);
        o.transport_plugin("netsim:udp");
        o.raw().keep_alive_interval_ms = 100;
        o.raw().disconnect_timeout_ms = 2000;  // consent expires after 1 s of silence
    };
    RecordingAgent a(url_of(server->http_port()), "alice", {}, quick);
    RecordingAgent b(url_of(server->http_port()), "bob", {}, quick);
    a.agent->connect();
    b.agent->connect();
    REQUIRE(a.agent->connect_peer("bob").active_transport == OM_TRANSPORT_P2P);
    REQUIRE(b.wait_for(OM_EVENT_PEER_CONNECTED, 1, 5000));

    int sent = 0;
    auto send_some = [&] {
        for (int i = 0; i < 5; ++i) send_all(*a.agent, "bob", numbered("m", sent++), OM_DELIVERY_RELIABLE_ORDERED);
    };
    for (int i = 0; i < 100; ++i) send_some();
    set_loss(*b.agent, 1.0);  // the direct path is cut both ways (the server connection is TCP)
    REQUIRE(wait_transport(a, "bob", OM_TRANSPORT_SERVER_RELAY, 6000, send_some));
    for (int i = 0; i < 100; ++i) send_some();
    set_loss(*b.agent, 0.0);
    REQUIRE(wait_transport(a, "bob", OM_TRANSPORT_P2P, 15000, send_some));  // an ICE restart found it
    for (int i = 0; i < 100; ++i) send_some();

    REQUIRE(wait_received(b, "alice", OM_DELIVERY_RELIABLE_ORDERED, 0, size_t(sent), 20000));
    auto got = received(b, "alice", OM_DELIVERY_RELIABLE_ORDERED, 0);
    REQUIRE(got.size() == size_t(sent));
    for (int i = 0; i < sent; ++i) REQUIRE(got[size_t(i)] == numbered("m", i));  // once, in order
    CHECK(a.count(OM_EVENT_PEER_DISCONNECTED) == 0);
    CHECK(a.agent->counter("ice.restarts") >= 1);
    // The events tell the story: P2P, then the relay, then P2P again.
    std::vector<om_transport_type> path;
    for (auto& e : a.of_type(OM_EVENT_PEER_STATE_CHANGED))
        if (e.status == OM_OK && e.peer_status == OM_PEER_CONNECTED && (path.empty() || path.back() != e.transport))
            path.push_back(e.transport);
    CHECK(path == std::vector<om_transport_type>{OM_TRANSPORT_P2P, OM_TRANSPORT_SERVER_RELAY, OM_TRANSPORT_P2P});
    // Bob's side follows the client's migrations.
    CHECK(b.agent->peer_state("alice").active_transport == OM_TRANSPORT_P2P);
}

TEST_CASE("delivery: a peer whose certificate does not match the signalled fingerprint is refused, naming it",
          "[delivery]")
{
    auto server = start_server();
    RecordingProxy proxy(server->http_port());  // lies to bob about alice's fingerprint
    RecordingAgent a(url_of(server->http_port()), "alice", {}, fast);
    RecordingAgent b(url_of(proxy.port()), "bob", {}, fast);
    const std::string genuine = a.agent->fingerprint();
    std::string forged = genuine;
    forged[0] = forged[0] == 'A' ? 'B' : 'A';
    proxy.rewrite(genuine, forged);
    a.agent->connect();
    b.agent->connect();
    om_peer_state state{};
    const om_status status = test::status_of([&] { state = a.agent->connect_peer("bob"); });
    REQUIRE(proxy.rewrites() >= 1);
    CHECK(status != OM_OK);
    CHECK(a.agent->peer_state("bob").status != OM_PEER_CONNECTED);
    // bob refused alice's certificate, and says why.
    bool named = false;
    for (int i = 0; i < 500 && !named; ++i) {
        std::vector<orbitmesh::Event> events;
        {
            std::lock_guard<std::mutex> lock(b.mutex);
            events = b.events;
        }
        for (auto& e : events)
            if (e.peer_id == "alice" && e.message.find("does not match") != std::string::npos &&
                e.message.find(forged) != std::string::npos)
                named = true;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    CHECK(named);
    CHECK(b.agent->peer_state("alice").status != OM_PEER_CONNECTED);
    CHECK(test::status_of([&] { b.agent->send("alice", "never"); }) == OM_ERR_STATE);
}

TEST_CASE("delivery: senders on four threads at once, a small send queue: every message once, each thread's in order",
          "[delivery]")
{
    auto server = start_server();
    auto small_queue = [](orbitmesh::AgentOptions& o) {
        fast(o);
        o.plugin_options("delivery-quic.send_queue_bytes=65536");  // the session's queue fills: held, resumed
    };
    RecordingAgent a(url_of(server->http_port()), "alice", {}, small_queue);
    RecordingAgent b(url_of(server->http_port()), "bob", {}, fast);
    a.agent->connect();
    b.agent->connect();
    REQUIRE(a.agent->connect_peer("bob").active_transport == OM_TRANSPORT_P2P);
    constexpr int kThreads = 4, kEach = 1500;
    std::vector<std::thread> senders;
    for (int t = 0; t < kThreads; ++t)
        senders.emplace_back([&, t] {
            for (int i = 0; i < kEach; ++i)
                send_all(*a.agent, "bob", std::to_string(t) + ":" + std::to_string(i) + ":" + std::string(700, 'p'),
                         OM_DELIVERY_RELIABLE_ORDERED, 2);
        });
    for (auto& s : senders) s.join();
    REQUIRE(wait_received(b, "alice", OM_DELIVERY_RELIABLE_ORDERED, 2, kThreads * kEach, 30000));
    std::vector<int> next(kThreads, 0);
    auto got = received(b, "alice", OM_DELIVERY_RELIABLE_ORDERED, 2);
    REQUIRE(got.size() == size_t(kThreads * kEach));
    for (auto& text : got) {
        const int t = std::stoi(text);
        const int i = std::stoi(text.substr(text.find(':') + 1));
        REQUIRE(i == next[size_t(t)]);
        ++next[size_t(t)];
    }
    CHECK(a.agent->peer_state("bob").messages_sent == uint64_t(kThreads * kEach));
    CHECK(a.agent->peer_state("bob").send_queue_bytes < 65536 + 4096);
}

TEST_CASE("delivery: replies sent from the message callback arrive in order while another thread sends too",
          "[delivery]")
{
    // An echo from the loop thread goes straight into the session when nothing of the peer's is
    // queued (delivery.messages_sent_direct), else behind what is: either way every reply once,
    // in order, and the other thread's stream in its own order.
    auto server = start_server();
    const std::string url = url_of(server->http_port());
    RecordingAgent a(url, "alice", {}, fast);
    std::atomic<int> echo_failures{0};
    std::unique_ptr<orbitmesh::Agent> bob;
    orbitmesh::AgentOptions options;
    options.server_url(url).agent_id("bob").bind_address("127.0.0.1");
    options.raw().connection_timeout_ms = 5000;
    fast(options);
    std::atomic<bool> ready{false};
    bob = std::make_unique<orbitmesh::Agent>(options, [&](const om_event& e) {
        if (e.type != OM_EVENT_MESSAGE || e.channel != 1 || !ready) return;
        if (om_agent_send_on_channel(bob->get(), e.peer_id, e.data, e.len, e.delivery_mode, 1) != OM_OK) ++echo_failures;
    });
    ready = true;
    a.agent->connect();
    bob->connect();
    REQUIRE(a.agent->connect_peer("bob").active_transport == OM_TRANSPORT_P2P);

    constexpr int kMessages = 3000;  // 1.8 MB of echoes: far below bob's send queue limit
    std::thread own_stream([&] {
        for (int i = 0; i < kMessages; ++i)
            send_all(*bob, "alice", numbered("own", i) + std::string(300, 'o'), OM_DELIVERY_RELIABLE_ORDERED, 2);
    });
    for (int i = 0; i < kMessages; ++i)
        send_all(*a.agent, "bob", numbered("ping", i) + std::string(600, 'p'), OM_DELIVERY_RELIABLE_ORDERED, 1);
    own_stream.join();
    REQUIRE(a.wait_for(OM_EVENT_MESSAGE, 2 * kMessages, 20000));
    CHECK(echo_failures == 0);
    const auto echoes = received(a, "bob", OM_DELIVERY_RELIABLE_ORDERED, 1);
    const auto own = received(a, "bob", OM_DELIVERY_RELIABLE_ORDERED, 2);
    REQUIRE(echoes.size() == size_t(kMessages));
    REQUIRE(own.size() == size_t(kMessages));
    for (int i = 0; i < kMessages; ++i) {
        REQUIRE(echoes[size_t(i)] == numbered("ping", i) + std::string(600, 'p'));
        REQUIRE(own[size_t(i)] == numbered("own", i) + std::string(300, 'o'));
    }
    CHECK(bob->counter("delivery.messages_sent") == uint64_t(2 * kMessages));
    CHECK(bob->counter("delivery.messages_sent_direct") > 0);
    bob.reset();  // before the callback's captures go
}

TEST_CASE("delivery: one agent with a dozen direct peers keeps every peer's messages apart and in order",
          "[delivery]")
{
    // The hub finds which peer a datagram is from by its source address (a cached route,
    // checked on each use): twelve peers talking at once must each get exactly their own.
    auto server = start_server();
    const std::string url = url_of(server->http_port());
    RecordingAgent hub(url, "hub", {}, fast);
    hub.agent->connect();
    constexpr int kPeers = 12, kEach = 100;
    std::vector<std::unique_ptr<RecordingAgent>> spokes;
    for (int p = 0; p < kPeers; ++p) {
        spokes.push_back(std::make_unique<RecordingAgent>(url, "spoke" + std::to_string(p), std::string{}, fast));
        spokes.back()->agent->connect();
        REQUIRE(spokes.back()->agent->connect_peer("hub").active_transport == OM_TRANSPORT_P2P);
    }
    std::vector<std::thread> senders;
    for (int p = 0; p < kPeers; ++p)
        senders.emplace_back([&, p] {
            for (int i = 0; i < kEach; ++i)
                send_all(*spokes[size_t(p)]->agent, "hub", numbered("from " + std::to_string(p), i),
                         OM_DELIVERY_RELIABLE_ORDERED);
        });
    for (int p = 0; p < kPeers; ++p)
        for (int i = 0; i < kEach; ++i)
            send_all(*hub.agent, "spoke" + std::to_string(p), numbered("to " + std::to_string(p), i),
                     OM_DELIVERY_RELIABLE_ORDERED);
    for (auto& s : senders) s.join();
    REQUIRE(hub.wait_for(OM_EVENT_MESSAGE, size_t(kPeers * kEach), 20000));
    for (int p = 0; p < kPeers; ++p) {
        INFO("peer " << p);
        RecordingAgent& spoke = *spokes[size_t(p)];
        REQUIRE(spoke.wait_for(OM_EVENT_MESSAGE, size_t(kEach), 20000));
        const auto at_hub = received(hub, "spoke" + std::to_string(p), OM_DELIVERY_RELIABLE_ORDERED, 0);
        const auto at_spoke = received(spoke, "hub", OM_DELIVERY_RELIABLE_ORDERED, 0);
        REQUIRE(at_hub.size() == size_t(kEach));
        REQUIRE(at_spoke.size() == size_t(kEach));
        for (int i = 0; i < kEach; ++i) {
            REQUIRE(at_hub[size_t(i)] == numbered("from " + std::to_string(p), i));
            REQUIRE(at_spoke[size_t(i)] == numbered("to " + std::to_string(p), i));
        }
    }
    CHECK(hub.agent->counter("delivery.packets_without_session") == 0);
}
