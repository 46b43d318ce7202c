// The output of a measuring run, the same in every mode: a human table on stderr and ONE JSON line
// on stdout with the percentiles, the floor (p50 signaling RT + p50 check RT) and the ratio.
#pragma once

#include "connect_sample.hpp"

#include <cstdio>
#include <iostream>
#include <string>
#include <thread>

namespace bench {

struct RunInfo {
    std::string mode;  // "loopback" or "remote"
    int rounds = 0, warmup = 0;
    double seconds = 0, load_start = 0, load_end = 0;
    std::string extra_json;  // more ",\"key\":value" members, may be empty
};

inline void report(const Results& results, const RunInfo& run)
{
    const double floor = results.sig_connect.p50() + results.check_rtt.p50();
    const double floor_wall = results.sig_wall.p50() + results.check_rtt.p50();
    const double ratio = results.p2p_connect.p50() / floor;
    const double ratio_wall = results.p2p_wall.p50() / floor_wall;

    std::cerr << "connect_bench (" << run.mode << "): " << run.rounds << " rounds (" << run.warmup
              << " warm-up rounds not counted), " << results.failures << " failed, " << run.seconds << " s; nproc "
              << std::thread::hardware_concurrency() << ", load average " << run.load_start << " at start, " << run.load_end
              << " at end\n";
    if (!results.first_failure.empty()) std::cerr << "first failure: " << results.first_failure << "\n";
    std::cerr << "milliseconds                                     n       p50       p90       p99       max\n"
              << results.p2p_connect.row("P2P connect_ms (library)") << "\n"
              << results.p2p_wall.row("P2P wall clock around connect_peer") << "\n"
              << results.sig_connect.row("signaling RT: relay connect_ms") << "\n"
              << results.sig_wall.row("signaling RT: relay wall clock") << "\n"
              << results.check_rtt.row("check RT: nominated pair rtt_ms") << "\n"
              << results.p2p_phases.rows("P2P") << results.relay_phases.rows("relay")
              << results.checks_initiator.row("checks sent by the initiator (count)") << "\n"
              << results.checks_responder.row("checks sent by the responder (count)") << "\n";
    char line[160];
    std::snprintf(line, sizeof line, "floor = %.3f + %.3f = %.3f ms; ratio p50(P2P)/floor = %.2f (wall clock: %.2f); goal <= 1.5\n",
                  results.sig_connect.p50(), results.check_rtt.p50(), floor, ratio, ratio_wall);
    std::cerr << line;

    char head[400];
    std::snprintf(head, sizeof head,
                  "{\"bench\":\"connect\",\"mode\":\"%s\",\"rounds\":%d,\"failures\":%d,\"seconds\":%.1f,"
                  "\"load_average_start\":%.2f,\"load_average_end\":%.2f,\"floor_ms\":%.3f,\"ratio\":%.3f,"
                  "\"ratio_wall\":%.3f,\"goal_met\":%s,",
                  run.mode.c_str(), run.rounds, results.failures, run.seconds, run.load_start, run.load_end, floor, ratio,
                  ratio_wall, ratio <= 1.5 ? "true" : "false");
    std::cout << head << "\"p2p_connect_ms\":" << results.p2p_connect.json() << ",\"p2p_wall_ms\":" << results.p2p_wall.json()
              << ",\"signaling_rt_ms\":" << results.sig_connect.json() << ",\"signaling_rt_wall_ms\":" << results.sig_wall.json()
              << ",\"check_rtt_ms\":" << results.check_rtt.json() << results.p2p_phases.json("p2p")
              << results.relay_phases.json("relay") << ",\"checks_sent_initiator\":" << results.checks_initiator.json()
              << ",\"checks_sent_responder\":" << results.checks_responder.json() << run.extra_json << "}" << std::endl;
}

} // namespace bench
