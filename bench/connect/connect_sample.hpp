// One measured connect (the initiator's call, its events, the responder's side of it) and the
// samples of a run: P2P and relay connect_ms, the nominated pair's check round trip, and where
// the time went from both agents' event timestamps.
#pragma once

#include "bench_agent.hpp"
#include "nominated_rtt.hpp"
#include "samples.hpp"

#include <chrono>
#include <optional>
#include <string>

namespace bench {

using Clock = std::chrono::steady_clock;

inline double ms_since(Clock::time_point start)
{
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// The responder's view of one connect: when it sent connect_response (its Connecting event comes
// right after), when it reached Connected, its own connect_ms (request arrived -> Connected) and
// the checks it sent. Read in-process (loopback) or from the responder process's log (remote).
struct ResponderRecord {
    uint64_t connecting_at_us = 0;
    uint64_t connected_at_us = 0;
    double connect_ms = 0;
    uint64_t checks_sent = 0;
};

// The record of `initiator_id` at responder `to`, once it is Connected (waits up to timeout_ms).
inline std::optional<ResponderRecord> responder_record(BenchAgent& to, const std::string& initiator_id, int timeout_ms)
{
    auto connected = to.when(initiator_id, OM_PEER_CONNECTED, timeout_ms);
    auto answered = to.when(initiator_id, OM_PEER_CONNECTING, timeout_ms);
    if (!connected || !answered) return std::nullopt;
    const om_peer_state state = to->peer_state(initiator_id);
    return ResponderRecord{*answered, *connected, state.connect_ms, state.checks_sent};
}

// What one connect did, from the initiator's call and event, plus the responder's record.
struct Connect {
    std::string initiator_id;
    bool ok = false;
    std::string why;
    double wall_ms = 0;     // around connect_peer, gathering and planning included
    double connect_ms = 0;  // the library's: request sent -> Connected
    std::optional<uint64_t> connected_at_us;
    std::optional<double> check_rtt_ms;
    uint64_t checks_sent = 0;
    std::optional<ResponderRecord> responder;
};

// from connects to to_id over `via` (OM_TRANSPORT_NONE: the default path, expected P2P).
inline Connect connect_once(BenchAgent& from, const std::string& to_id, om_transport_type via)
{
    Connect c;
    c.initiator_id = from.id();
    const om_transport_type wanted = via == OM_TRANSPORT_NONE ? OM_TRANSPORT_P2P : via;
    om_peer_state state{};
    auto start = Clock::now();
    try {
        state = from->connect_peer(to_id, via);
    } catch (const orbitmesh::Error& e) {
        c.why = std::string(e.status_name()) + ": " + e.what();
        return c;
    }
    c.wall_ms = ms_since(start);
    c.connect_ms = state.connect_ms;
    c.checks_sent = state.checks_sent;
    if (state.status != OM_PEER_CONNECTED || state.active_transport != wanted) {
        c.why = "ended with status " + std::to_string(state.status) + " transport " + std::to_string(state.active_transport) +
                ": " + state.diagnosis;
        return c;
    }
    c.ok = true;
    if (via == OM_TRANSPORT_NONE) c.check_rtt_ms = nominated_rtt_ms(from->peer_pairs_json(to_id));
    c.connected_at_us = from.when(to_id, OM_PEER_CONNECTED, 2000);
    return c;
}

// Where one connect's time went, on one monotonic clock. Each side's start is its Connected event
// minus its own connect_ms: the initiator's is when it began connecting (its candidate gathering,
// planning and ICE session set-up come before the request leaves), the responder's when the
// request arrived. On 2 busy cores a thread can be preempted between a send
// and the event that follows it: single values can be off by a context switch.
struct Phases {
    double request_leg_ms;     // initiator start (set-up included) -> request at the responder
    double responder_work_ms;  // request arrived -> response sent (responder)
    double after_answer_ms;    // response sent -> initiator Connected
    double responder_lag_ms;   // initiator Connected -> responder Connected
};

inline std::optional<Phases> phases_of(const Connect& c)
{
    if (!c.connected_at_us || !c.responder) return std::nullopt;
    const ResponderRecord& r = *c.responder;
    const double began = double(*c.connected_at_us) / 1000.0 - c.connect_ms;
    const double arrived = double(r.connected_at_us) / 1000.0 - r.connect_ms;
    return Phases{arrived - began, double(r.connecting_at_us) / 1000.0 - arrived,
                  (double(*c.connected_at_us) - double(r.connecting_at_us)) / 1000.0,
                  (double(r.connected_at_us) - double(*c.connected_at_us)) / 1000.0};
}

struct PhaseSamples {
    Samples request_leg, responder_work, after_answer, responder_lag;

    void add(const std::optional<Phases>& p)
    {
        if (!p) return;
        request_leg.add(p->request_leg_ms);
        responder_work.add(p->responder_work_ms);
        after_answer.add(p->after_answer_ms);
        responder_lag.add(p->responder_lag_ms);
    }
    std::string rows(const std::string& what) const
    {
        return request_leg.row(what + ": start -> request at responder") + "\n" +
               responder_work.row(what + ": responder's work until response") + "\n" +
               after_answer.row(what + ": response sent -> Connected") + "\n" +
               responder_lag.row(what + ": initiator -> responder Connected") + "\n";
    }
    std::string json(const std::string& what) const
    {
        return ",\"" + what + "_request_leg_ms\":" + request_leg.json() + ",\"" + what +
               "_responder_work_ms\":" + responder_work.json() + ",\"" + what + "_after_answer_ms\":" + after_answer.json() +
               ",\"" + what + "_responder_lag_ms\":" + responder_lag.json();
    }
};

// The samples of a run: one P2P and one relay connect per counted round.
struct Results {
    Samples p2p_connect, p2p_wall, sig_connect, sig_wall, check_rtt;
    PhaseSamples p2p_phases, relay_phases;
    Samples checks_initiator, checks_responder;
    int failures = 0;
    std::string first_failure;

    void record(const Connect& p2p, const Connect& sig)
    {
        if (!p2p.ok || !sig.ok || !p2p.check_rtt_ms) {
            if (failures++ == 0)
                first_failure = !p2p.ok ? "p2p: " + p2p.why : !sig.ok ? "relay: " + sig.why : "p2p: no nominated pair rtt";
            return;
        }
        p2p_connect.add(p2p.connect_ms);
        p2p_wall.add(p2p.wall_ms);
        sig_connect.add(sig.connect_ms);
        sig_wall.add(sig.wall_ms);
        check_rtt.add(*p2p.check_rtt_ms);
        p2p_phases.add(phases_of(p2p));
        relay_phases.add(phases_of(sig));
        checks_initiator.add(double(p2p.checks_sent));
        if (p2p.responder) checks_responder.add(double(p2p.responder->checks_sent));
    }
};

} // namespace bench
