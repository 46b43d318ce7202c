// The RFC 5780 behaviour discovery of one nat-stun run, independent of the host: it is driven by
// explicit time and datagram inputs and sends through a function, so tests feed it real encoded
// STUN responses and step the clock themselves. The plugin adapter (nat_stun_instance.*) binds it
// to the host API.
//
// Order (README "The test sequence"): Test I; then the filtering tests II and III together with
// the hairpinning test, from a port that has not yet contacted the alternate address; only then
// the mapping tests, which do contact it.
#pragma once

#include "settings.h"
#include "proto/address.h"
#include "proto/stun.h"
#include "transaction.h"

#include <orbitmesh/plugin.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace om::natstun {

struct DiscoveryCounters {
    uint64_t requests = 0;         // first transmissions of a request
    uint64_t retransmits = 0;      // later transmissions (RFC 8489 §6.2.1)
    uint64_t responses = 0;        // success and error responses accepted for an open transaction
    uint64_t error_responses = 0;  // of which error responses (ERROR-CODE)
    uint64_t malformed = 0;        // carried our transaction id but failed parsing or validation
    uint64_t unexpected = 0;       // ours by id, but the wrong class, method or source
    uint64_t late = 0;             // answers to a transaction that had already ended
    uint64_t send_errors = 0;      // the host could not send a transmission
    uint64_t runs = 0;
};

struct DiscoveryRequest {
    om_address server{};         // primary STUN server
    om_address local_address{};  // the socket's own address; family 0 when unknown
    uint32_t timeout_ms = 0;     // overall budget
};

struct DiscoveryOutcome {
    int32_t status = OM_ERR_TIMEOUT;  // OM_OK when Test I was answered
    std::string error;                // why, when status is not OM_OK
    om_nat_info info{};
    // Why a behaviour stayed unknown or what a one-IP server cannot tell apart, for the log.
    std::vector<std::string> notes;
    std::optional<uint64_t> rtt_us;   // measured by Test I (Karn's rule)
};

class Discovery {
public:
    struct Io {
        // Sends one datagram; returns an om_status (a failure counts as a lost transmission).
        std::function<int32_t(const om_address& to, std::span<const uint8_t> bytes)> send;
        // Optional: a fresh transaction id (default proto::stun::random_transaction_id).
        std::function<proto::stun::TransactionId()> new_id;
        // Optional: what happens to datagrams it rejects, as om_log_level and text.
        std::function<void(int32_t level, const std::string& message)> log;
    };

    // Throws std::invalid_argument on a request without a server or budget, or without io.send.
    Discovery(const Settings& settings, const DiscoveryRequest& request, Io io, DiscoveryCounters& counters);

    // Sends Test I. Returns the status of that first send; on a failure the run is over
    // (finished() and the outcome say why).
    int32_t start(uint64_t now_us);
    // A datagram from `from`. True when it was ours (consumed), even when it was rejected.
    bool on_datagram(std::span<const uint8_t> bytes, const om_address& from, uint64_t now_us);
    // Retransmissions, ends of tests and the overall deadline that are due at now.
    void on_time(uint64_t now_us);
    // Stops every test; the outcome is then never meant to be delivered.
    void cancel() noexcept;
    // Ends the run now with a failure (the adapter's last resort when something threw).
    void fail(int32_t status, std::string error);

    // When on_time should next run; nullopt once finished.
    std::optional<uint64_t> next_wakeup_us() const;
    bool finished() const noexcept { return finished_; }
    const DiscoveryOutcome& outcome() const noexcept { return outcome_; }

private:
    // Transactions
    void begin(Test test, const om_address& to, uint64_t now_us);
    void transmit(Transaction& tx, uint64_t now_us);
    Transaction* find(const proto::stun::TransactionId& id);
    void close_open(Test test);
    // RFC 8489 §6.2.1 with the configured RTO for tests that expect an answer; the RTT-based
    // RTO within probe_timeout_ms for tests whose silence is a result. Both end by the deadline.
    Schedule schedule_for(Test test, uint64_t now_us) const;
    void reject(uint64_t DiscoveryCounters::*counter, const std::string& why);

    // Inputs, by test
    void accept(Transaction& tx, const proto::stun::Message& m, const om_address& from, uint64_t now_us);
    void accept_success(Transaction& tx, const proto::stun::Message& m, const om_address& from, uint64_t now_us);
    void accept_error(Transaction& tx, const proto::stun::Message& m, const om_address& from, uint64_t now_us);
    void no_answer(Transaction& tx, uint64_t now_us);
    // Where the answer to tx must come from (RFC 5780 §4.4: a CHANGE-REQUEST answer from the
    // changed address).
    om_address expected_source(const Transaction& tx) const;

    // The sequence
    void binding_answered(const Transaction& tx, const om_address& mapped, const proto::stun::Message& m,
                          const om_address& from, uint64_t now_us);
    void choose_alternate(const proto::stun::Message& m);
    void start_behaviour_tests(uint64_t now_us);
    void settle_filtering(uint64_t now_us);
    void filtering_found(om_nat_behavior behavior, uint64_t now_us);
    void start_mapping_tests(uint64_t now_us);
    void mapping_found(om_nat_behavior behavior);
    void finish_if_complete();
    void deadline_reached();
    void finish(int32_t status, std::string error);
    void note(std::string text);

    Settings settings_;
    DiscoveryRequest request_;
    Io io_;
    DiscoveryCounters& counters_;

    uint64_t deadline_us_ = 0;
    bool pad_ipv6_ = true;  // cleared when the server answers 420 for PADDING
    std::deque<Transaction> transactions_;  // every one of this run, so late answers are recognized;
                                            // a deque keeps references valid as tests begin
    int32_t last_send_status_ = OM_OK;
    bool binding_sent_ok_ = false;

    // What Test I found
    bool answered_ = false;
    om_address mapped_{};         // M1
    om_address alternate_{};      // OTHER-ADDRESS; family 0 when none usable
    bool two_ips_ = false;
    std::optional<uint64_t> rtt_us_;

    // Behaviour tests
    bool filtering_done_ = false;
    bool change_ip_port_answered_ = false, change_ip_port_ended_ = false;
    bool change_port_answered_ = false, change_port_ended_ = false;
    bool mapping_started_ = false, mapping_done_ = false;
    om_address mapped_alt_ip_{};  // M2
    bool hairpin_done_ = false;

    bool finished_ = false;
    DiscoveryOutcome outcome_;
};

// Same IP (proto::same_ip) and, for same_endpoint, port, ignoring the IPv6 scope (STUN
// addresses carry none).
using proto::same_ip;
bool same_endpoint(const om_address& a, const om_address& b) noexcept;

}  // namespace om::natstun
