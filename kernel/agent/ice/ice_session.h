// One ICE session with one peer (RFC 8445 §6-§8, one component): the check list,
// paced connectivity checks, triggered checks, peer-reflexive candidates, roles and role
// conflicts, regular nomination, and consent freshness afterwards (RFC 7675). Checks leave from
// two kinds of base (§5.1.1): the agent's UDP socket, and a TURN allocation when a relayed local
// candidate exists (its checks and answers go through the relay, RFC 8445 §5.1.1.2, §7.2.4).
//
// A pure state machine: the agent feeds it time, received checks and responses, and sends what
// it asks through `Send`. It never blocks and owns no timer; next_wakeup_us() says when to call
// tick() again. Every loop that sends is bounded: NatPunchRetries checks per pair, the session
// deadline, and one consent request per interval.
#pragma once

#include "proto/candidate.h"
#include "proto/ice_check.h"

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace om::ice {

using proto::ice::Candidate;
using proto::ice::CandidateType;
using proto::ice::Role;

struct SessionConfig {
    Role role = Role::Controlling;
    uint64_t tie_breaker = 0;
    std::string local_ufrag, local_pwd;
    uint32_t checks_per_pair = 10;     // NatPunchRetries (at least 1)
    uint32_t check_interval_ms = 100;  // NatPunchIntervalMs: between two checks of one pair
    // When set (and shorter than the interval), a pair's second check follows its first after
    // this long. The responder's first checks usually meet a NAT the initiator has not opened
    // yet; a retry about one signaling round trip later gets through without waiting a whole
    // interval. It counts against checks_per_pair like any check.
    uint32_t first_retry_ms = 0;
    uint32_t budget_ms = 10000;        // ConnectionTimeoutMs: the whole check phase
    uint32_t consent_interval_ms = 5000;   // RFC 7675 §5.1 (the agent derives it from KeepAliveIntervalMs)
    uint32_t consent_timeout_ms = 30000;   // DisconnectTimeoutMs (RFC 7675 §5.1: 30 s)
    om_address socket_address{};  // the socket the checks leave from (for loopback scoping)
    // Only the relay base checks (the application asked for TURN): nothing leaves the socket
    // toward the peer and no check arriving on it is answered.
    bool relay_only = false;
    // No relay at either end (the application asked for a direct path): remote relayed
    // candidates are dropped and no relayed local candidate joins.
    bool direct_only = false;
};

// Where a pair's checks leave from (RFC 8445 §5.1.1): the socket, or the TURN relay.
enum class Base : uint8_t { Socket, Relay };

enum class PairState : uint8_t { Waiting, InProgress, Succeeded, Failed };
const char* pair_state_name(PairState state);  // "waiting", "in-progress", "succeeded", "failed"

struct Pair {
    Candidate local;   // the local candidate it stands for (host of the same family until a
                       // response says which one the peer sees: host, srflx or a new prflx)
    Candidate remote;
    Base base = Base::Socket;
    uint64_t priority = 0;
    PairState state = PairState::Waiting;
    uint32_t checks_sent = 0;
    uint32_t responses = 0;
    uint64_t next_check_us = 0;  // when the next (re)transmission is due
    double rtt_ms = -1;
    bool nominated = false;
    bool peer_checked = false;  // an authenticated check from the peer arrived on it
    uint32_t nomination_checks = 0;  // USE-CANDIDATE checks sent after the pair succeeded
    uint32_t rank = UINT32_MAX;      // the strategy plugin's order (order_pairs); unranked last
    std::string why;  // why it failed
};

enum class SessionState : uint8_t {
    Checking,   // checks under way (or waiting for the peer's credentials/candidates)
    Connected,  // a nominated pair: selected() is the path
    Failed,     // no pair worked within the budget: diagnosis() says why
    Expired     // was Connected, then consent expired (RFC 7675 §5.1)
};

class Session {
public:
    using Send = std::function<void(const om_address& to, std::span<const uint8_t> bytes)>;
    // Told each time something is dropped or notable ("responses_bad_integrity", "role_switches").
    using Count = std::function<void(const char* what)>;

    Session(SessionConfig config, std::vector<Candidate> local_candidates, Send send, Count count = {});
    // How checks of the relay base leave (through the TURN client, to the peer address). Without
    // it, relayed local candidates form no pairs.
    void set_relay_send(Send relay_send) { relay_send_ = std::move(relay_send); }
    // A relayed candidate gathered after the session began (the allocation finished late): it
    // joins the local candidates and pairs with every remote candidate known so far.
    void add_local_relayed(const Candidate& relayed, uint64_t now_us);
    // A relayed candidate is on its way (the allocation is being made): the checks do not fail
    // for want of pairs before it came or the budget ran out.
    void set_relay_pending(bool pending) { relay_pending_ = pending; }
    // The peer said candidates of its own are still to come (more_candidates): the same wait,
    // until one arrives or it says there are no more.
    void set_remote_pending(bool pending) { remote_pending_ = pending; }

    // The peer's credentials (from its connect_request/response). Checks wait for them.
    void set_remote_credentials(std::string ufrag, std::string pwd);
    // A remote candidate from signaling (initial or trickled). Ignored when unreachable from this
    // socket (other family, loopback vs not), a duplicate, or beyond the pair limit.
    void add_remote_candidate(const Candidate& candidate, uint64_t now_us);
    // Starts checking (§6.1.4): from now on the session sends and its budget runs.
    void start(uint64_t now_us);
    // The strategy plugin's order: the pair to `remote` is checked as the rank-th (0 first).
    // Triggered checks still go first; unranked pairs follow the ranked ones by priority.
    void set_rank(const om_address& remote, uint32_t rank);

    // A Binding request already authenticated for this session (§7.3): answers it, learns a
    // peer-reflexive candidate (§7.3.1.3), sends a triggered check (§7.3.1.4), resolves role
    // conflicts (§7.3.1.1) and follows USE-CANDIDATE (§7.3.1.5).
    // `base`: where it arrived (through the relay, a Data indication or ChannelData).
    void on_request(const proto::ice::ReceivedCheck& check, const om_address& from, uint64_t now_us,
                    Base base = Base::Socket);
    // True when the transaction id is one of this session's checks in flight.
    bool owns_transaction(const proto::stun::TransactionId& id) const;
    // A response to one of this session's checks (owns_transaction was true).
    void on_response(std::span<const uint8_t> bytes, const om_address& from, uint64_t now_us, Base base = Base::Socket);
    void tick(uint64_t now_us);
    // The agent gave up on this path (fallback, a new attempt, the peer left): no more checks,
    // no more answers. The pairs stay for the diagnosis.
    void end(const std::string& why);
    // The controlled side was nominated on a pair it has not validated yet (its check is out).
    bool awaiting_validation() const { return state_ == SessionState::Checking && nominated_by_peer_.has_value(); }
    // The remote address of the pair the peer nominated, if any.
    std::optional<om_address> nominated_remote() const
    {
        if (!nominated_by_peer_) return std::nullopt;
        return pairs_[*nominated_by_peer_].remote.address;
    }
    // 0 when nothing is scheduled.
    uint64_t next_wakeup_us() const;

    SessionState state() const { return state_; }
    Role role() const { return config_.role; }
    const Pair* selected() const;
    const std::vector<Pair>& pairs() const { return pairs_; }
    const std::string& local_ufrag() const { return config_.local_ufrag; }
    const std::string& local_pwd() const { return config_.local_pwd; }
    const std::string& remote_pwd() const { return remote_pwd_; }
    const std::vector<Candidate>& local_candidates() const { return local_; }
    // Still a session a check can reach (not ended).
    bool live() const { return state_ == SessionState::Checking || state_ == SessionState::Connected; }
    // "why not direct": every pair tried and how it ended, or what prevented checking at all.
    std::string diagnosis() const;
    double rtt_ms() const { return rtt_ms_; }
    uint64_t checks_sent() const { return checks_sent_; }
    uint64_t checks_received() const { return checks_received_; }
    uint64_t last_consent_us() const { return last_consent_us_; }
    // Counters of what was dropped ("responses_bad_integrity", "responses_unexpected_source", …).
    const std::map<std::string, uint64_t>& drops() const { return drops_; }

private:
    struct InFlight {
        size_t pair;
        uint64_t sent_us;
        bool use_candidate;
        bool consent;
        Role role;  // the role the check claimed
    };
    static constexpr size_t kMaxPairs = 32;
    // RFC 8445 §14.2 Ta: checks on the whole session are paced, one per kPaceUs after a burst of
    // kPaceBurst, so the first checks of the likeliest pairs leave at once while a peer that
    // signals many candidates cannot turn this agent into a burst source.
    static constexpr uint64_t kPaceUs = 2000;
    static constexpr uint32_t kPaceBurst = 4;

    size_t find_or_add_pair(const Candidate& remote, Base base, uint64_t now_us);
    bool reachable(const om_address& remote, Base base) const;
    bool has_base(Base base) const;
    const Candidate* local_for_family(uint16_t family, Base base = Base::Socket) const;
    void transmit(Base base, const om_address& to, std::span<const uint8_t> bytes);
    void send_check(size_t pair, uint64_t now_us, bool use_candidate, bool consent);
    void answer(const proto::stun::TransactionId& id, const om_address& to, Base base, uint16_t error_code);
    void on_success(size_t pair, const InFlight& flight, const om_address& mapped, uint64_t now_us);
    void nominate(uint64_t now_us);
    void become_connected(size_t pair, uint64_t now_us);
    void follow_nomination(size_t pair);
    void check_failure(uint64_t now_us);
    uint64_t no_pairs_deadline_us() const;
    void switch_role();
    void drop(const char* what)
    {
        ++drops_[what];
        if (count_) count_(what);
    }
    uint32_t prflx_priority(uint16_t family) const;
    uint64_t consent_delay_us();  // RFC 7675 §5.1: the interval randomised by ±20 %

    SessionConfig config_;
    std::vector<Candidate> local_;
    Send send_;
    Send relay_send_;
    Count count_;
    std::string remote_ufrag_, remote_pwd_;
    std::vector<Pair> pairs_;
    std::vector<Candidate> remote_candidates_;  // as signalled, whatever base could reach them
    bool relay_pending_ = false;
    bool remote_pending_ = false;
    std::map<proto::stun::TransactionId, InFlight> in_flight_;
    SessionState state_ = SessionState::Checking;
    bool started_ = false;
    uint64_t deadline_us_ = 0;
    uint64_t started_us_ = 0;
    std::optional<size_t> selected_;
    std::optional<size_t> nominating_;        // controlling: the pair whose USE-CANDIDATE check is out
    std::optional<size_t> nominated_by_peer_; // controlled: the pair the peer nominated
    uint32_t pace_tokens_ = kPaceBurst;  // Ta pacing: a token bucket
    uint64_t pace_refilled_us_ = 0;
    void refill_pace(uint64_t now_us);
    uint64_t next_pace_us() const { return pace_tokens_ ? 0 : pace_refilled_us_ + kPaceUs; }
    uint64_t next_consent_us_ = 0;
    uint64_t consent_jitter_state_ = 0x9E3779B97F4A7C15ull;
    uint64_t last_consent_us_ = 0;
    double rtt_ms_ = 0;
    uint64_t checks_sent_ = 0, checks_received_ = 0;
    std::map<std::string, uint64_t> drops_;
    std::string failure_;  // set when Failed/Expired for a reason not in the pairs
};

} // namespace om::ice
