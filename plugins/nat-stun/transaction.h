// One STUN client transaction (RFC 8489 §6.2.1): the encoded request, where it goes, and when
// each transmission is due. Time is explicit (microseconds of the host's monotonic clock).
#pragma once

#include "proto/stun.h"

#include <orbitmesh/plugin.h>

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace om::natstun {

// Send times and the end of a transaction, relative to its first send.
struct Schedule {
    std::vector<uint64_t> send_at_us;  // first entry 0
    uint64_t end_us = 0;               // no answer by then: the transaction failed
};

// RFC 8489 §6.2.1 for rto_ms, Rc and Rm (proto::stun::retransmit_schedule), cut to `limit_us`:
// sends due at or after the limit are dropped and the final wait ends at the limit.
Schedule truncated_schedule(uint32_t rto_ms, uint32_t rc, uint32_t rm, uint64_t limit_us);

// The RFC 5780 test a transaction belongs to.
enum class Test : uint8_t {
    binding,           // Test I: plain Binding to the primary address
    change_ip_port,    // Test II (§4.4): CHANGE-REQUEST change IP and port, to the primary
    change_port,       // Test III (§4.4): CHANGE-REQUEST change port, to the primary
    mapping_alt_ip,    // §4.3 test II: Binding to the alternate IP, primary port (one IP: alternate port)
    mapping_alt_both,  // §4.3 test III: Binding to the alternate IP and port
    hairpin,           // §4.5: Binding to our own mapped address
};
const char* test_name(Test test) noexcept;

class Transaction {
public:
    Transaction(Test test, const om_address& destination, std::vector<uint8_t> request,
                const proto::stun::TransactionId& id, bool padded, uint64_t start_us, Schedule schedule);

    Test test() const noexcept { return test_; }
    const proto::stun::TransactionId& id() const noexcept { return id_; }
    const om_address& destination() const noexcept { return destination_; }
    std::span<const uint8_t> request() const noexcept { return request_; }
    bool padded() const noexcept { return padded_; }  // carries PADDING (RFC 5780 §7.6)

    bool open() const noexcept { return open_; }
    void close() noexcept { open_ = false; }
    // When this transaction next needs attention (a send or its end); only while open.
    uint64_t next_event_us() const noexcept;
    // True when a transmission is due at now; it then counts as sent. Sends a late timer
    // skipped collapse into one.
    bool take_due_send(uint64_t now_us) noexcept;
    bool expired(uint64_t now_us) const noexcept { return now_us >= start_us_ + schedule_.end_us; }
    unsigned transmissions() const noexcept { return transmissions_; }
    // Karn's rule (RFC 6298 §3): a round-trip sample only when the request went out once.
    std::optional<uint64_t> rtt_sample_us(uint64_t answered_at_us) const noexcept;

private:
    Test test_;
    om_address destination_;
    std::vector<uint8_t> request_;
    proto::stun::TransactionId id_;
    bool padded_;
    uint64_t start_us_;
    Schedule schedule_;
    size_t next_send_ = 0;
    unsigned transmissions_ = 0;
    bool open_ = true;
};

}  // namespace om::natstun
