// What the agent knows about each peer: status, path, metrics, and the callers waiting for a
// connection to complete. Loop thread only.
#pragma once

#include "agent/delivery/delivery_session.h"
#include "agent/ice/ice_session.h"
#include "agent/path/path.h"

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

// The ICE side of the direct path to one peer.
struct P2PLink {
    std::unique_ptr<ice::Session> session;  // kept after a failure: its pairs explain it
    uint64_t timer = 0;
    std::string local_ufrag, local_pwd;  // ours, sent in connect_request/response
    om_address remote{};                // the selected pair's remote address
    // Packets that arrive while the nominated pair is still being validated, handed to the
    // session once it is (bounded: kMaxEarlyPackets).
    struct EarlyPacket {
        om_address from;
        std::vector<uint8_t> data;
    };
    std::vector<EarlyPacket> early;
    // We told the peer a relayed candidate was still to come (more_candidates): it gets the
    // candidate, or an end-of-candidates if the allocation fails.
    bool promised_candidates = false;
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

    // The data plane (agent_data.cpp): every path to the peer by id, the one the session sends
    // on, and the one delivery session above them (ARCHITECTURE.md "One connection, many paths").
    std::map<uint32_t, std::unique_ptr<Path>> paths;
    uint32_t current_path = 0;
    std::unique_ptr<DeliverySession::Handler> io;
    std::unique_ptr<DeliverySession> delivery;
    bool established = false;        // the session's handshake is done and the peer authenticated
    std::string remote_fingerprint;  // what the peer said its certificate is (signaling)
    uint64_t handshake_timer = 0;
    bool delivery_client = false;    // this side is the session's client (it migrates)
    bool path_check_posted = false;  // follow_session_path is on its way
    // ICE restarts while relayed (agent_restart.cpp): the request in flight, the next try.
    uint32_t restart_request = 0;
    uint64_t restart_timer = 0;
    uint32_t restart_attempts = 0;
    uint64_t session_writable_events = 0;  // WRITABLE events of its session (agent_send.cpp)

    void finish_waiters(om_status result, const std::string& message);
};

class PeerTable {
public:
    PeerRecord& at(const std::string& peer_id) { return peers_[peer_id]; }
    PeerRecord* find(const std::string& peer_id);
    PeerRecord* find_pending(uint32_t request_id, std::string* peer_id);
    std::map<std::string, PeerRecord>& all() { return peers_; }

    // Fills the public snapshot (om_peer_state) within its struct_size.
    // delivery: the peer's session metrics, when it has a session.
    static void snapshot(const PeerRecord* peer, om_nat_type local_nat, double relay_rtt_ms,
                         const om_delivery_metrics* delivery, om_peer_state& out);

private:
    std::map<std::string, PeerRecord> peers_;
};

} // namespace om
