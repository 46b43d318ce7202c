// One STUN receive thread: polls its sockets, reads batches (recvmmsg), rate-limits each source,
// answers through the BindingResponder, and sends each batch's answers (sendmmsg) from the
// socket of the endpoint that must answer (RFC 5780 §6.1). Everything it needs is allocated
// when it is built; nothing per packet.
#pragma once

#include "stun/binding_responder.hpp"
#include "stun/rate_limiter.hpp"
#include "stun/stun_counters.hpp"
#include "stun/udp_batch.hpp"

#include <array>
#include <atomic>
#include <vector>

namespace om::server {

class TurnRelay;

struct StunReceiveSocket {
    int fd = -1;
    int endpoint = EndpointTable::kPrimary;
};

class StunWorker {
public:
    // send_fds: the socket that sends for each endpoint (-1 when absent); wildcard: the bind
    // address is a wildcard (answers name their source IP through pktinfo).
    StunWorker(std::vector<StunReceiveSocket> receive, std::array<int, EndpointTable::kCount> send_fds,
               const EndpointTable& endpoints, bool wildcard, uint32_t rate_limit, StunCounters& counters,
               TurnRelay* relay = nullptr);
    StunWorker(const StunWorker&) = delete;
    StunWorker& operator=(const StunWorker&) = delete;

    // Serves until stop_fd (an eventfd) becomes readable.
    void run(int stop_fd);

private:
    // Reads and answers one batch (up to kBatchSize datagrams) from a socket.
    void serve_batch(const StunReceiveSocket& socket);
    void count(const StunReply& reply);
    void log_malformed(const om_address& source, const char* why);

    std::vector<StunReceiveSocket> receive_;
    std::array<int, EndpointTable::kCount> send_fds_;
    bool wildcard_;
    BindingResponder responder_;
    RateLimiter limiter_;
    StunCounters& counters_;
    TurnRelay* relay_;  // TURN methods and ChannelData on the primary socket go here
    StunTally tally_;
    RecvBatch in_;
    std::array<SendBatch, EndpointTable::kCount> out_;
};

} // namespace om::server
