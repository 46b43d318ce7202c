// The nat-stun plugin itself (nat-stun.so, loaded by the kernel's registry) behind the kernel's
// real host API: its settings as the kernel checks them, and runs over real UDP sockets on
// 127.0.0.1 with the kernel's event loop and timers, against a small RFC 5780 responder written
// here with the STUN codec (one IP, two ports: loopback has one usable address). done comes once,
// never inside start, within the budget; cancel and destroy in flight leave no timer and no call.
// End-to-end runs with the agent and the embedded STUN server are in the agent's own tests.
#include "test_support.h"

#include "agent/plugin_instance.h"
#include "core/plugin_options.h"
#include "plugin_host/host_api.h"
#include "proto/address.h"
#include "proto/stun.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>

namespace stun = om::proto::stun;

namespace {

// A UDP socket on 127.0.0.1 and an ephemeral port.
class LoopbackSocket {
public:
    LoopbackSocket()
    {
        fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        REQUIRE(fd_ >= 0);
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
        socklen_t len = sizeof sa;
        REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&sa), &len) == 0);
        REQUIRE(om::proto::parse_address("127.0.0.1", ntohs(sa.sin_port), address_));
    }
    ~LoopbackSocket() { ::close(fd_); }
    LoopbackSocket(const LoopbackSocket&) = delete;
    LoopbackSocket& operator=(const LoopbackSocket&) = delete;

    int fd() const { return fd_; }
    const om_address& address() const { return address_; }

    om_status send_to(const om_address& to, const uint8_t* data, size_t len) const
    {
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_port = htons(to.port);
        std::memcpy(&sa.sin_addr, to.bytes, 4);
        const ssize_t n = ::sendto(fd_, data, len, 0, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
        return n == static_cast<ssize_t>(len) ? OM_OK : OM_ERR_IO;
    }
    // One datagram, or 0 bytes when none is waiting.
    size_t receive(std::array<uint8_t, 2048>& buffer, om_address& from) const
    {
        sockaddr_in sa{};
        socklen_t len = sizeof sa;
        const ssize_t n = ::recvfrom(fd_, buffer.data(), buffer.size(), 0, reinterpret_cast<sockaddr*>(&sa), &len);
        if (n <= 0) return 0;
        from = {};
        from.family = 4;
        from.port = ntohs(sa.sin_port);
        std::memcpy(from.bytes, &sa.sin_addr, 4);
        return static_cast<size_t>(n);
    }

private:
    int fd_ = -1;
    om_address address_{};
};

// RFC 5780 on one IP: primary and alternate ports; a CHANGE-REQUEST (change port) is answered
// from the other port. Counts the requests it saw.
class Responder {
public:
    LoopbackSocket primary, alternate;
    std::atomic<int> requests{0};
    bool silent = false;

    void serve(om::EventLoop& loop)
    {
        loop.watch_fd(primary.fd(), [this] { answer(primary, alternate); });
        loop.watch_fd(alternate.fd(), [this] { answer(alternate, primary); });
    }
    void stop(om::EventLoop& loop)
    {
        loop.unwatch_fd(primary.fd());
        loop.unwatch_fd(alternate.fd());
    }

private:
    void answer(const LoopbackSocket& at, const LoopbackSocket& other)
    {
        std::array<uint8_t, 2048> in{};
        om_address from{};
        for (size_t n; (n = at.receive(in, from)) > 0;) {
            stun::Message m;
            if (!stun::parse({in.data(), n}, m) || m.cls != stun::Class::Request) continue;
            ++requests;
            if (silent) continue;
            bool change_port = false;
            if (const auto* change = m.find(stun::attr::ChangeRequest))
                change_port = (stun::read_u32(*change).value_or(0) & stun::kChangePort) != 0;
            const LoopbackSocket& source = change_port ? other : at;
            std::array<uint8_t, 256> out{};
            stun::Builder b(out, stun::method::Binding, stun::Class::SuccessResponse, m.transaction_id);
            b.add_xor_address(stun::attr::XorMappedAddress, from);
            b.add_address(stun::attr::OtherAddress, alternate.address());
            b.add_address(stun::attr::ResponseOrigin, source.address());
            source.send_to(from, out.data(), b.finish());
        }
    }
};

// The agent's part: the loop, the counters, the P2P socket whose datagrams go to the plugin.
class Host final : public om::PluginOwner {
public:
    explicit Host(const std::string& plugin_options = "")
        : registry_(test::registry_of({})), options_(om::parse_plugin_options(plugin_options))
    {
        plugin_.library = registry_.load("stun", OM_PLUGIN_KIND_NAT_DISCOVERY);  // "stun" finds nat-stun
        plugin_.ctx = om::make_host_ctx(*this, *plugin_.library, options_);
        vtbl_ = plugin_.library->vtable<om_nat_discovery_vtbl>();
        REQUIRE(vtbl_ != nullptr);
        loop_.start("nat-stun-test");
        on_loop([&] {
            loop_.watch_fd(socket_.fd(), [this] { drain(); });
            return OM_OK;
        });
    }
    ~Host()
    {
        on_loop([&] {
            destroy();
            loop_.unwatch_fd(socket_.fd());
            return OM_OK;
        });
        loop_.stop();
    }

    om::EventLoop& loop() override { return loop_; }
    om::Counters& counters() override { return counters_; }
    om_status send_through_transport(const om_datagram& d) override { return socket_.send_to(d.peer, d.data, d.len); }

    om_status on_loop(const std::function<om_status()>& fn) { return loop_.run_sync(fn, 5000); }

    om_status create()
    {
        om_plugin_create_args args{};
        args.struct_size = sizeof args;
        args.host = om::host_api();
        args.ctx = plugin_.ctx.get();
        return on_loop([&] { return vtbl_->create(&args, &plugin_.instance); });
    }
    void destroy()
    {
        if (plugin_.instance != nullptr) vtbl_->destroy(plugin_.instance);
        plugin_.instance = nullptr;
    }

    // Starts a run against `server`; done records the outcome. With `then_again`, a second start
    // follows in the same loop turn and its status is returned.
    om_status start(const om_address& server, int timeout_ms, bool then_again = false)
    {
        return on_loop([&] {
            om_nat_request request{};
            request.struct_size = sizeof request;
            request.server = server;
            request.timeout_ms = timeout_ms;
            request.done = &Host::on_done;
            request.done_user_data = this;
            request.local_address = socket_.address();
            started_ = std::chrono::steady_clock::now();
            inside_start_ = true;
            int32_t status = vtbl_->start(plugin_.instance, &request);
            if (status == OM_OK && then_again) status = vtbl_->start(plugin_.instance, &request);
            inside_start_ = false;
            return status;
        });
    }

    // Waits up to timeout_ms for done.
    bool wait_done(int timeout_ms)
    {
        std::unique_lock<std::mutex> lock(mutex_);
        return done_cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] { return done_calls_ > 0; });
    }

    om_host_ctx& ctx() { return *plugin_.ctx; }
    void* instance() { return plugin_.instance; }
    const om_nat_discovery_vtbl& vtbl() const { return *vtbl_; }
    const om_address& local() const { return socket_.address(); }

    std::mutex mutex_;
    std::condition_variable done_cv_;
    int done_calls_ = 0;
    bool done_inside_start_ = false;
    int32_t done_status_ = 1;
    om_nat_info info_{};
    std::string error_;
    double elapsed_ms_ = 0;

private:
    static void on_done(void* user_data, int32_t status, const om_nat_info* info)
    {
        auto& self = *static_cast<Host*>(user_data);
        std::lock_guard<std::mutex> lock(self.mutex_);
        ++self.done_calls_;
        self.done_inside_start_ = self.inside_start_;
        self.done_status_ = status;
        if (info != nullptr) self.info_ = *info;
        self.error_ = self.plugin_.ctx->take_error();
        self.elapsed_ms_ =
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - self.started_).count();
        self.done_cv_.notify_all();
    }

    void drain()
    {
        std::array<uint8_t, 2048> buffer{};
        om_address from{};
        for (size_t n; (n = socket_.receive(buffer, from)) > 0;) {
            const om_datagram d{buffer.data(), n, from};
            if (plugin_.instance == nullptr || vtbl_->on_datagram(plugin_.instance, &d) != 1) ++unclaimed;
        }
    }

public:
    int unclaimed = 0;

private:
    om::PluginRegistry registry_;
    om::PluginOptions options_;
    om::EventLoop loop_;
    om::Counters counters_;
    LoopbackSocket socket_;
    om::PluginInstance plugin_;
    const om_nat_discovery_vtbl* vtbl_ = nullptr;
    bool inside_start_ = false;
    std::chrono::steady_clock::time_point started_;
};

}  // namespace

TEST_CASE("nat-stun plugin: settings are validated and declared to the kernel", "[nat-stun]")
{
    SECTION("valid settings are read during create; a typo is refused naming the real keys")
    {
        Host host("nat-stun.rto_ms=200;nat-stun.probe_timeout_ms=300;nat-stun.rto=5");
        REQUIRE(host.create() == OM_OK);
        const om::Error error = test::error_of([&] { host.ctx().check_settings_read(); });
        CHECK(error.status() == OM_ERR_INVALID_ARGUMENT);
        CHECK(test::contains(error.what(), "plugin nat-stun has no setting \"rto\""));
        CHECK(test::contains(error.what(), "probe_timeout_ms, rc, rm, rto_ms"));
    }
    SECTION("a bad value fails create with a message naming the key")
    {
        Host host("nat-stun.rc=0");
        CHECK(host.create() == OM_ERR_INVALID_ARGUMENT);
        CHECK(host.instance() == nullptr);
        CHECK(host.ctx().take_error() == "nat-stun.rc = '0': expected a request count from 1 to 20");
    }
}

TEST_CASE("nat-stun plugin: a run over real sockets on 127.0.0.1", "[nat-stun]")
{
    Host host("nat-stun.probe_timeout_ms=300");
    REQUIRE(host.create() == OM_OK);
    Responder server;
    host.on_loop([&] {
        server.serve(host.loop());
        return OM_OK;
    });

    CHECK(host.start(server.primary.address(), 5000, true) == OM_ERR_STATE);  // one run at a time
    REQUIRE(host.wait_done(5000));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // a second done would come now
    {
        std::lock_guard<std::mutex> lock(host.mutex_);
        INFO(host.error_);
        CHECK(host.done_calls_ == 1);
        CHECK_FALSE(host.done_inside_start_);
        CHECK(host.done_status_ == OM_OK);
        // No NAT on loopback: the mapped address is the socket's own.
        CHECK(host.info_.nat_type == OM_NAT_OPEN);
        CHECK(om::proto::format_address(host.info_.mapped_address) == om::proto::format_address(host.local()));
        CHECK(om::proto::format_address(host.info_.local_address) == om::proto::format_address(host.local()));
        CHECK(host.info_.server_ips_used == 1);  // one IP, two ports
        CHECK(host.info_.mapping == OM_NAT_BEHAVIOR_ENDPOINT_INDEPENDENT);
        CHECK(host.info_.filtering == OM_NAT_BEHAVIOR_ADDRESS_DEPENDENT);  // what one IP can tell
        CHECK(host.info_.hairpin == 1);  // the request to our own address reached us
        // Test I, filtering III and the hairpin probe (300 ms), then one mapping test.
        CHECK(host.elapsed_ms_ < 1000);
    }
    CHECK(host.unclaimed == 0);
    CHECK(host.counters().get("plugin.nat-stun.runs") == 1);
    CHECK(host.counters().get("plugin.nat-stun.requests") >= 4);  // I, III, hairpin, mapping
    CHECK(host.counters().get("plugin.nat-stun.responses") >= 4);
    CHECK(host.counters().get("plugin.nat-stun.malformed") == 0);
    CHECK(host.on_loop([&] { return host.ctx().timers.empty() ? OM_OK : OM_ERR_STATE; }) == OM_OK);

    // A datagram that is not an answer of ours is left to the application.
    const uint8_t foreign[] = {0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xA4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    const om_datagram d{foreign, sizeof foreign, server.primary.address()};
    CHECK(host.on_loop([&] { return host.vtbl().on_datagram(host.instance(), &d); }) == 0);

    // Another run may follow.
    {
        std::lock_guard<std::mutex> lock(host.mutex_);
        host.done_calls_ = 0;
    }
    REQUIRE(host.start(server.primary.address(), 5000) == OM_OK);
    REQUIRE(host.wait_done(5000));
    CHECK(host.counters().get("plugin.nat-stun.runs") == 2);
    host.on_loop([&] {
        server.stop(host.loop());
        return OM_OK;
    });
}

TEST_CASE("nat-stun plugin: a silent server ends in OM_ERR_TIMEOUT within the budget", "[nat-stun]")
{
    Host host("nat-stun.rto_ms=100");
    REQUIRE(host.create() == OM_OK);
    Responder server;
    server.silent = true;
    host.on_loop([&] {
        server.serve(host.loop());
        return OM_OK;
    });
    REQUIRE(host.start(server.primary.address(), 700) == OM_OK);
    REQUIRE(host.wait_done(3000));
    {
        std::lock_guard<std::mutex> lock(host.mutex_);
        CHECK(host.done_status_ == OM_ERR_TIMEOUT);
        CHECK(host.info_.nat_type == OM_NAT_UNKNOWN);
        CHECK(host.info_.server_ips_used == 0);
        CHECK(host.elapsed_ms_ <= 700);
        CHECK(host.elapsed_ms_ >= 600);
        CHECK(test::contains(host.error_, "no answer to 3 Binding request(s) to 127.0.0.1:"));
    }
    CHECK(server.requests == 3);  // 0, 100 and 300 ms (700 would be past the budget)
    CHECK(host.counters().get("plugin.nat-stun.retransmits") == 2);
    host.on_loop([&] {
        server.stop(host.loop());
        return OM_OK;
    });
}

TEST_CASE("nat-stun plugin: cancel and destroy in flight never call done", "[nat-stun]")
{
    for (bool destroy : {false, true}) {
        INFO((destroy ? "destroy" : "cancel"));
        Host host;
        REQUIRE(host.create() == OM_OK);
        Responder server;
        server.silent = true;
        host.on_loop([&] {
            server.serve(host.loop());
            return OM_OK;
        });
        // Unstopped, this run would retransmit at 500 ms and call done at 570 ms.
        REQUIRE(host.start(server.primary.address(), 600) == OM_OK);
        host.on_loop([&] {
            if (destroy)
                host.destroy();
            else
                host.vtbl().cancel(host.instance());
            return OM_OK;
        });
        CHECK(host.on_loop([&] { return host.ctx().timers.empty() ? OM_OK : OM_ERR_STATE; }) == OM_OK);
        CHECK_FALSE(host.wait_done(900));
        host.on_loop([&] {
            server.stop(host.loop());
            return OM_OK;
        });
        CHECK(server.requests == 1);  // nothing after the first send
    }
}

TEST_CASE("nat-stun plugin: bad requests are refused without a run", "[nat-stun]")
{
    Host host;
    REQUIRE(host.create() == OM_OK);
    om_address none{};
    CHECK(host.start(none, 1000) == OM_ERR_INVALID_ARGUMENT);
    CHECK(test::contains(host.ctx().take_error(), "not an IPv4 or IPv6 address"));
    om_address server{};
    REQUIRE(om::proto::parse_address("127.0.0.1:9", 0, server));
    CHECK(host.start(server, 0) == OM_ERR_INVALID_ARGUMENT);
    CHECK(test::contains(host.ctx().take_error(), "timeout_ms must be positive"));
    CHECK(host.on_loop([&] { return host.vtbl().start(host.instance(), nullptr); }) == OM_ERR_INVALID_ARGUMENT);
    CHECK_FALSE(host.wait_done(100));
}
