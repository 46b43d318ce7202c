// transport-udp's GSO (UDP_SEGMENT) and GRO (UDP_GRO) batching: the plugin itself
// (transport-udp.so, loaded by the kernel's registry) behind the kernel's real host API, two or
// three instances on 127.0.0.1 or ::1 talking to each other. Whatever the kernel does with the
// runs (one message on the wire, coalesced on the receiver or split by it), the sink must see
// exactly the datagrams that were sent, in order, with their sizes and contents; the counters
// say which path was taken.
#include "test_support.h"

#include "agent/plugin_instance.h"
#include "core/plugin_options.h"
#include "plugin_host/host_api.h"
#include "proto/address.h"

#include <sys/socket.h>

#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

struct Received {
    std::string data;
    om_address from{};
};

// One transport-udp instance with its own host context, counters and received datagrams. The
// transport needs no timers, so the test thread calls the vtable directly.
class UdpInstance final : public om::PluginOwner {
public:
    explicit UdpInstance(om::PluginRegistry& registry, const std::string& plugin_options = "")
        : options_(om::parse_plugin_options(plugin_options))
    {
        plugin_.library = registry.load("transport-udp", OM_PLUGIN_KIND_TRANSPORT);
        plugin_.ctx = om::make_host_ctx(*this, *plugin_.library, options_);
        vtbl_ = plugin_.library->transport();
        REQUIRE(vtbl_ != nullptr);
    }
    ~UdpInstance()
    {
        if (plugin_.instance != nullptr) vtbl_->destroy(plugin_.instance);
    }

    om::EventLoop& loop() override { return loop_; }
    om::Counters& counters() override { return counters_; }
    om_status send_through_transport(const om_datagram&) override { return OM_ERR_STATE; }

    int32_t create()
    {
        om_transport_create_args args{};
        args.struct_size = sizeof args;
        args.base.struct_size = sizeof args.base;
        args.base.host = om::host_api();
        args.base.ctx = plugin_.ctx.get();
        args.sink = &UdpInstance::on_datagram;
        args.sink_user_data = this;
        return vtbl_->create(&args, &plugin_.instance);
    }
    // Creates and opens on bind_address; returns the bound address.
    om_address open(const char* bind_address)
    {
        REQUIRE(create() == OM_OK);
        plugin_.ctx->check_settings_read();
        REQUIRE(vtbl_->open(plugin_.instance, bind_address) == OM_OK);
        om_address local{};
        REQUIRE(vtbl_->local_address(plugin_.instance, &local) == OM_OK);
        return local;
    }
    void close() { vtbl_->close(plugin_.instance); }
    int32_t reopen(const char* bind_address) { return vtbl_->open(plugin_.instance, bind_address); }
    int fd() { return vtbl_->poll_fd(plugin_.instance); }

    int32_t send(const std::vector<om_datagram>& batch, size_t& sent)
    {
        return vtbl_->send(plugin_.instance, batch.data(), batch.size(), &sent);
    }

    // Drains until `count` datagrams arrived in all or two seconds passed.
    const std::vector<Received>& wait_for(size_t count)
    {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
        while (received.size() < count && std::chrono::steady_clock::now() < deadline) {
            size_t drained = 0;
            REQUIRE(vtbl_->drain(plugin_.instance, 256, &drained) == OM_OK);
            if (drained == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        // Anything beyond `count` would be a duplicate or a split gone wrong.
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        size_t drained = 0;
        REQUIRE(vtbl_->drain(plugin_.instance, 256, &drained) == OM_OK);
        return received;
    }

    uint64_t counter(const std::string& name) const { return counters_.get("plugin.transport-udp." + name); }
    std::string take_error() { return plugin_.ctx->take_error(); }

    std::vector<Received> received;

private:
    static void on_datagram(void* user_data, const om_datagram* d)
    {
        auto& self = *static_cast<UdpInstance*>(user_data);
        self.received.push_back({std::string(reinterpret_cast<const char*>(d->data), d->len), d->peer});
    }

    om::PluginOptions options_;
    om::EventLoop loop_;
    om::Counters counters_;
    om::PluginInstance plugin_;
    const om_transport_vtbl* vtbl_ = nullptr;
};

// A payload that names its datagram: byte k of datagram `index` is (index * 31 + k) mod 251.
std::string payload(size_t index, size_t length)
{
    std::string out(length, '\0');
    for (size_t k = 0; k < length; ++k) out[k] = static_cast<char>((index * 31 + k) % 251);
    return out;
}

// Datagrams to send: their payloads (kept alive here) and om_datagrams pointing into them.
struct Batch {
    std::vector<std::string> payloads;
    std::vector<om_datagram> datagrams;

    void add(const om_address& to, size_t length)
    {
        payloads.push_back(payload(payloads.size(), length));
        to_of.push_back(to);
    }
    // Builds the om_datagrams; payloads are laid out one after the other in one buffer, as a
    // packet writer would produce them (adjacent in memory).
    const std::vector<om_datagram>& build()
    {
        size_t total = 0;
        for (const auto& p : payloads) total += p.size();
        arena.assign(total, '\0');
        datagrams.clear();
        size_t offset = 0;
        for (size_t i = 0; i < payloads.size(); ++i) {
            std::memcpy(arena.data() + offset, payloads[i].data(), payloads[i].size());
            datagrams.push_back({reinterpret_cast<const uint8_t*>(arena.data() + offset), payloads[i].size(), to_of[i]});
            offset += payloads[i].size();
        }
        return datagrams;
    }
    // The payloads sent to `to`, in order.
    std::vector<std::string> sent_to(const om_address& to) const
    {
        std::vector<std::string> out;
        for (size_t i = 0; i < payloads.size(); ++i)
            if (om::proto::format_address(to_of[i]) == om::proto::format_address(to)) out.push_back(payloads[i]);
        return out;
    }

    std::vector<om_address> to_of;
    std::string arena;
};

// 40 datagrams of 1200 bytes and a last one of 345: one GSO run.
Batch quic_like_batch(const om_address& to)
{
    Batch b;
    for (int i = 0; i < 40; ++i) b.add(to, 1200);
    b.add(to, 345);
    b.build();
    return b;
}

void check_arrived(const std::vector<Received>& got, const std::vector<std::string>& expected, const om_address& from)
{
    REQUIRE(got.size() == expected.size());
    for (size_t i = 0; i < expected.size(); ++i) {
        INFO("datagram " << i);
        CHECK(got[i].data.size() == expected[i].size());
        CHECK(got[i].data == expected[i]);
        CHECK(om::proto::format_address(got[i].from) == om::proto::format_address(from));
    }
}

}  // namespace

TEST_CASE("transport-udp GSO: 40 equal datagrams and a short last one leave in one message, arrive as 41",
          "[transport-udp][gso]")
{
    auto registry = test::registry_of({});
    UdpInstance a(registry), b(registry, "transport-udp.gro=0");
    const om_address at_a = a.open("127.0.0.1:0");
    const om_address at_b = b.open("127.0.0.1:0");

    Batch batch = quic_like_batch(at_b);
    size_t sent = 0;
    REQUIRE(a.send(batch.datagrams, sent) == OM_OK);
    CHECK(sent == 41);
    CHECK(a.counter("datagrams_sent") == 41);
    CHECK(a.counter("bytes_sent") == 40 * 1200 + 345);
    CHECK(a.counter("gso_sends") == 1);
    CHECK(a.counter("gso_segments") == 41);
    CHECK(a.counter("gso_disabled") == 0);

    // Without GRO the receiving kernel splits the message: 41 reads, no coalescing.
    check_arrived(b.wait_for(41), batch.sent_to(at_b), at_a);
    CHECK(b.counter("datagrams_received") == 41);
    CHECK(b.counter("bytes_received") == 40 * 1200 + 345);
    CHECK(b.counter("gro_segments") == 0);
}

TEST_CASE("transport-udp GRO: a coalesced read is split into the datagrams the peer sent", "[transport-udp][gro]")
{
    auto registry = test::registry_of({});
    UdpInstance a(registry), b(registry);  // both on by default
    const om_address at_a = a.open("127.0.0.1:0");
    const om_address at_b = b.open("127.0.0.1:0");

    SECTION("one run with a short last datagram")
    {
        Batch batch = quic_like_batch(at_b);
        size_t sent = 0;
        REQUIRE(a.send(batch.datagrams, sent) == OM_OK);
        CHECK(sent == 41);
        check_arrived(b.wait_for(41), batch.sent_to(at_b), at_a);
        // Over loopback the GSO message reaches a GRO socket whole: one read, split here.
        CHECK(b.counter("gro_segments") == 41);
        CHECK(b.counter("datagrams_received") == 41);
        CHECK(b.counter("bytes_received") == 40 * 1200 + 345);
    }
    SECTION("runs of several sizes, all segments full, and single datagrams between them")
    {
        Batch batch;
        for (int i = 0; i < 64; ++i) batch.add(at_b, 1000);  // 64 segments: the most in one message
        for (int i = 0; i < 3; ++i) batch.add(at_b, 1000);   // the next message
        for (int i = 0; i < 5; ++i) batch.add(at_b, 77);
        batch.add(at_b, 1);
        batch.add(at_b, 0);  // an empty datagram never joins a run (it would vanish in it)
        batch.add(at_b, 1400);
        for (int i = 0; i < 2; ++i) batch.add(at_b, 9000);  // larger than 1500, within loopback's MTU
        batch.build();
        size_t sent = 0;
        REQUIRE(a.send(batch.datagrams, sent) == OM_OK);
        CHECK(sent == batch.datagrams.size());
        // [64 x 1000] [3 x 1000] [5 x 77, 1] [0] [1400] [2 x 9000]
        CHECK(a.counter("gso_sends") == 4);
        CHECK(a.counter("gso_segments") == 64 + 3 + 6 + 2);
        check_arrived(b.wait_for(batch.datagrams.size()), batch.sent_to(at_b), at_a);
        CHECK(b.counter("gro_segments") == 64 + 3 + 6 + 2);
    }
    SECTION("the 65,000-byte cap splits a run of large datagrams")
    {
        Batch batch;
        for (int i = 0; i < 10; ++i) batch.add(at_b, 16000);  // 4 fit in 65,000 bytes
        batch.build();
        size_t sent = 0;
        REQUIRE(a.send(batch.datagrams, sent) == OM_OK);
        CHECK(sent == 10);
        CHECK(a.counter("gso_sends") == 3);  // 4 + 4 + 2
        CHECK(a.counter("gso_segments") == 10);
        check_arrived(b.wait_for(10), batch.sent_to(at_b), at_a);
    }
}

TEST_CASE("transport-udp: reads of many, then one, then many reuse the receive slots without stale state",
          "[transport-udp][gro]")
{
    // The receiver resets only the slots its last read filled. A slot left as the kernel wrote
    // it (a shorter name or control length, a MSG_TRUNC flag) would lose the GRO segment size
    // or the source of a later read in that slot.
    auto registry = test::registry_of({});
    UdpInstance coalescing(registry), single(registry, "transport-udp.gso=0"), b(registry);
    const om_address at_coalescing = coalescing.open("127.0.0.1:0");
    const om_address at_single = single.open("127.0.0.1:0");
    const om_address at_b = b.open("127.0.0.1:0");

    size_t expected_total = 0;
    for (int round = 0; round < 6; ++round) {
        INFO("round " << round);
        // Even rounds: many slots (separate datagrams of several sizes, then a GRO run, so one
        // slot carries a control message). Odd rounds: one datagram, one slot.
        Batch separate, run;
        const int count = round % 2 == 0 ? 20 + round : 1;
        for (int i = 0; i < count; ++i) separate.add(at_b, size_t(100 + 37 * i + round));
        separate.build();
        size_t sent = 0;
        REQUIRE(single.send(separate.datagrams, sent) == OM_OK);
        b.received.clear();
        check_arrived(b.wait_for(separate.datagrams.size()), separate.sent_to(at_b), at_single);
        if (round % 2 == 0) {
            for (int i = 0; i < 8; ++i) run.add(at_b, 900);
            run.add(at_b, 50);
            run.build();
            REQUIRE(coalescing.send(run.datagrams, sent) == OM_OK);
            b.received.clear();
            check_arrived(b.wait_for(run.datagrams.size()), run.sent_to(at_b), at_coalescing);
        }
        expected_total += separate.datagrams.size() + run.datagrams.size();
    }
    CHECK(b.counter("datagrams_received") == expected_total);
    CHECK(b.counter("gro_segments") == 3 * 9);
}

TEST_CASE("transport-udp GSO: a batch to several peers groups per consecutive run, each peer gets its own in order",
          "[transport-udp][gso]")
{
    auto registry = test::registry_of({});
    UdpInstance a(registry), b(registry), c(registry, "transport-udp.gro=0");
    const om_address at_a = a.open("127.0.0.1:0");
    const om_address at_b = b.open("127.0.0.1:0");
    const om_address at_c = c.open("127.0.0.1:0");

    Batch batch;
    for (int i = 0; i < 5; ++i) batch.add(at_b, 1200);  // run 1
    for (int i = 0; i < 3; ++i) batch.add(at_c, 1200);  // run 2: another peer ends run 1
    batch.add(at_b, 1200);                               // run 3, with the two after it
    batch.add(at_b, 1200);
    batch.add(at_b, 500);
    batch.add(at_b, 500);                                // after a short one: a new message
    batch.add(at_c, 700);                                // alone
    batch.add(at_b, 1200);                               // alone: the next one is larger
    batch.add(at_b, 1300);                               // run 4 with the first 600 after it
    for (int i = 0; i < 4; ++i) {                        // alternating peers: nothing to group
        batch.add(at_b, 600);
        batch.add(at_c, 600);
    }
    batch.build();

    size_t sent = 0;
    REQUIRE(a.send(batch.datagrams, sent) == OM_OK);
    CHECK(sent == batch.datagrams.size());
    CHECK(a.counter("datagrams_sent") == batch.datagrams.size());
    CHECK(a.counter("gso_sends") == 4);
    CHECK(a.counter("gso_segments") == 5 + 3 + 3 + 2);

    const auto for_b = batch.sent_to(at_b);
    const auto for_c = batch.sent_to(at_c);
    check_arrived(b.wait_for(for_b.size()), for_b, at_a);
    check_arrived(c.wait_for(for_c.size()), for_c, at_a);
}

TEST_CASE("transport-udp: gso=0 and gro=0 turn the batching off, a bad value is refused", "[transport-udp][gso]")
{
    auto registry = test::registry_of({});

    SECTION("gso=0 sends every datagram as its own message")
    {
        UdpInstance a(registry, "transport-udp.gso=0"), b(registry);
        const om_address at_a = a.open("127.0.0.1:0");
        const om_address at_b = b.open("127.0.0.1:0");
        Batch batch = quic_like_batch(at_b);
        size_t sent = 0;
        REQUIRE(a.send(batch.datagrams, sent) == OM_OK);
        CHECK(sent == 41);
        CHECK(a.counter("gso_sends") == 0);
        CHECK(a.counter("gso_segments") == 0);
        CHECK(a.counter("gso_disabled") == 0);  // off by choice, not refused
        check_arrived(b.wait_for(41), batch.sent_to(at_b), at_a);
        CHECK(b.counter("gro_segments") == 0);  // nothing coalesced on loopback without GSO
    }
    SECTION("gro=0 on the receiver, gso=1 explicitly on the sender")
    {
        UdpInstance a(registry, "transport-udp.gso=1"), b(registry, "transport-udp.gro=0");
        const om_address at_a = a.open("127.0.0.1:0");
        const om_address at_b = b.open("127.0.0.1:0");
        Batch batch = quic_like_batch(at_b);
        size_t sent = 0;
        REQUIRE(a.send(batch.datagrams, sent) == OM_OK);
        CHECK(a.counter("gso_sends") == 1);
        check_arrived(b.wait_for(41), batch.sent_to(at_b), at_a);
        CHECK(b.counter("gro_segments") == 0);
        CHECK(b.counter("batches") >= 1);
    }
    SECTION("a value other than 0 or 1 fails the creation, naming the key")
    {
        for (const char* bad : {"transport-udp.gso=yes", "transport-udp.gro=2", "transport-udp.gso="}) {
            INFO(bad);
            UdpInstance a(registry, bad);
            CHECK(a.create() == OM_ERR_INVALID_ARGUMENT);
            const std::string error = a.take_error();
            CHECK((test::contains(error, "transport-udp.gso") || test::contains(error, "transport-udp.gro")));
            CHECK(test::contains(error, "expected 0 (off) or 1 (on)"));
        }
    }
}

TEST_CASE("transport-udp GSO: a kernel refusal turns GSO off for the socket without losing the call's datagrams",
          "[transport-udp][gso]")
{
    auto registry = test::registry_of({});
    UdpInstance a(registry), b(registry);
    const om_address at_a = a.open("127.0.0.1:0");
    const om_address at_b = b.open("127.0.0.1:0");
    // Without UDP checksums the kernel refuses every GSO message (EINVAL), while single
    // datagrams still go: the same answer as from a device that cannot segment.
    const int on = 1;
    REQUIRE(::setsockopt(a.fd(), SOL_SOCKET, SO_NO_CHECK, &on, sizeof on) == 0);

    Batch first;
    for (int i = 0; i < 3; ++i) first.add(at_b, 100);  // three alone, then a run
    Batch run = quic_like_batch(at_b);
    for (size_t i = 0; i < run.payloads.size(); ++i) first.add(at_b, run.payloads[i].size());
    first.build();
    size_t sent = 0;
    REQUIRE(a.send(first.datagrams, sent) == OM_OK);
    CHECK(sent == first.datagrams.size());
    CHECK(a.counter("gso_disabled") == 1);
    CHECK(a.counter("gso_sends") == 0);
    CHECK(a.counter("datagrams_sent") == first.datagrams.size());
    CHECK(a.counter("send_errors") == 0);
    check_arrived(b.wait_for(first.datagrams.size()), first.sent_to(at_b), at_a);

    // Off for the rest of this socket's life: no new attempt, no new count.
    Batch second = quic_like_batch(at_b);
    REQUIRE(a.send(second.datagrams, sent) == OM_OK);
    CHECK(sent == 41);
    CHECK(a.counter("gso_disabled") == 1);
    CHECK(a.counter("gso_sends") == 0);
    b.received.clear();
    check_arrived(b.wait_for(41), second.sent_to(at_b), at_a);

    // A new socket tries again.
    a.close();
    REQUIRE(a.reopen("127.0.0.1:0") == OM_OK);
    Batch third = quic_like_batch(at_b);
    REQUIRE(a.send(third.datagrams, sent) == OM_OK);
    CHECK(sent == 41);
    CHECK(a.counter("gso_sends") == 1);
}

TEST_CASE("transport-udp GSO and GRO over IPv6 on ::1", "[transport-udp][gso][gro]")
{
    auto registry = test::registry_of({});
    UdpInstance a(registry), b(registry), c(registry, "transport-udp.gro=0");
    const om_address at_a = a.open("[::1]:0");
    const om_address at_b = b.open("[::1]:0");
    const om_address at_c = c.open("[::1]:0");
    REQUIRE(at_a.family == 6);

    Batch batch;
    for (int i = 0; i < 40; ++i) batch.add(at_b, 1200);
    batch.add(at_b, 345);
    for (int i = 0; i < 10; ++i) batch.add(at_c, 1180);
    batch.add(at_c, 1180);
    batch.build();
    size_t sent = 0;
    REQUIRE(a.send(batch.datagrams, sent) == OM_OK);
    CHECK(sent == batch.datagrams.size());
    CHECK(a.counter("gso_sends") == 2);
    CHECK(a.counter("gso_segments") == 41 + 11);
    CHECK(a.counter("gso_disabled") == 0);

    check_arrived(b.wait_for(41), batch.sent_to(at_b), at_a);
    CHECK(b.counter("gro_segments") == 41);
    check_arrived(c.wait_for(11), batch.sent_to(at_c), at_a);
    CHECK(c.counter("gro_segments") == 0);
}
