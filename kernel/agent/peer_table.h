// What the agent knows about each peer: status, path, metrics, and the callers waiting for a
// connection to complete. Loop thread only.
#pragma once

#include "agent/ice/ice_session.h"
#include "agent/ice/p2p_frame.h"

#include <orbitmesh/orbitmesh.h>

#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace om {

// A caller blocked in a public call until the loop completes its operation.
class Completion {
public:
    void complete(om_status status, std::string message);
    // False on timeout (the operation may still complete later, unobserved).
    bool wait(int timeout_ms);
    om_status status() const { return status_; }
    const std::string& message() const { return message_; }

private:
    std::mutex mutex_;
    std::condition_variable cv_;
    bool done_ = false;
    om_status status_ = OM_ERR_INTERNAL;
    std::string message_;
};

// The direct path to one peer: its ICE session and the data frames' state.
struct P2PLink {
    std::unique_ptr<ice::Session> session;  // kept after a failure: its pairs explain it
    uint64_t timer = 0;
    std::string local_ufrag, local_pwd;  // ours, sent in connect_request/response
    ice::FrameTag send_tag{}, recv_tag{};
    om_address remote{};                // the selected pair's remote address
    uint64_t next_seq = 1;
    uint64_t highest_seq = 0, first_seq = 0, frames_received = 0;  // loss accounting
    uint64_t sequenced_last = 0;        // sequenced mode: older frames are dropped
    // Frames that arrive while the nominated pair is still being validated, delivered once it is
    // (bounded: kMaxEarlyFrames).
    struct EarlyFrame {
        om_address from;
        uint8_t mode;
        uint64_t seq;
        std::vector<uint8_t> payload;
    };
    std::vector<EarlyFrame> early;
};

struct PeerRecord {
    om_peer_status status = OM_PEER_DISCONNECTED;
    om_transport_type transport = OM_TRANSPORT_NONE;
    om_strategy strategy = OM_STRATEGY_NONE;
    om_nat_type remote_nat = OM_NAT_UNKNOWN;
    uint64_t connect_started_us = 0;
    double connect_ms = 0;
    uint64_t bytes_sent = 0, bytes_received = 0, messages_sent = 0, messages_received = 0;
    uint64_t next_seq = 1;
    uint32_t pending_request = 0;  // our connect_request awaiting its response
    uint64_t timeout_timer = 0;
    std::string diagnosis;
    std::vector<std::shared_ptr<Completion>> waiters;
    uint64_t last_checks_started_us = 0;  // when the peer's last request started checks
    // The plan (strategy plugin) and where the attempt is in it.
    om_strategy planned = OM_STRATEGY_NONE;
    std::vector<om_strategy> steps;
    size_t step = 0;
    om_transport_type via = OM_TRANSPORT_NONE;  // what the application asked for
    bool initiator = false;
    std::string local_candidate, remote_candidate;  // RFC 8839 text of the selected pair
    P2PLink p2p;

    void finish_waiters(om_status result, const std::string& message);
};

class PeerTable {
public:
    PeerRecord& at(const std::string& peer_id) { return peers_[peer_id]; }
    PeerRecord* find(const std::string& peer_id);
    PeerRecord* find_pending(uint32_t request_id, std::string* peer_id);
    std::map<std::string, PeerRecord>& all() { return peers_; }

    // Fills the public snapshot (om_peer_state) within its struct_size.
    static void snapshot(const PeerRecord* peer, om_nat_type local_nat, double relay_rtt_ms, om_peer_state& out);

private:
    std::map<std::string, PeerRecord> peers_;
};

} // namespace om
