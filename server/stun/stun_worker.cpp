#include "stun/stun_worker.hpp"
#include "turn/turn_relay.hpp"

#include "core/log.h"
#include "core/monotonic_clock.h"
#include "proto/address.h"

#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
#include <string>

namespace om::server {
namespace {

uint64_t now_us() { return monotonic_us(); }

} // namespace

StunWorker::StunWorker(std::vector<StunReceiveSocket> receive, std::array<int, EndpointTable::kCount> send_fds,
                       const EndpointTable& endpoints, bool wildcard, uint32_t rate_limit, StunCounters& counters,
                       TurnRelay* relay)
    : receive_(std::move(receive)), send_fds_(send_fds), wildcard_(wildcard), responder_(endpoints),
      limiter_(rate_limit), counters_(counters), relay_(relay) {}

void StunWorker::run(int stop_fd) {
    std::vector<pollfd> fds;
    fds.push_back({stop_fd, POLLIN, 0});
    for (const StunReceiveSocket& s : receive_) fds.push_back({s.fd, POLLIN, 0});
    for (;;) {
        if (::poll(fds.data(), fds.size(), -1) < 0) {
            if (errno == EINTR) continue;
            om::log_message(OM_LOG_ERROR, std::string("stun: poll failed: ") + std::strerror(errno));
            return;
        }
        if (fds[0].revents & POLLIN) return;
        for (size_t i = 0; i < receive_.size(); ++i) {
            if (fds[i + 1].revents & POLLIN) serve_batch(receive_[i]);
        }
    }
}

void StunWorker::serve_batch(const StunReceiveSocket& socket) {
    const size_t n = in_.receive(socket.fd);
    if (n == 0) return;
    const uint64_t now = now_us();
    const bool want_why = om::log_enabled(OM_LOG_DEBUG);
    // TURN: the relay's lock for the whole batch, and its relayed datagrams sent together at the
    // end (they point into this batch's receive buffers).
    std::optional<TurnRelay::Batch> turn_batch;
    if (relay_ && socket.endpoint == EndpointTable::kPrimary) turn_batch.emplace(*relay_);
    for (size_t i = 0; i < n; ++i) {
        StunDatagram d;
        d.source = in_.source(i);
        bool turn_data = false;
        if (relay_ && socket.endpoint == EndpointTable::kPrimary && !in_.truncated(i) &&
            TurnRelay::wants(in_.bytes(i), &turn_data)) {
            // TURN: requests pass the rate limit like Binding requests; relayed data does not
            // (the relay's own bandwidth limit holds it).
            if (!turn_data && !limiter_.allow(d.source, now)) {
                tally_.add(StunCounter::RateLimited);
                continue;
            }
            SendBatch& here = out_[EndpointTable::kPrimary];
            const size_t size = relay_->on_client(socket.fd, d.source, in_.bytes(i), here.slot());
            if (size) here.commit(size, d.source, om_address{});
            continue;
        }
        if (!limiter_.allow(d.source, now)) {
            tally_.add(StunCounter::RateLimited);
            continue;
        }
        if (in_.truncated(i)) {
            tally_.add(StunCounter::Malformed);
            if (want_why) log_malformed(d.source, "larger than the receive buffer");
            continue;
        }
        d.bytes = in_.bytes(i);
        d.received_on = socket.endpoint;
        if (wildcard_) d.local = in_.local(i);
        // The answer is written straight into the send slot of the endpoint most likely to
        // send it; a CHANGE-REQUEST answered elsewhere is copied to that endpoint's batch. A
        // send batch holds kBatchSize answers, as many as one receive batch can ask for.
        SendBatch& here = out_[socket.endpoint];
        std::span<uint8_t> slot = here.slot();
        StunReply reply = responder_.answer(d, slot, want_why);
        count(reply);
        if (reply.outcome == StunOutcome::Malformed) {
            if (want_why) log_malformed(d.source, responder_.why().c_str());
            continue;
        }
        if (reply.outcome != StunOutcome::Success && reply.outcome != StunOutcome::Error) continue;
        const om_address source_ip = wildcard_ ? d.local : om_address{};
        if (reply.send_from == socket.endpoint) {
            here.commit(reply.size, reply.destination, source_ip);
        } else {
            SendBatch& there = out_[reply.send_from];
            std::copy_n(slot.begin(), reply.size, there.slot().begin());
            there.commit(reply.size, reply.destination, source_ip);
        }
    }
    turn_batch.reset();            // relayed datagrams leave; the relay's lock is released
    tally_.flush_into(counters_); // before sending: a client that has its answer sees the count
    for (int e = 0; e < EndpointTable::kCount; ++e) {
        if (!out_[e].empty()) tally_.add(StunCounter::SendErrors, out_[e].flush(send_fds_[e]));
    }
    tally_.flush_into(counters_);
}

void StunWorker::count(const StunReply& reply) {
    switch (reply.outcome) {
    case StunOutcome::Success:
    case StunOutcome::Error:
        tally_.add(StunCounter::Requests);
        tally_.add(StunCounter::Responses);
        if (reply.outcome == StunOutcome::Error) tally_.add(StunCounter::Errors);
        if (reply.classic) tally_.add(StunCounter::Classic);
        if (reply.change_request) tally_.add(StunCounter::ChangeRequests);
        break;
    case StunOutcome::Malformed:
        tally_.add(StunCounter::Malformed);
        break;
    case StunOutcome::Indication:
        tally_.add(StunCounter::Indications);
        break;
    case StunOutcome::Unsupported:
        tally_.add(StunCounter::Unsupported);
        break;
    case StunOutcome::TooLarge:
        tally_.add(StunCounter::Requests);
        tally_.add(StunCounter::Unsupported);
        break;
    }
}

void StunWorker::log_malformed(const om_address& source, const char* why) {
    om::log_message(OM_LOG_DEBUG, "stun: dropped a malformed datagram from " + proto::format_address(source) +
                                      ": " + why);
}

} // namespace om::server
