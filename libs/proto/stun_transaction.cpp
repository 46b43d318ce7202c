// Client-side transaction helpers: random transaction ids (§5) and the §6.2.1 retransmission
// schedule over UDP.
#include "proto/stun.h"

#include "proto/random.h"

namespace om::proto::stun {

TransactionId random_transaction_id()
{
    TransactionId id{};
    random_bytes(id);
    return id;
}

// §6.2.1: the first send at 0, then each retransmission after twice the previous interval
// (RTO, 2 RTO, 4 RTO, …) for Rc sends in all; the client gives up Rm * RTO after the last send.
// Rc below 1 is taken as 1; times saturate at UINT32_MAX.
RetransmitSchedule retransmit_schedule(uint32_t rto_ms, uint32_t rc, uint32_t rm)
{
    constexpr uint64_t kMax = UINT32_MAX;
    const auto clamp = [](uint64_t v) { return static_cast<uint32_t>(v < kMax ? v : kMax); };
    RetransmitSchedule schedule;
    const uint32_t sends = rc < 1 ? 1 : rc;
    schedule.send_at_ms.reserve(sends);
    uint64_t at = 0;
    uint64_t interval = rto_ms;
    for (uint32_t i = 0; i < sends; ++i) {
        schedule.send_at_ms.push_back(clamp(at));
        at += interval;
        interval = interval * 2 < kMax ? interval * 2 : kMax;
    }
    schedule.timeout_ms = clamp(uint64_t{schedule.send_at_ms.back()} + uint64_t{rm} * rto_ms);
    return schedule;
}

}  // namespace om::proto::stun
