#!/usr/bin/python3
"""Connect time behind real NATs (issue 5, point 9): the NAT lab's namespaces (tests/natlab), with
orbitmesh-server in the server namespace and, per pair of NAT types, the responder(s) on one host
and the initiator(s) on the other, each host behind its own router. Two ways to measure:

  warm (default): what a long-running program sees. `connect_bench --listen` on the responder's
    host registers N responders in one process; `connect_bench --connect` on the initiator's host
    registers 2N initiators in ONE process, then per round connects P2P (default path) and over
    the server relay (the signaling round trip), alternating the order; the first --warmup rounds
    are not counted. The responder process logs its side of each connect, so the table also
    splits each connect into phases (one monotonic clock: both processes run on this machine).
  cold (--cold): every connect is the first one of a fresh `orbitmesh-agent connect PEER --count 1
    --mode unreliable [--transport server]` process, against one `orbitmesh-agent listen`.

The floor is p50(signaling RT) + p50(check RT), the check RT being the rtt_ms of the nominated
pair of the P2P connect. All times are the library's connect_ms (request sent -> Connected;
process start, NAT discovery and registration are outside it). Goal: p50(P2P) <= 1.5 x floor.

usage: bench/connect/lab_connect.py [BUILD_DIR] [--rounds 30] [--warmup 3]
       [--pairs FullCone:PortRestricted,Open:Open] [--cold | --both] [--max-seconds 900] [--log-level LEVEL]
BUILD_DIR holds server/orbitmesh-server, cli/orbitmesh-agent, bench/connect/connect_bench and
plugins/ (default: build). Needs root (network namespaces); prints NATLAB SKIPPED and exits 77
otherwise. Prints a table per pair and mode on stderr and one JSON line per pair and mode on
stdout. The lab is torn down on exit, also on Ctrl-C and SIGTERM (natlab.Lab)."""
import argparse
import json
import math
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SKIP_EXIT = 77
READY_TIMEOUT_S = 60   # N responders register side by side (NAT discovery first)


def percentile(values, p):
    """Nearest rank, as connect_bench; None without values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(p / 100 * len(ordered))))
    return ordered[rank - 1]


def summary(values):
    return {"n": len(values), **{f"p{p}": percentile(values, p) for p in (50, 90, 99)},
            "max": max(values) if values else None}


def nominated_rtt(pairs):
    for pair in pairs or []:
        if pair.get("nominated") and isinstance(pair.get("rtt_ms"), (int, float)):
            return pair["rtt_ms"]
    return None


# --- warm: two connect_bench processes --------------------------------------------------------

def measure_warm(lab, server, initiator, responder, label, args, natlab):
    """connect_bench --listen on the responder's host, connect_bench --connect on the initiator's:
    returns connect_bench's JSON object (mode "remote")."""
    bench = os.path.join(args.build, "bench", "connect", "connect_bench")
    # With a log level, stderr lines carry the monotonic clock in microseconds (the events' clock).
    extra = ["--log-level", args.log_level, "--stamp-log", "1"] if args.log_level else []
    count = args.rounds + args.warmup
    log_path = os.path.join(lab.workdir, f"{label}-responder.log")
    stderr_path = os.path.join(lab.workdir, f"{label}-listen.stderr")
    listen_argv = [bench, "--server", server.url, "--listen", f"{label}-r", "--count", str(count),
                   "--responder-log", log_path, "--max-seconds", str(int(args.max_seconds)), *extra]
    with open(stderr_path, "w") as stderr:
        listener = responder.popen(listen_argv, stdout=subprocess.PIPE, stderr=stderr, text=True)
    try:
        ready = _await_ready(listener, READY_TIMEOUT_S)
        if not ready:
            raise RuntimeError(f"{' '.join(listen_argv)}: no ready line within {READY_TIMEOUT_S}s "
                               f"(exit {listener.poll()})\n{_tail(stderr_path)}")
        connect_argv = [bench, "--server", server.url, "--connect", f"{label}-r", "--count", str(count),
                        "--warmup", str(args.warmup), "--id-prefix", f"{label}-", "--responder-log",
                        log_path, "--max-seconds", str(int(args.max_seconds)), *extra]
        done = initiator.run(connect_argv, timeout=args.max_seconds + READY_TIMEOUT_S)
        sys.stderr.write(f"\n{initiator.nat_type} -> {responder.nat_type} (warm, one process per side):\n")
        sys.stderr.write(done.stderr if not args.log_level else done.stderr[-20000:])
        lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
        if done.returncode != 0 or not lines:
            raise RuntimeError(f"{' '.join(connect_argv)}: exit {done.returncode}\n{done.stdout}\n{done.stderr[-4000:]}")
        result = json.loads(lines[-1])
    finally:
        natlab.stop_process(listener)
    if args.log_level:
        sys.stderr.write(f"--- responder stderr ({stderr_path}) ---\n{_tail(stderr_path, 20000)}\n")
    return result


def _await_ready(proc, timeout):
    """True once proc printed {"event":"ready",...}; False if it exited or timed out."""
    import selectors
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if not sel.select(timeout=max(0.0, deadline - time.monotonic())):
                return False
            line = proc.stdout.readline()
            if not line:
                return False
            if '"ready"' in line:
                return True
    return False


def _tail(path, chars=4000):
    try:
        with open(path, errors="replace") as f:
            return f.read()[-chars:]
    except OSError:
        return "(no file)"


# --- cold: one orbitmesh-agent process per connect ----------------------------------------------

def measure_cold(lab, server, initiator, responder, label, args, p2p_lab):
    """Rounds of P2P and relay connects, each a fresh `orbitmesh-agent connect` process, to one
    `orbitmesh-agent listen` that stays up for the whole pair."""
    extra = ("--log-level", args.log_level) if args.log_level else ()
    listener = p2p_lab.Listener(responder, server.url, f"resp-{label}", lab.workdir, extra)
    listener.start()
    p2p, relay, rtts, failures, checks = [], [], [], [], []
    deadline = time.monotonic() + args.max_seconds
    try:
        for k in range(args.rounds):
            if time.monotonic() > deadline:
                failures.append(f"stopped after {k} rounds: --max-seconds {args.max_seconds}")
                break
            # Alternate the order so neither kind always runs right after the other's teardown.
            kinds = ("p2p", "relay") if k % 2 == 0 else ("relay", "p2p")
            for kind in kinds:
                transport = ("--transport", "server") if kind == "relay" else ()
                run = p2p_lab.run_connect(initiator, server.url, f"{kind}-{label}-{k}", listener.agent_id,
                                          extra_args=(*extra, *transport), count=1, mode="unreliable")
                wanted = "P2P" if kind == "p2p" else "ServerRelay"
                if run.exit_code != 0 or run.get("status") != "Connected" or run.get("transport") != wanted:
                    failures.append(f"{kind} round {k}: exit {run.exit_code}, status {run.get('status')}, "
                                    f"transport {run.get('transport')}, diagnosis {run.get('diagnosis')!r}")
                    if args.log_level:
                        sys.stderr.write(run.describe() + "\n")
                    continue
                if kind == "relay":
                    relay.append(run.get("connect_ms"))
                    continue
                rtt = nominated_rtt(run.get("pairs"))
                if rtt is None:
                    failures.append(f"p2p round {k}: no nominated pair with an rtt_ms in {run.get('pairs')}")
                    continue
                p2p.append(run.get("connect_ms"))
                rtts.append(rtt)
                checks.append(sum(p.get("checks_sent", 0) for p in run.get("pairs") or []))
                if args.log_level:
                    sys.stderr.write(f"--- {kind} round {k} ---\n{run.stderr}\n")
    finally:
        listener.stop()
    floor = (percentile(relay, 50) or 0) + (percentile(rtts, 50) or 0)
    ratio = percentile(p2p, 50) / floor if p2p and relay and floor > 0 else None
    result = {"bench": "connect", "mode": "cold", "rounds": args.rounds, "failures": len(failures),
              "first_failures": failures[:3], "p2p_connect_ms": summary(p2p),
              "signaling_rt_ms": summary(relay), "check_rtt_ms": summary(rtts),
              "checks_sent_initiator": summary(checks), "floor_ms": floor, "ratio": ratio,
              "goal_met": ratio is not None and ratio <= 1.5}
    print_table(initiator.nat_type, responder.nat_type, result)
    return result


def print_table(initiator_nat, responder_nat, result):
    out = sys.stderr
    out.write(f"\n{initiator_nat} -> {responder_nat} (cold): {result['rounds']} rounds, "
              f"{result['failures']} failed\n")
    for why in result["first_failures"]:
        out.write(f"  {why}\n")
    out.write(f"{'milliseconds':<40} {'n':>4} {'p50':>9} {'p90':>9} {'p99':>9} {'max':>9}\n")
    for name, key in (("P2P connect_ms", "p2p_connect_ms"), ("signaling RT: relay connect_ms", "signaling_rt_ms"),
                      ("check RT: nominated pair rtt_ms", "check_rtt_ms"),
                      ("checks sent by the initiator (count)", "checks_sent_initiator")):
        s = result[key]
        cells = " ".join(f"{s[p]:>9.3f}" if s[p] is not None else f"{'-':>9}" for p in ("p50", "p90", "p99", "max"))
        out.write(f"{name:<40} {s['n']:>4} {cells}\n")
    if result["ratio"] is not None:
        out.write(f"floor = {result['signaling_rt_ms']['p50']:.3f} + {result['check_rtt_ms']['p50']:.3f} = "
                  f"{result['floor_ms']:.3f} ms; ratio p50(P2P)/floor = {result['ratio']:.2f}; goal <= 1.5\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("build", nargs="?", default=os.path.join(ROOT, "build"))
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3, help="warm mode: first rounds not counted")
    parser.add_argument("--pairs", default="FullCone:PortRestricted,Open:Open",
                        help="initiator:responder NAT types, comma-separated")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--cold", action="store_true", help="one orbitmesh-agent process per connect")
    which.add_argument("--both", action="store_true", help="warm, then cold, for each pair")
    parser.add_argument("--max-seconds", type=float, default=900, help="per pair and mode")
    parser.add_argument("--log-level", default="", help="the agents' --log-level (and their stderr printed)")
    args = parser.parse_args()
    if not 1 <= args.rounds <= 400 or not 0 <= args.warmup <= 50:
        parser.error("--rounds: 1..400, --warmup: 0..50")
    args.build = os.path.abspath(args.build)
    os.environ["OM_BUILD_DIR"] = args.build
    os.environ.setdefault("OM_PLUGIN_PATH", os.path.join(args.build, "plugins"))
    sys.path.insert(0, os.path.join(ROOT, "tests", "natlab"))
    import natlab  # noqa: E402 - after OM_BUILD_DIR: orbitmesh_lab reads it at import
    import orbitmesh_lab  # noqa: E402
    import p2p_lab  # noqa: E402
    from nat_recipes import NAT_TYPES  # noqa: E402

    reason = natlab.unavailable_reason()
    if reason:
        natlab.skip_loudly(reason)
        return SKIP_EXIT
    pairs = [tuple(p.split(":")) for p in args.pairs.split(",") if p]
    for pair in pairs:
        if len(pair) != 2 or any(t not in NAT_TYPES for t in pair):
            parser.error(f"--pairs: {':'.join(pair)}: NAT types are {', '.join(NAT_TYPES)}")
    modes = ["cold"] if args.cold else ["warm", "cold"] if args.both else ["warm"]
    with natlab.Lab() as lab, orbitmesh_lab.OrbitmeshServer(lab) as server:
        hosts = [lab.add_pair(a, b) for a, b in pairs]
        for (initiator, responder), (a, b) in zip(hosts, pairs):
            for mode in modes:
                label = f"{a}-{b}-{mode}".lower()
                # Each measurement starts from empty NAT tables, as a fresh pair of programs would.
                initiator.flush_nat_state()
                responder.flush_nat_state()
                load = os.getloadavg()[0]
                if mode == "warm":
                    result = measure_warm(lab, server, initiator, responder, label, args, natlab)
                    result["mode"] = "warm"
                else:
                    result = measure_cold(lab, server, initiator, responder, label, args, p2p_lab)
                result.update(initiator_nat=a, responder_nat=b, load_average_start=load,
                              load_average_end=os.getloadavg()[0])
                print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
