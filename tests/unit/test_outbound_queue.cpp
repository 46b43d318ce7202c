// OutboundQueue: what om_agent_send checks on the caller's thread, the order messages keep, the
// bound on what a peer may queue, and the writable signal after a refusal.
#include "agent/delivery/outbound_queue.h"

#include <catch2/catch.hpp>

#include <string>
#include <thread>
#include <vector>

using om::OutboundQueue;
using Push = OutboundQueue::Push;

namespace {

OutboundQueue::Limits limits(size_t queue_bytes = 1000)
{
    OutboundQueue::Limits l;
    l.max_unreliable = 100;
    l.max_sequenced = 90;
    l.queue_bytes = queue_bytes;
    return l;
}

Push push(OutboundQueue& q, const std::string& peer, const std::string& text,
          om_delivery_mode mode = OM_DELIVERY_RELIABLE_ORDERED, om_status* status = nullptr, std::string* why = nullptr)
{
    om_status s = OM_OK;
    std::string w;
    Push p = q.push(peer, mode, 0, reinterpret_cast<const uint8_t*>(text.data()), text.size(), &s, &w);
    if (status) *status = s;
    if (why) *why = w;
    return p;
}

std::string text_of(const OutboundQueue::Message& m)
{
    return std::string(m.data.begin(), m.data.end());
}

} // namespace

TEST_CASE("outbound queue: a peer that is not open takes nothing", "[outbound]")
{
    OutboundQueue q;
    CHECK(push(q, "bob", "x") == Push::NotOpen);
    q.open("bob", limits());
    CHECK(push(q, "bob", "x") == Push::QueuedWake);
    CHECK(q.close("bob") == 1);  // dropped with the peer
    CHECK(push(q, "bob", "x") == Push::NotOpen);
    CHECK(q.take_ready().empty());
}

TEST_CASE("outbound queue: one wake per drain, messages in order", "[outbound]")
{
    OutboundQueue q;
    q.open("bob", limits());
    q.open("carol", limits());
    CHECK(push(q, "bob", "b1") == Push::QueuedWake);
    CHECK(push(q, "bob", "b2") == Push::Queued);
    CHECK(push(q, "carol", "c1") == Push::Queued);
    const size_t two = OutboundQueue::cost(2);
    CHECK(q.queued_bytes("bob") == 2 * two);
    auto ready = q.take_ready();
    REQUIRE(ready == std::vector<std::string>{"bob", "carol"});
    auto batch = q.take("bob");
    REQUIRE(batch.size() == 2);
    CHECK(text_of(batch[0]) == "b1");
    CHECK(text_of(batch[1]) == "b2");
    // After the drain began, the next message asks for a drain again.
    CHECK(push(q, "bob", "b3") == Push::QueuedWake);
    CHECK(q.queued_bytes("bob") == 3 * two);  // taken messages count until released
    CHECK_FALSE(q.release("bob", 2 * two));
    CHECK(q.queued_bytes("bob") == two);
}

TEST_CASE("outbound queue: the caller's thread refuses what the session would", "[outbound]")
{
    OutboundQueue q;
    auto l = limits();
    l.enable_unreliable = false;
    q.open("bob", l);
    om_status status;
    std::string why;
    CHECK(push(q, "bob", "dgram", OM_DELIVERY_SEQUENCED, &status, &why) == Push::Refused);
    CHECK(status == OM_ERR_NOT_SUPPORTED);
    CHECK_THAT(why, Catch::Contains("enable_unreliable_delivery"));

    q.open("bob", limits());  // new limits for an open peer
    CHECK(push(q, "bob", std::string(100, 'u'), OM_DELIVERY_UNRELIABLE) == Push::QueuedWake);
    CHECK(push(q, "bob", std::string(101, 'u'), OM_DELIVERY_UNRELIABLE, &status, &why) == Push::Refused);
    CHECK(status == OM_ERR_TOO_LARGE);
    CHECK_THAT(why, Catch::Contains("100 bytes"));
    CHECK(push(q, "bob", std::string(91, 's'), OM_DELIVERY_SEQUENCED, &status, &why) == Push::Refused);
    CHECK_THAT(why, Catch::Contains("90 bytes"));
    std::vector<uint8_t> big(OM_MAX_RELIABLE_MESSAGE + 1);
    CHECK(q.push("bob", OM_DELIVERY_RELIABLE_UNORDERED, 0, big.data(), big.size(), &status, &why) == Push::Refused);
    CHECK(status == OM_ERR_TOO_LARGE);
}

TEST_CASE("outbound queue: bounded per peer, one message always fits, writable once after a refusal", "[outbound]")
{
    OutboundQueue q;
    q.open("bob", limits(1000));
    q.open("carol", limits(1000));
    // An empty queue takes a message larger than the bound (any message can be sent).
    CHECK(push(q, "bob", std::string(1500, 'a')) == Push::QueuedWake);
    om_status status;
    std::string why;
    CHECK(push(q, "bob", "b", OM_DELIVERY_RELIABLE_ORDERED, &status, &why) == Push::Refused);
    CHECK(status == OM_ERR_WOULD_BLOCK);
    CHECK_THAT(why, Catch::Contains("writable"));
    CHECK(push(q, "carol", "c") == Push::Queued);  // another peer is not held up
    q.take_ready();
    q.take("bob");
    CHECK(q.release("bob", OutboundQueue::cost(1500)));  // refused before, now empty: writable is due
    CHECK_FALSE(q.release("bob", 0));     // once
    CHECK(push(q, "bob", std::string(500, 'a')) == Push::QueuedWake);
    CHECK(push(q, "bob", std::string(500, 'b'), OM_DELIVERY_RELIABLE_ORDERED, &status) == Push::Refused);
    q.take_ready();
    q.take("bob");
    CHECK_FALSE(q.release("bob", 0));  // 564 of 1000: more than half full
}

TEST_CASE("outbound queue: what the session refused goes back in front, held until it has room", "[outbound]")
{
    OutboundQueue q;
    q.open("bob", limits());
    push(q, "bob", "1");
    push(q, "bob", "2");
    push(q, "bob", "3");
    q.take_ready();
    auto batch = q.take("bob");
    batch.pop_front();  // the session took "1"
    CHECK(push(q, "bob", "4") == Push::QueuedWake);  // sent while the session had the batch
    q.give_back("bob", std::move(batch), true);
    CHECK(q.take_ready().empty());             // held: nothing to drain
    CHECK(push(q, "bob", "5") == Push::Queued);  // and no wake for it either
    CHECK(q.take_ready().empty());
    CHECK(q.resume("bob"));
    REQUIRE(q.take_ready() == std::vector<std::string>{"bob"});
    std::vector<std::string> order;
    for (auto& m : q.take("bob")) order.push_back(text_of(m));
    CHECK(order == std::vector<std::string>{"2", "3", "4", "5"});
}

TEST_CASE("outbound queue: senders on many threads, each one's messages in its order", "[outbound]")
{
    OutboundQueue q;
    q.open("bob", limits(size_t(64) << 20));
    constexpr int kThreads = 4, kEach = 5000;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
        threads.emplace_back([&q, t] {
            for (int i = 0; i < kEach; ++i) REQUIRE(push(q, "bob", std::to_string(t) + ":" + std::to_string(i)) != Push::Refused);
        });
    std::vector<std::vector<int>> seen(kThreads);
    size_t total = 0;
    while (total < size_t(kThreads * kEach)) {  // the loop's side, draining meanwhile
        for (const auto& peer : q.take_ready())
            for (auto& m : q.take(peer)) {
                const std::string text = text_of(m);
                const int t = std::stoi(text.substr(0, text.find(':')));
                seen[size_t(t)].push_back(std::stoi(text.substr(text.find(':') + 1)));
                ++total;
            }
        std::this_thread::yield();
    }
    for (auto& th : threads) th.join();
    for (auto& list : seen) {
        REQUIRE(list.size() == size_t(kEach));
        for (int i = 0; i < kEach; ++i) REQUIRE(list[size_t(i)] == i);
    }
}

TEST_CASE("outbound queue: empty messages count against the bound too", "[outbound]")
{
    OutboundQueue q;
    q.open("bob", limits(100 * OutboundQueue::kMessageOverhead));
    int taken = 0;
    while (push(q, "bob", "") != Push::Refused && taken < 1000) ++taken;
    CHECK(taken == 100);
}

TEST_CASE("outbound queue: paused (not Connected, the session lives on), it keeps what it has", "[outbound]")
{
    OutboundQueue q;
    q.open("bob", limits());
    push(q, "bob", "1");
    q.pause("bob");
    CHECK(push(q, "bob", "2") == Push::NotOpen);
    REQUIRE(q.take_ready() == std::vector<std::string>{"bob"});
    CHECK(q.take("bob").size() == 1);  // still drained into the session
    q.open("bob", limits());
    CHECK(push(q, "bob", "3") != Push::NotOpen);
}

TEST_CASE("outbound queue: a datagram limit the session does not publish is left to the session", "[outbound]")
{
    OutboundQueue q;
    auto l = limits();
    l.max_unreliable = 0;
    l.channel_zero_only = true;
    q.open("bob", l);
    CHECK(push(q, "bob", "d", OM_DELIVERY_UNRELIABLE) == Push::NotOpen);
    om_status status;
    std::string why;
    CHECK(q.push("bob", OM_DELIVERY_RELIABLE_ORDERED, 3, reinterpret_cast<const uint8_t*>("x"), 1, &status, &why) ==
          Push::Refused);
    CHECK(status == OM_ERR_NOT_SUPPORTED);
}

TEST_CASE("outbound queue: a loop-thread reply bypasses the queue only when nothing of the peer's waits",
          "[outbound]")
{
    OutboundQueue q;
    q.open("bob", limits(1000));
    om_status status = OM_OK;
    std::string why;
    const auto bypass = [&](const std::string& text, om_delivery_mode mode = OM_DELIVERY_RELIABLE_ORDERED) {
        return q.push("bob", mode, 0, reinterpret_cast<const uint8_t*>(text.data()), text.size(), &status, &why, true);
    };

    // Empty: not copied and nothing to drain, but counted as in the session's hands until the
    // caller knows: what comes meanwhile queues behind it, however it is sent.
    CHECK(bypass("first") == Push::Bypass);
    CHECK(q.queued_bytes("bob") == OutboundQueue::cost(5));
    CHECK(q.take_ready().empty());
    CHECK(bypass("second") == Push::QueuedWake);
    // The session refused "first": it goes back in front of "second".
    q.put_first("bob", OutboundQueue::Message{OM_DELIVERY_RELIABLE_ORDERED, 0, {'f', 'i', 'r', 's', 't'}});
    CHECK(q.take_ready() == std::vector<std::string>{"bob"});
    {
        auto both = q.take("bob");
        REQUIRE(both.size() == 2);
        CHECK(text_of(both[0]) == "first");
        CHECK(text_of(both[1]) == "second");
    }
    q.release("bob", OutboundQueue::cost(5) + OutboundQueue::cost(6));
    CHECK(q.queued_bytes("bob") == 0);
    // Taken at once: released, and the next one may go straight again.
    CHECK(bypass("third") == Push::Bypass);
    q.release("bob", OutboundQueue::cost(5));

    // The checks still come first: a refusal is a refusal, a mode the session must judge goes
    // the queue's way.
    CHECK(bypass(std::string(101, 'u'), OM_DELIVERY_UNRELIABLE) == Push::Refused);
    CHECK(status == OM_ERR_TOO_LARGE);
    q.pause("bob");
    CHECK(bypass("paused") == Push::NotOpen);
    q.open("bob", limits(1000));

    // Something queued (or taken and not yet released) keeps the order: no overtaking.
    CHECK(push(q, "bob", "queued") == Push::QueuedWake);
    CHECK(bypass("behind") == Push::Queued);
    CHECK(q.take_ready() == std::vector<std::string>{"bob"});
    auto taken = q.take("bob");
    REQUIRE(taken.size() == 2);
    CHECK(text_of(taken[0]) == "queued");
    CHECK(text_of(taken[1]) == "behind");
    const Push while_held = bypass("while the session holds them");  // their bytes are not released yet
    CHECK((while_held == Push::Queued || while_held == Push::QueuedWake));
    CHECK(q.take("bob").size() == 1);
    q.release("bob", q.queued_bytes("bob"));
    CHECK(bypass("after release") == Push::Bypass);

    // A full session holds the queue: a reply waits behind it as well.
    CHECK(push(q, "bob", "x") != Push::Refused);
    q.take_ready();
    q.give_back("bob", q.take("bob"), true);
    CHECK(bypass("held") == Push::Queued);
}
