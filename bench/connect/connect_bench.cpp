// ConnectToPeer -> Connected (issue 5, point 9), against the floor measured in the same run: one
// signaling round trip (a connect over the server relay to a fresh, immediately accepting peer:
// request -> server -> peer -> response -> server -> back) plus one check round trip (the rtt_ms
// of the nominated pair of the P2P connection, a STUN Binding on the direct path).
// Goal: p50(P2P) <= 1.5 x (p50(signaling RT) + p50(check RT)).
//
// Round k: i<k> connects to r<k> with the default path (P2P), s<k> to r<k> over the server relay;
// the order alternates between rounds. Every connect is a new negotiation; registration and NAT
// discovery happen before the timing.
//
// Modes:
//   loopback (default): one process, an in-process orbitmesh::Server on 127.0.0.1, agents bound
//     to 127.0.0.1; the agents of --batch rounds register side by side, then those rounds run.
//   --server URL --listen PREFIX --count N [--responder-log FILE]: responders PREFIX0..N-1 with
//     the default options (wildcard bind, NAT discovery on); prints {"event":"ready"} once all
//     registered, then answers until SIGTERM/SIGINT or --max-seconds. With --responder-log it
//     writes each connect's responder side there, for the phases.
//   --server URL --connect PREFIX --count N [--id-prefix P] [--responder-log FILE]: one process
//     with initiators P i<k> and P s<k> (default options), all registered before the first round;
//     round k connects to PREFIX<k>. The first --warmup rounds are not counted; the first P2P
//     connect of the process is reported on its own (first_p2p_connect_ms).
//
// --stamp-log 1 (any mode) prefixes every stderr line with the monotonic clock in microseconds,
// for laying a --log-level debug run over the phase split.
//
// Prints a human table on stderr and ONE JSON line on stdout (listen mode: the ready line).
// Exit 1 when no round succeeded, 2 on bad usage.
#include "bench_agent.hpp"
#include "connect_sample.hpp"
#include "report.hpp"
#include "responder_log.hpp"
#include "stamped_stderr.hpp"

#include <orbitmesh/orbitmesh.hpp>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace {

using bench::BenchAgent;
using bench::Connect;

struct Options {
    int rounds = 200;
    int warmup = 3;
    double max_seconds = 300;
    int batch = 10;
    std::string log_level;
    bool stamp_log = false;
    // remote modes
    std::string server, listen, connect, id_prefix, responder_log;
    int count = 0;
};

[[noreturn]] void usage(const std::string& why)
{
    std::cerr << "connect_bench: " << why
              << "\nusage: connect_bench [--rounds 200] [--warmup 3] [--max-seconds 300] [--batch 10] [--log-level LEVEL]"
                 "\n           [--stamp-log 1]"
                 "\n       connect_bench --server URL --listen PREFIX --count N [--responder-log FILE] [--max-seconds S]"
                 "\n       connect_bench --server URL --connect PREFIX --count N [--warmup 3] [--id-prefix P]"
                 "\n           [--responder-log FILE] [--max-seconds S]\n";
    std::exit(2);
}

Options parse(int argc, char** argv)
{
    Options o;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (i + 1 >= argc) usage("missing value after " + arg);
        std::string value = argv[++i];
        if (arg == "--rounds") o.rounds = std::atoi(value.c_str());
        else if (arg == "--warmup") o.warmup = std::atoi(value.c_str());
        else if (arg == "--max-seconds") o.max_seconds = std::atof(value.c_str());
        else if (arg == "--batch") o.batch = std::atoi(value.c_str());
        else if (arg == "--log-level") o.log_level = value;
        else if (arg == "--stamp-log") o.stamp_log = value == "1";
        else if (arg == "--server") o.server = value;
        else if (arg == "--listen") o.listen = value;
        else if (arg == "--connect") o.connect = value;
        else if (arg == "--count") o.count = std::atoi(value.c_str());
        else if (arg == "--id-prefix") o.id_prefix = value;
        else if (arg == "--responder-log") o.responder_log = value;
        else usage("unknown option " + arg);
    }
    if (o.rounds < 1 || o.rounds > 100000 || o.warmup < 0 || o.max_seconds <= 0 || o.batch < 1 || o.batch > 50)
        usage("out-of-range value");
    const bool remote = !o.listen.empty() || !o.connect.empty();
    if (remote && (o.server.empty() || (!o.listen.empty() && !o.connect.empty()) || o.count < 1 || o.count > 500))
        usage("remote mode: --server URL and one of --listen/--connect PREFIX with --count 1..500");
    if (!remote && !o.server.empty()) usage("--server needs --listen or --connect");
    if (!o.connect.empty() && o.warmup >= o.count) usage("--warmup must be below --count");
    return o;
}

std::optional<om_log_level> log_level(const std::string& name)
{
    const char* names[] = {"trace", "debug", "info", "warning", "error", "off"};
    for (int i = 0; i < 6; ++i)
        if (name == names[i]) return static_cast<om_log_level>(i);
    return std::nullopt;
}

double load_average()
{
    double load[3] = {0, 0, 0};
    getloadavg(load, 3);
    return load[0];
}

// One round: a P2P connect and a relay connect to the same fresh responder, in alternating order
// so neither always runs right after the other.
std::pair<Connect, Connect> run_round(int k, BenchAgent& initiator, BenchAgent& relayed, const std::string& responder_id)
{
    Connect p2p, sig;
    if (k % 2 == 0) {
        p2p = bench::connect_once(initiator, responder_id, OM_TRANSPORT_NONE);
        sig = bench::connect_once(relayed, responder_id, OM_TRANSPORT_SERVER_RELAY);
    } else {
        sig = bench::connect_once(relayed, responder_id, OM_TRANSPORT_SERVER_RELAY);
        p2p = bench::connect_once(initiator, responder_id, OM_TRANSPORT_NONE);
    }
    return {std::move(p2p), std::move(sig)};
}

// --- loopback ---------------------------------------------------------------------------------

// The three fresh agents of round k: r<k> answers, i<k> connects P2P, s<k> over the relay.
struct LoopbackRound {
    int k;
    std::unique_ptr<BenchAgent> responder, initiator, relayed;
};

std::vector<LoopbackRound> register_batch(const std::string& url, int first, int count)
{
    std::vector<LoopbackRound> rounds;
    std::vector<BenchAgent*> agents;
    for (int k = first; k < first + count; ++k) {
        const std::string n = std::to_string(k);
        rounds.push_back({k, std::make_unique<BenchAgent>(url, "r" + n, "127.0.0.1"),
                          std::make_unique<BenchAgent>(url, "i" + n, "127.0.0.1"),
                          std::make_unique<BenchAgent>(url, "s" + n, "127.0.0.1")});
        agents.insert(agents.end(), {rounds.back().responder.get(), rounds.back().initiator.get(), rounds.back().relayed.get()});
    }
    bench::register_all(agents);
    return rounds;
}

int run_loopback(const Options& options)
{
    const double load_start = load_average();
    orbitmesh::ServerOptions server_options;
    server_options.bind("127.0.0.1").http_port(0).stun_port(-1).open(true);
    orbitmesh::Server server(server_options);
    server.start();
    const std::string url = server.url();

    bench::Results results;
    const auto started = bench::Clock::now();
    int done = 0;
    const int total = options.warmup + options.rounds;
    for (int first = 0; first < total && bench::ms_since(started) < options.max_seconds * 1000; first += options.batch) {
        // Bounded in time as well as count; each batch's agents are destroyed at its end.
        std::vector<LoopbackRound> batch;
        try {
            batch = register_batch(url, first, std::min(options.batch, total - first));
        } catch (const std::exception& e) {
            std::cerr << "connect_bench: " << e.what() << "\n";
            return 1;
        }
        for (LoopbackRound& round : batch) {
            if (bench::ms_since(started) > options.max_seconds * 1000) break;
            auto [p2p, sig] = run_round(round.k, *round.initiator, *round.relayed, round.responder->id());
            if (round.k < options.warmup) continue;
            for (Connect* c : {&p2p, &sig})
                if (c->ok) c->responder = bench::responder_record(*round.responder, c->initiator_id, 2000);
            results.record(p2p, sig);
            ++done;
        }
    }
    bench::RunInfo info{"loopback", done, options.warmup, bench::ms_since(started) / 1000, load_start, load_average(), ""};
    server.stop();
    bench::report(results, info);
    return results.p2p_connect.empty() ? 1 : 0;
}

// --- remote: listen -----------------------------------------------------------------------------

int run_listen(const Options& options)
{
    // SIGTERM/SIGINT end the run: blocked here, before any thread starts, and awaited below.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

    std::unique_ptr<bench::ResponderLogWriter> log;
    if (!options.responder_log.empty()) log = std::make_unique<bench::ResponderLogWriter>(options.responder_log);
    std::vector<std::unique_ptr<BenchAgent>> responders;
    std::vector<BenchAgent*> agents;
    for (int k = 0; k < options.count; ++k) {
        responders.push_back(std::make_unique<BenchAgent>(options.server, options.listen + std::to_string(k), "",
                                                          log ? log->hook() : BenchAgent::ConnectedHook{}));
        agents.push_back(responders.back().get());
    }
    try {
        bench::register_all(agents);
    } catch (const std::exception& e) {
        std::cerr << "connect_bench: " << e.what() << "\n";
        return 1;
    }
    std::cout << "{\"event\":\"ready\",\"agents\":" << options.count << "}" << std::endl;
    timespec limit{static_cast<time_t>(options.max_seconds), 0};
    sigtimedwait(&stop_signals, nullptr, &limit);  // a signal or the time limit: either ends the run
    if (log) log->stop();
    return 0;
}

// --- remote: connect ----------------------------------------------------------------------------

int run_connect(const Options& options)
{
    const double load_start = load_average();
    std::vector<std::unique_ptr<BenchAgent>> initiators, relayed;
    std::vector<BenchAgent*> agents;
    for (int k = 0; k < options.count; ++k) {
        const std::string n = std::to_string(k);
        initiators.push_back(std::make_unique<BenchAgent>(options.server, options.id_prefix + "i" + n, ""));
        relayed.push_back(std::make_unique<BenchAgent>(options.server, options.id_prefix + "s" + n, ""));
        agents.insert(agents.end(), {initiators.back().get(), relayed.back().get()});
    }
    try {
        bench::register_all(agents);
    } catch (const std::exception& e) {
        std::cerr << "connect_bench: " << e.what() << "\n";
        return 1;
    }

    std::vector<std::pair<Connect, Connect>> rounds;
    const auto started = bench::Clock::now();
    for (int k = 0; k < options.count && bench::ms_since(started) < options.max_seconds * 1000; ++k)
        rounds.push_back(run_round(k, *initiators[k], *relayed[k], options.connect + std::to_string(k)));
    const double seconds = bench::ms_since(started) / 1000;

    // The responder's side is read after the rounds, so reading its log never runs between them.
    std::optional<bench::ResponderLogReader> log;
    if (!options.responder_log.empty()) log.emplace(options.responder_log);
    bench::Results results;
    int done = 0;
    for (size_t k = 0; k < rounds.size(); ++k) {
        auto& [p2p, sig] = rounds[k];
        if (int(k) < options.warmup) continue;
        if (log)
            for (Connect* c : {&p2p, &sig})
                if (c->ok) c->responder = log->record(c->initiator_id, 2000);
        results.record(p2p, sig);
        ++done;
    }
    std::string extra;
    if (!rounds.empty() && rounds[0].first.ok) {
        char first[120];
        std::snprintf(first, sizeof first, ",\"first_p2p_connect_ms\":%.3f,\"first_p2p_wall_ms\":%.3f", rounds[0].first.connect_ms,
                      rounds[0].first.wall_ms);
        extra = first;
    }
    bench::report(results, {"remote", done, options.warmup, seconds, load_start, load_average(), extra});
    return results.p2p_connect.empty() ? 1 : 0;
}

} // namespace

int main(int argc, char** argv)
{
    const Options options = parse(argc, argv);
    if (!options.log_level.empty()) {
        auto level = log_level(options.log_level);
        if (!level) usage("unknown log level " + options.log_level);
        om_log_set_level(*level);
    }
    std::optional<bench::StampedStderr> stamped;
    if (options.stamp_log) stamped.emplace();
    if (!options.listen.empty()) return run_listen(options);
    if (!options.connect.empty()) return run_connect(options);
    return run_loopback(options);
}
