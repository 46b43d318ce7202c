// One TURN allocation (RFC 8656) as a client sees it: Allocate with the long-term credential
// mechanism (RFC 8489 §9.2: 401 -> REALM/NONCE -> MESSAGE-INTEGRITY, SHA-256 when the server
// offers it), stale-nonce retries (§9.2.5), Refresh before expiry (§8), CreatePermission (§9),
// ChannelBind (§12) and the data path: Send/Data indications (§10, §11) until a channel is bound,
// ChannelData after; Deallocate (a Refresh with LIFETIME 0) on release.
//
// A pure state machine over bytes and explicit time (microseconds), like the ICE session: the
// instance feeds it the server's datagrams and its timer; it sends through Io. Every loop that
// sends is bounded: a retransmission schedule per request, at most Settings::max_peers
// permissions, a bounded queue per peer while its permission is pending.
#pragma once

#include "proto/stun.h"

#include <orbitmesh/plugin.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace om::turnclient {

struct Settings {
    uint32_t rto_ms = 250;             // RFC 8489 §6.2.1 initial RTO (the server is usually near)
    uint32_t max_transmissions = 6;    // Rc
    uint32_t lifetime_s = 600;         // asked for in Allocate and Refresh (RFC 8656 §7.2)
    uint32_t max_peers = 64;           // permissions (by IP) this allocation keeps
    uint32_t queue_per_peer = 16;      // datagrams held while a peer's permission is pending
    bool channels = true;              // bind a channel per peer address (ChannelData) when possible
    bool stream = false;               // over TCP (RFC 8656 §12.5): ChannelData padded to 4 bytes
};

// What the plugin publishes as "plugin.turn-client.<name>".
struct Counters {
    uint64_t requests = 0, retransmits = 0, responses = 0, error_responses = 0;
    uint64_t auth_challenges = 0, stale_nonces = 0, refreshes = 0, permissions = 0, channels_bound = 0;
    uint64_t send_indications = 0, data_indications = 0, channel_data_out = 0, channel_data_in = 0;
    uint64_t bytes_out = 0, bytes_in = 0;
    uint64_t queued = 0, dropped_queue_full = 0, dropped_no_allocation = 0, dropped_peer_limit = 0, dropped_refused_peer = 0;
    uint64_t malformed = 0, bad_integrity = 0, unknown_channel = 0, unexpected = 0;
    uint64_t lost = 0, permission_failures = 0;
};

enum class State : uint8_t { Idle, Allocating, Allocated, Failed, Released };
const char* state_name(State state);

class Allocation {
public:
    struct Io {
        // To the TURN server; an om_status.
        std::function<int32_t(std::span<const uint8_t> bytes)> send;
        // A payload a peer sent through the relay.
        std::function<void(const om_address& peer, std::span<const uint8_t> payload)> deliver;
        // Once: the Allocate's outcome (relayed is null on failure; `why` says why).
        std::function<void(int32_t status, const om_address* relayed, const std::string& why)> allocated;
        // After the allocation was made: lost, or a peer's permission refused.
        std::function<void(om_turn_event_type type, int32_t status, const om_address* peer, const std::string& why)> event;
    };

    Allocation(std::string username, std::string password, Settings settings, Io io);

    // Sends the first Allocate; the whole allocation must succeed within timeout_ms.
    void start(uint64_t now_us, uint32_t timeout_ms);
    // A datagram from the TURN server (STUN or ChannelData). False when it is neither.
    bool on_datagram(std::span<const uint8_t> bytes, uint64_t now_us);
    // Relays payload to peer: OM_ERR_STATE before the allocation exists, OM_ERR_LIMIT-like
    // refusals as OM_ERR_REFUSED; a datagram queued for a pending permission is OM_OK.
    int32_t send(const om_address& peer, std::span<const uint8_t> payload, uint64_t now_us);
    // Installs (and keeps refreshed) a permission for peer's IP, and binds a channel to the
    // address when channels are on.
    int32_t permit(const om_address& peer, uint64_t now_us);
    void tick(uint64_t now_us);
    // 0 when nothing is due.
    uint64_t next_wakeup_us() const;
    // Deallocate (RFC 8656 §8: Refresh with LIFETIME 0), sent once, best effort.
    void release(uint64_t now_us);
    // The TCP connection to the server broke: the allocation is gone with it (RFC 6062 §4).
    void connection_lost(int32_t status, const std::string& why);

    State state() const { return state_; }
    const std::optional<om_address>& relayed() const { return relayed_; }
    const std::optional<om_address>& reflexive() const { return reflexive_; }
    uint32_t lifetime_s() const { return lifetime_s_; }
    bool uses_sha256() const { return sha256_; }
    const Counters& counters() const { return counters_; }

private:
    enum class Kind : uint8_t { Allocate, Refresh, CreatePermission, ChannelBind, Deallocate };
    struct Request {
        Kind kind;
        om_address peer{};     // CreatePermission / ChannelBind
        uint16_t channel = 0;  // ChannelBind
        std::vector<uint8_t> bytes;
        uint64_t started_us = 0;
        size_t sends = 0;      // transmissions so far
        uint64_t next_send_us = 0;
        uint64_t give_up_us = 0;
        bool authenticated = false;
        uint32_t retries = 0;  // re-sent with a fresh nonce or after a 437
    };
    struct Permission {  // by IP (§9)
        bool installed = false;
        bool pending = false;
        bool failed = false;
        bool refused = false;      // the server said no (or never answered): retried at retry_at_us
        uint64_t retry_at_us = 0;
        uint64_t last_used_us = 0; // idle for a permission's lifetime: dropped, not refreshed
        uint64_t refresh_at_us = 0;
        std::deque<std::pair<om_address, std::vector<uint8_t>>> queue;
    };
    struct Channel {  // by address (§12)
        uint16_t number = 0;
        bool bound = false;
        bool pending = false;
        uint64_t refresh_at_us = 0;
    };

    void send_request(Kind kind, const om_address* peer, uint16_t channel, uint64_t now_us, uint32_t retries = 0);
    std::vector<uint8_t> build(Kind kind, const om_address* peer, uint16_t channel, const proto::stun::TransactionId& id,
                               bool authenticated) const;
    void transmit(Request& r, uint64_t now_us);
    void on_response(const proto::stun::Message& m, uint64_t now_us);
    void on_error(Request r, const proto::stun::Message& m, uint64_t now_us);
    void on_success(const Request& r, const proto::stun::Message& m, uint64_t now_us);
    // The answer's LIFETIME (fallback_s without one) and the next Refresh's time.
    void schedule_refresh(const proto::stun::Message& m, uint32_t fallback_s, uint64_t now_us);
    void on_data_indication(const proto::stun::Message& m);
    void on_channel_data(std::span<const uint8_t> bytes);
    void request_timed_out(const Request& r, uint64_t now_us);
    void fail(int32_t status, const std::string& why);
    void lose(int32_t status, const std::string& why);
    void permission_failed(const om_address& peer, int32_t status, const std::string& why, uint64_t now_us);
    void flush_queue(Permission& p, uint64_t now_us);
    // Makes room for a new peer: the refused entry, else the least recently used idle one.
    bool evict_one();
    void forget_ip(const std::string& ip);  // its permission and its addresses' channels
    void channel_failed(const om_address& peer, uint64_t now_us);
    int32_t relay(const om_address& peer, std::span<const uint8_t> payload);
    static std::string ip_key(const om_address& a);
    static std::string address_key(const om_address& a);

    std::string username_, password_;
    Settings settings_;
    Io io_;
    State state_ = State::Idle;
    uint64_t deadline_us_ = 0;  // the Allocate's overall budget
    std::string realm_, nonce_;
    bool sha256_ = false;
    std::vector<uint8_t> key_;
    std::vector<uint8_t> algorithms_;  // the server's PASSWORD-ALGORITHMS value, echoed (RFC 8489 §9.2.4)
    std::optional<om_address> relayed_, reflexive_;
    uint32_t lifetime_s_ = 0;
    uint64_t refresh_at_us_ = 0;
    bool refresh_in_flight_ = false;
    bool mismatch_deallocated_ = false;  // a 437 made us delete the 5-tuple's old allocation
    uint32_t mismatch_backoff_ms_ = 0;
    uint64_t reallocate_at_us_ = 0;      // the next Allocate after a 437, 0 = none due
    std::map<proto::stun::TransactionId, Request> requests_;
    std::map<std::string, Permission> permissions_;
    std::map<std::string, Channel> channels_;       // by address_key
    std::map<uint16_t, om_address> channel_peers_;  // number -> peer
    uint16_t next_channel_ = 0x4000;
    mutable std::vector<uint8_t> scratch_;
    Counters counters_;
};

}  // namespace om::turnclient
