// The embedded STUN server (RFC 8489 Binding, RFC 5780 behaviour discovery, RFC 3489 classic
// clients): its sockets on (A1,P1) (one per receive thread, SO_REUSEPORT) and on the alternates
// (A1,P2) (A2,P1) (A2,P2) as configured (one each), and the threads that serve them.
#pragma once

#include "stun/endpoint_table.hpp"
#include "stun/stun_config.hpp"
#include "stun/stun_counters.hpp"

#include <array>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

namespace om::server {

class ServerMetrics;
class StunWorker;
class TurnRelay;
class TurnTcp;

class StunServer {
public:
    StunServer(StunConfig config, ServerMetrics& metrics);
    ~StunServer();
    StunServer(const StunServer&) = delete;
    StunServer& operator=(const StunServer&) = delete;

    // Binds every socket and starts the threads. Throws om::Error(OM_ERR_IO) naming the address
    // when a port is already in use (also by another process's SO_REUSEPORT group).
    void start();
    void stop(); // idempotent
    uint16_t port() const { return port_; }         // P1, once started
    uint16_t alt_port() const { return alt_port_; } // P2, 0 when none
    TurnRelay* relay() const { return relay_.get(); }  // nullptr when the relay is off

private:
    void choose_ports(const om_address& a1, const om_address& a2);
    void open_sockets(const om_address& a1, int threads);
    void start_workers(int threads, bool wildcard);
    void close_all();

    StunConfig config_;
    ServerMetrics& metrics_;
    StunCounters counters_;
    std::unique_ptr<TurnRelay> relay_;
    std::unique_ptr<TurnTcp> relay_tcp_;
    uint16_t port_ = 0;
    uint16_t alt_port_ = 0;
    std::unique_ptr<EndpointTable> endpoints_;
    std::vector<int> primary_fds_;                    // (A1,P1), one per thread
    std::array<int, EndpointTable::kCount> alt_fds_{}; // index 0 unused
    int stop_fd_ = -1;
    std::vector<std::unique_ptr<StunWorker>> workers_;
    std::vector<std::thread> threads_;
};

} // namespace om::server
