#include "stun/stun_server.hpp"

#include "stun/socket_address.hpp"
#include "stun/stun_socket.hpp"
#include "stun/stun_worker.hpp"
#include "turn/turn_relay.hpp"
#include "turn/turn_tcp.hpp"

#include "core/error.h"
#include "core/log.h"
#include "proto/address.h"
#include "proto/socket_address.h"

#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace om::server {
namespace {

using namespace stun_net;

om_address at(om_address a, uint16_t port) {
    a.port = port;
    return a;
}

void require_free(const om_address& address) {
    std::string why;
    if (!port_is_free(address, &why))
        om::fail(OM_ERR_IO, "STUN: UDP " + proto::format_address(address) + " is not available: " + why);
}

// Whether a TCP listener could bind address (the TURN relay's TCP front end shares the port).
bool tcp_port_is_free(const om_address& address) {
    proto::SocketAddress sa;
    const int fd = ::socket(address.family == 6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    const bool free = proto::to_socket_address(address, address.family == 6 ? AF_INET6 : AF_INET, sa) &&
                      ::bind(fd, sa.get(), sa.length) == 0;
    ::close(fd);
    return free;
}

// A port free on a1 and, when given, on a2 too (RFC 5780 §6: the same ports on both IPs); with
// `tcp`, free for TCP on a1 as well (the TURN relay listens there too).
uint16_t pick_free_port(const om_address& a1, const om_address& a2, uint16_t avoid, bool tcp = false) {
    for (int attempt = 0; attempt < 32; ++attempt) {
        int fd = open_udp(at(a1, 0), false, false);
        uint16_t port = local_address(fd).port;
        close_fd(fd);
        if (port == avoid) continue;
        if (tcp && !tcp_port_is_free(at(a1, port))) continue;
        if (a2.family != 0 && !port_is_free(at(a2, port))) continue;
        return port;
    }
    om::fail(OM_ERR_IO, "STUN: found no UDP port free on both " + proto::format_address(a1) + " and " +
                            proto::format_address(a2));
}

int thread_count(int configured) {
    if (configured > 0) return configured;
    return static_cast<int>(std::clamp(std::thread::hardware_concurrency(), 1u, 64u));
}

} // namespace

StunServer::StunServer(StunConfig config, ServerMetrics& metrics)
    : config_(std::move(config)), metrics_(metrics), counters_(metrics) {
    alt_fds_.fill(-1);
}

StunServer::~StunServer() { stop(); }

void StunServer::start() {
    om_address a1 = parse_ip(config_.bind, 0);
    om_address a2 = config_.alt_address.empty() ? om_address{} : parse_ip(config_.alt_address, 0);
    if (a2.family != 0 && a2.family != a1.family)
        om::fail(OM_ERR_INVALID_ARGUMENT, "STUN: the alternate address must be of the primary's family");
    if (a2.family != 0 && is_wildcard(a1))
        om::fail(OM_ERR_INVALID_ARGUMENT, "STUN: a wildcard bind cannot have an alternate address");
    const int threads = thread_count(config_.threads);
    try {
        choose_ports(a1, a2);
        endpoints_ = std::make_unique<EndpointTable>(a1, port_, a2, alt_port_);
        open_sockets(a1, threads);
        if (config_.turn.enabled) {
            // RFC 8656 on the STUN port: relayed sockets on the same concrete address.
            relay_ = std::make_unique<TurnRelay>(config_.turn, a1, metrics_);
            // TURN over TCP on the same port (RFC 8656 §3.1), for networks that block UDP.
            relay_->start();  // first: the TCP thread may allocate at once
            relay_tcp_ = std::make_unique<TurnTcp>(*relay_, at(a1, port_), metrics_, relay_->max_allocations(),
                                                   static_cast<uint32_t>(std::max(0, config_.rate_limit)));
            relay_tcp_->start();
        }
        start_workers(threads, is_wildcard(a1));
    } catch (...) {
        stop();
        throw;
    }
}

void StunServer::choose_ports(const om_address& a1, const om_address& a2) {
    if (config_.port > 0) {
        port_ = static_cast<uint16_t>(config_.port);
        require_free(at(a1, port_)); // without SO_REUSEPORT: a second server is refused here
        if (a2.family != 0) require_free(at(a2, port_));
    } else {
        // Never the fixed alternate port: its bind would then fail.
        port_ = pick_free_port(a1, a2, config_.alt_port > 0 ? static_cast<uint16_t>(config_.alt_port) : 0,
                               config_.turn.enabled);
    }
    if (config_.alt_port > 0) {
        alt_port_ = static_cast<uint16_t>(config_.alt_port);
    } else if (config_.alt_port < 0) {
        alt_port_ = pick_free_port(a1, a2, port_);
    }
}

void StunServer::open_sockets(const om_address& a1, int threads) {
    const bool pktinfo = is_wildcard(a1);
    for (int i = 0; i < threads; ++i) primary_fds_.push_back(open_udp(at(a1, port_), true, pktinfo));
    if (threads > 1 && !steer_by_source_ip(primary_fds_[0], a1.family, static_cast<uint32_t>(threads)))
        om::log_message(OM_LOG_WARNING, "stun: cannot steer sources to threads (SO_ATTACH_REUSEPORT_CBPF): "
                                         "the rate limit holds per thread");
    for (int e = 1; e < EndpointTable::kCount; ++e) {
        if (endpoints_->present(e)) alt_fds_[e] = open_udp(endpoints_->address(e), false, pktinfo);
    }
}

void StunServer::start_workers(int threads, bool wildcard) {
    stop_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (stop_fd_ < 0) om::fail(OM_ERR_IO, std::string("STUN: eventfd: ") + std::strerror(errno));
    const uint32_t rate = static_cast<uint32_t>(std::max(0, config_.rate_limit));
    for (int i = 0; i < threads; ++i) {
        std::vector<StunReceiveSocket> receive{{primary_fds_[i], EndpointTable::kPrimary}};
        std::array<int, EndpointTable::kCount> send = alt_fds_;
        send[EndpointTable::kPrimary] = primary_fds_[i];
        // Each alternate socket is read by one thread; behaviour discovery is light traffic.
        for (int e = 1; e < EndpointTable::kCount; ++e) {
            if (alt_fds_[e] >= 0 && (e - 1) % threads == i) receive.push_back({alt_fds_[e], e});
        }
        workers_.push_back(
            std::make_unique<StunWorker>(std::move(receive), send, *endpoints_, wildcard, rate, counters_, relay_.get()));
    }
    for (auto& worker : workers_) {
        threads_.emplace_back([w = worker.get(), fd = stop_fd_] { w->run(fd); });
    }
}

void StunServer::stop() {
    if (stop_fd_ >= 0) {
        uint64_t one = 1;
        ssize_t written = ::write(stop_fd_, &one, sizeof one);
        (void)written;
    }
    for (std::thread& t : threads_) t.join();
    threads_.clear();
    workers_.clear();
    if (relay_tcp_) relay_tcp_->stop();  // before the relay: its connections' allocations go
    relay_tcp_.reset();
    if (relay_) relay_->stop();  // after the workers: none of them still hands it datagrams
    relay_.reset();
    close_all();
}

void StunServer::close_all() {
    for (int fd : primary_fds_) close_fd(fd);
    primary_fds_.clear();
    for (int& fd : alt_fds_) {
        close_fd(fd);
        fd = -1;
    }
    close_fd(stop_fd_);
    stop_fd_ = -1;
}

} // namespace om::server
