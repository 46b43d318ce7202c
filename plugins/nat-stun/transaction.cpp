#include "transaction.h"

#include <algorithm>
#include <utility>

namespace om::natstun {

Schedule truncated_schedule(uint32_t rto_ms, uint32_t rc, uint32_t rm, uint64_t limit_us)
{
    const proto::stun::RetransmitSchedule full = proto::stun::retransmit_schedule(rto_ms, rc, rm);
    Schedule s;
    for (uint32_t at_ms : full.send_at_ms) {
        const uint64_t at_us = uint64_t{at_ms} * 1000;
        if (at_us >= limit_us && !s.send_at_us.empty()) break;
        s.send_at_us.push_back(at_us);  // the first send always goes, whatever the limit
    }
    s.end_us = std::min(uint64_t{full.timeout_ms} * 1000, limit_us);
    return s;
}

const char* test_name(Test test) noexcept
{
    switch (test) {
    case Test::binding: return "Test I (binding)";
    case Test::change_ip_port: return "filtering test II (change IP and port)";
    case Test::change_port: return "filtering test III (change port)";
    case Test::mapping_alt_ip: return "mapping test II (alternate address)";
    case Test::mapping_alt_both: return "mapping test III (alternate IP and port)";
    case Test::hairpin: return "hairpinning test";
    }
    return "test";
}

Transaction::Transaction(Test test, const om_address& destination, std::vector<uint8_t> request,
                         const proto::stun::TransactionId& id, bool padded, uint64_t start_us, Schedule schedule)
    : test_(test),
      destination_(destination),
      request_(std::move(request)),
      id_(id),
      padded_(padded),
      start_us_(start_us),
      schedule_(std::move(schedule))
{
}

uint64_t Transaction::next_event_us() const noexcept
{
    if (next_send_ < schedule_.send_at_us.size())
        return start_us_ + std::min(schedule_.send_at_us[next_send_], schedule_.end_us);
    return start_us_ + schedule_.end_us;
}

bool Transaction::take_due_send(uint64_t now_us) noexcept
{
    bool due = false;
    while (open_ && next_send_ < schedule_.send_at_us.size() && start_us_ + schedule_.send_at_us[next_send_] <= now_us &&
           !expired(now_us)) {
        ++next_send_;
        due = true;
    }
    if (due) ++transmissions_;
    return due;
}

std::optional<uint64_t> Transaction::rtt_sample_us(uint64_t answered_at_us) const noexcept
{
    if (transmissions_ != 1 || answered_at_us < start_us_) return std::nullopt;
    return answered_at_us - start_us_;
}

}  // namespace om::natstun
