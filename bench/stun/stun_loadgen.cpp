// stun_loadgen: a closed-loop STUN Binding load generator. K UDP sockets each keep W requests
// outstanding against one server (sendmmsg/recvmmsg, one thread); a request unanswered after
// --timeout-ms is lost and its slot reused. Prints one JSON line: sent, answered, lost,
// responses_per_s, rtt_us_avg. bench/stun/run drives it; it is not a test.
//
// usage: stun_loadgen --server 127.0.0.1:3478 [--sockets 4] [--window 32] [--seconds 5]
//                     [--timeout-ms 200]
#include "proto/address.h"
#include "proto/stun.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
namespace stun = om::proto::stun;

constexpr size_t kBatch = 64;
constexpr size_t kRequestSize = stun::kHeaderSize; // a bare Binding request
constexpr uint32_t kSlots = 1 << 14;             // per socket; more than any window

struct Options {
    std::string server = "127.0.0.1:3478";
    int sockets = 4;
    int window = 32;
    double seconds = 5;
    int timeout_ms = 200;
};

Options parse_options(int argc, char** argv) {
    Options o;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string name = argv[i];
        std::string value = argv[i + 1];
        if (name == "--server") o.server = value;
        else if (name == "--sockets") o.sockets = std::stoi(value);
        else if (name == "--window") o.window = std::stoi(value);
        else if (name == "--seconds") o.seconds = std::stod(value);
        else if (name == "--timeout-ms") o.timeout_ms = std::stoi(value);
        else throw std::runtime_error("unknown option " + name);
    }
    if (o.sockets < 1 || o.window < 1 || o.window * 2 > static_cast<int>(kSlots) || o.seconds <= 0)
        throw std::runtime_error("bad --sockets/--window/--seconds");
    return o;
}

// One socket's requests: sequence numbers go in the transaction id, their send times in a ring.
struct Flow {
    int fd = -1;
    uint32_t index = 0;
    uint64_t next_seq = 0;   // next to send
    uint64_t oldest = 0;     // oldest possibly outstanding
    int outstanding = 0;
    std::vector<int64_t> sent_at_ns = std::vector<int64_t>(kSlots, -1); // -1: answered or lost
};

struct Totals {
    uint64_t sent = 0, answered = 0, lost = 0;
    double rtt_sum_us = 0;
};

int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}

void write_request(uint8_t* out, uint32_t flow, uint64_t seq) {
    stun::TransactionId id{};
    std::memcpy(id.data(), &flow, 4);
    std::memcpy(id.data() + 4, &seq, 8);
    stun::Builder b(std::span<uint8_t>(out, kRequestSize), stun::method::Binding, stun::Class::Request, id);
    if (b.finish() != kRequestSize) throw std::runtime_error("cannot build a Binding request");
}

class LoadGenerator {
public:
    explicit LoadGenerator(const Options& o) : options_(o), flows_(static_cast<size_t>(o.sockets)) {
        om_address server{};
        std::string why;
        if (!om::proto::parse_address(o.server, 3478, server, &why)) throw std::runtime_error("--server: " + why);
        if (server.family != 4) throw std::runtime_error("--server: IPv4 only");
        server_.sin_family = AF_INET;
        server_.sin_port = htons(server.port);
        std::memcpy(&server_.sin_addr, server.bytes, 4);
        for (size_t i = 0; i < flows_.size(); ++i) {
            Flow& f = flows_[i];
            f.index = static_cast<uint32_t>(i);
            f.fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
            int buffer = 4 << 20;
            ::setsockopt(f.fd, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof buffer);
            if (::connect(f.fd, reinterpret_cast<sockaddr*>(&server_), sizeof server_) != 0)
                throw std::runtime_error("connect failed");
        }
    }

    Totals run() {
        const int64_t start = now_ns();
        const int64_t stop_sending = start + static_cast<int64_t>(options_.seconds * 1e9);
        const int64_t timeout = int64_t{options_.timeout_ms} * 1'000'000;
        std::vector<pollfd> fds;
        for (Flow& f : flows_) fds.push_back({f.fd, POLLIN, 0});
        for (;;) {
            const int64_t now = now_ns();
            const bool sending = now < stop_sending;
            bool any_outstanding = false;
            for (Flow& f : flows_) {
                expire(f, now, timeout);
                if (sending) fill(f, now);
                any_outstanding |= f.outstanding > 0;
            }
            if (!sending && (!any_outstanding || now > stop_sending + 2 * timeout)) break;
            ::poll(fds.data(), fds.size(), 1);
            for (Flow& f : flows_) receive(f);
        }
        for (Flow& f : flows_) totals_.lost += static_cast<uint64_t>(f.outstanding);
        elapsed_s_ = static_cast<double>(stop_sending - start) / 1e9;
        return totals_;
    }
    double elapsed_s() const { return elapsed_s_; }

private:
    void fill(Flow& f, int64_t now) {
        // The ring holds kSlots sequence numbers past the oldest one still tracked.
        while (f.outstanding < options_.window && f.next_seq - f.oldest + kBatch < kSlots) {
            size_t n = std::min<size_t>(kBatch, static_cast<size_t>(options_.window - f.outstanding));
            for (size_t i = 0; i < n; ++i) {
                write_request(out_[i], f.index, f.next_seq + i);
                iov_[i] = {out_[i], kRequestSize};
                hdr_[i] = {};
                hdr_[i].msg_hdr.msg_iov = &iov_[i];
                hdr_[i].msg_hdr.msg_iovlen = 1;
            }
            int sent = ::sendmmsg(f.fd, hdr_, static_cast<unsigned>(n), 0);
            if (sent <= 0) return; // socket buffer full: try again next round
            for (int i = 0; i < sent; ++i) f.sent_at_ns[(f.next_seq + static_cast<uint64_t>(i)) % kSlots] = now;
            f.next_seq += static_cast<uint64_t>(sent);
            f.outstanding += sent;
            totals_.sent += static_cast<uint64_t>(sent);
        }
    }

    void expire(Flow& f, int64_t now, int64_t timeout) {
        while (f.oldest < f.next_seq) {
            int64_t& at = f.sent_at_ns[f.oldest % kSlots];
            if (at >= 0 && now - at < timeout) break;
            if (at >= 0) { // unanswered in time
                at = -1;
                --f.outstanding;
                ++totals_.lost;
            }
            ++f.oldest;
        }
    }

    void receive(Flow& f) {
        for (;;) {
            for (size_t i = 0; i < kBatch; ++i) {
                iov_[i] = {in_[i], sizeof in_[i]};
                hdr_[i] = {};
                hdr_[i].msg_hdr.msg_iov = &iov_[i];
                hdr_[i].msg_hdr.msg_iovlen = 1;
            }
            int n = ::recvmmsg(f.fd, hdr_, kBatch, MSG_DONTWAIT, nullptr);
            if (n <= 0) return;
            const int64_t now = now_ns();
            for (int i = 0; i < n; ++i) match(f, in_[i], hdr_[i].msg_len, now);
        }
    }

    // A Binding success response (RFC 8489 §5: type 0x0101) whose id names this flow.
    void match(Flow& f, const uint8_t* p, size_t len, int64_t now) {
        if (len < stun::kHeaderSize || p[0] != 0x01 || p[1] != 0x01) return;
        uint32_t flow = 0;
        uint64_t seq = 0;
        std::memcpy(&flow, p + 8, 4);
        std::memcpy(&seq, p + 12, 8);
        if (flow != f.index || seq >= f.next_seq || seq < f.oldest) return;
        int64_t& at = f.sent_at_ns[seq % kSlots];
        if (at < 0) return; // a duplicate, or already counted lost
        totals_.rtt_sum_us += static_cast<double>(now - at) / 1e3;
        at = -1;
        --f.outstanding;
        ++totals_.answered;
    }

    Options options_;
    sockaddr_in server_{};
    std::vector<Flow> flows_;
    Totals totals_;
    double elapsed_s_ = 0;
    uint8_t out_[kBatch][kRequestSize]{};
    uint8_t in_[kBatch][1500]{};
    iovec iov_[kBatch]{};
    mmsghdr hdr_[kBatch]{};
};

} // namespace

int main(int argc, char** argv) {
    try {
        Options o = parse_options(argc, argv);
        LoadGenerator generator(o);
        Totals t = generator.run();
        std::printf("{\"sockets\":%d,\"window\":%d,\"seconds\":%.2f,\"sent\":%llu,\"answered\":%llu,\"lost\":%llu,"
                    "\"responses_per_s\":%.0f,\"rtt_us_avg\":%.1f}\n",
                    o.sockets, o.window, generator.elapsed_s(), static_cast<unsigned long long>(t.sent),
                    static_cast<unsigned long long>(t.answered), static_cast<unsigned long long>(t.lost),
                    static_cast<double>(t.answered) / generator.elapsed_s(),
                    t.answered ? t.rtt_sum_us / static_cast<double>(t.answered) : 0.0);
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "stun_loadgen: %s\n", e.what());
        return 2;
    }
}
