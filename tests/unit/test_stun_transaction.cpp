// §6.2.1 retransmission schedule and §5 random transaction ids.
#include "proto/stun.h"

#include <catch2/catch.hpp>

#include <set>

namespace stun = om::proto::stun;

TEST_CASE("the default retransmission schedule is RFC 8489 §6.2.1's", "[stun]")
{
    const auto s = stun::retransmit_schedule();
    CHECK(s.send_at_ms == std::vector<uint32_t>{0, 500, 1500, 3500, 7500, 15500, 31500});
    CHECK(s.timeout_ms == 39500);
}

TEST_CASE("the retransmission schedule follows RTO, Rc and Rm", "[stun]")
{
    const auto s = stun::retransmit_schedule(100, 3, 4);
    CHECK(s.send_at_ms == std::vector<uint32_t>{0, 100, 300});
    CHECK(s.timeout_ms == 700);
    const auto one = stun::retransmit_schedule(250, 0, 2);  // Rc 0 still sends once
    CHECK(one.send_at_ms == std::vector<uint32_t>{0});
    CHECK(one.timeout_ms == 500);
    const auto huge = stun::retransmit_schedule(UINT32_MAX, 40, UINT32_MAX);  // saturates, no wrap
    CHECK(huge.send_at_ms.size() == 40);
    CHECK(huge.send_at_ms.back() == UINT32_MAX);
    CHECK(huge.timeout_ms == UINT32_MAX);
}

TEST_CASE("transaction ids are random", "[stun]")
{
    std::set<stun::TransactionId> ids;
    for (int i = 0; i < 1000; ++i) ids.insert(stun::random_transaction_id());
    CHECK(ids.size() == 1000);
    CHECK(ids.count(stun::TransactionId{}) == 0);
}
