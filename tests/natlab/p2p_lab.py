"""Peer-to-peer connections in the lab (issue 5): a responder running `orbitmesh-agent ... listen`,
an initiator running `orbitmesh-agent ... connect PEER` with the CONTRACT's JSON parsed, the
outcome expected for each pair of NAT types, a scheduler that runs pairs side by side without
two of them sharing a host, and the markdown table of a matrix run (docs/nat-matrix.md)."""
import datetime
import json
import os
import queue
import re
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from nat_recipes import NAT_TYPES
from natlab import LabTimeout, stop_process
from orbitmesh_lab import binary

REGISTER_TIMEOUT_S = 20.0   # listen: NAT discovery, then registration (the verdict travels with it)
CONNECT_TIMEOUT_MS = 10000  # the agent's --timeout-ms: bounds the connection, then the exchange
MESSAGES = 20
MESSAGE_SIZE = 64
# Every pair sends MESSAGES reliable-ordered messages (one end-to-end encrypted QUIC connection
# per peer, on the direct path or the server relay: every echo must come back intact, in
# order), then, from a second initiator agent, MESSAGES unreliable ones (QUIC datagrams; they
# found the greased-bit demultiplexing bug of e387050).
MODES = ("reliable-ordered", "unreliable")

# Symmetric NATs give a new port per destination, so their side is reachable only through the
# peer-reflexive candidate the other side learns from its checks (RFC 8445 §7.2.5.3.1); that
# works when the other side's filter lets those checks in from any port (Open, FullCone,
# Restricted), not against PortRestricted or Symmetric (ARCHITECTURE.md, "The NAT lab").
PUNCHES_WITH_SYMMETRIC = ("Open", "FullCone", "Restricted")
DIRECT_STRATEGIES = ("DirectConnect", "UdpHolePunch")

ORDERED_PAIRS = [(a, b) for a in NAT_TYPES for b in NAT_TYPES]


def expected_transport(initiator_nat, responder_nat):
    """"P2P" or "ServerRelay": what issue 5 promises for this ordered pair of NAT types."""
    if "Symmetric" not in (initiator_nat, responder_nat):
        return "P2P"
    other = responder_nat if initiator_nat == "Symmetric" else initiator_nat
    return "P2P" if other in PUNCHES_WITH_SYMMETRIC else "ServerRelay"


def candidate_type(candidate):
    """"host", "srflx", "prflx" or "relay" from an RFC 8839 candidate line; None without one."""
    match = re.search(r"\btyp (\S+)", candidate or "")
    return match.group(1) if match else None


def candidate_address(candidate):
    """The connection address of an RFC 8839 candidate line (its 5th field); None without one."""
    fields = (candidate or "").split()
    return fields[4] if len(fields) > 5 else None


def _agent():
    agent = binary("orbitmesh-agent")
    if agent is None:
        raise RuntimeError("orbitmesh-agent not found: set OM_AGENT or OM_BUILD_DIR")
    return agent


class ListenerError(RuntimeError):
    """The responder did not register (its output is in the message)."""


class Listener:
    """`orbitmesh-agent --server URL --id ID [extra] listen` on host: started by start(), which
    returns once the agent says it registered; stop() ends it with SIGTERM. .events holds every
    JSON line it printed, its stderr goes to a file of the lab's working directory."""

    def __init__(self, host, server_url, agent_id, workdir, extra_args=()):
        self.host, self.agent_id = host, agent_id
        self.argv = [_agent(), "--server", server_url, "--id", agent_id, *extra_args, "listen"]
        self.stderr_path = Path(workdir) / f"{agent_id}.stderr"
        self.events = []
        self.arrivals = []   # time.monotonic() of each line of .events, as it was read
        self.exit_code = None
        self._lines = queue.Queue()
        self._proc = None
        self._reader = None

    def start(self, timeout=REGISTER_TIMEOUT_S):
        with open(self.stderr_path, "w") as stderr:
            self._proc = self.host.popen(self.argv, stdout=subprocess.PIPE, stderr=stderr,
                                         text=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                event = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if event is None:
                break   # stdout closed: the agent exited
            if event.get("event") == "connected":
                return self
            if event.get("event") == "error":
                break
        self.stop()
        raise ListenerError(f"{self.agent_id} did not register within {timeout}s\n{self.describe()}")

    def _read(self):
        for text in self._proc.stdout:
            try:
                event = json.loads(text)
            except ValueError:
                event = {"event": "unparsed", "text": text.rstrip("\n")}
            self.arrivals.append(time.monotonic())
            self.events.append(event)
            self._lines.put(event)
        self._lines.put(None)

    def stop(self):
        if self._proc is not None and self.exit_code is None:
            self.exit_code = stop_process(self._proc)
            self._reader.join(timeout=5)
        return self.exit_code

    def peer_events(self, peer_id, kind):
        return [e for e in self.events if e.get("event") == kind and e.get("peer") == peer_id]

    def stderr(self):
        try:
            return self.stderr_path.read_text(errors="replace")
        except OSError:
            return "(no stderr file)"

    def describe(self, chars=4000):
        events = "\n".join(json.dumps(e) for e in self.events)
        return (f"{' '.join(self.argv)} (in {self.host})\nexit {self.exit_code}\n--- events ---\n"
                f"{events}\n--- stderr ---\n{self.stderr()[-chars:]}")


@dataclass
class ConnectRun:
    """One `connect` run: exit code, output, its JSON object (None if it printed none)."""
    argv: list
    exit_code: int
    stdout: str
    stderr: str
    result: dict
    seconds: float

    def get(self, name, default=None):
        return (self.result or {}).get(name, default)

    def describe(self, chars=6000):
        return (f"{' '.join(self.argv)}\nexit {self.exit_code} after {self.seconds:.1f}s\n"
                f"--- stdout ---\n{self.stdout}\n--- stderr ---\n{self.stderr[-chars:]}")


def run_connect(host, server_url, agent_id, peer_id, extra_args=(), count=MESSAGES,
                size=MESSAGE_SIZE, mode="reliable-ordered", timeout_ms=CONNECT_TIMEOUT_MS,
                process_timeout=None):
    """`orbitmesh-agent --server URL --id ID --timeout-ms T [extra] connect PEER --count N
    --size S --mode M` on host. The process is bounded by process_timeout seconds, by default
    twice timeout_ms (connection, then the exchange) and a margin for registration."""
    argv = [_agent(), "--server", server_url, "--id", agent_id, "--timeout-ms", str(timeout_ms),
            *extra_args, "connect", peer_id, "--count", str(count), "--size", str(size),
            "--mode", mode]
    started = time.monotonic()
    try:
        done = host.run(argv, timeout=process_timeout or 2 * timeout_ms / 1000 + 20)
    except LabTimeout as e:
        return ConnectRun(argv, -1, "", str(e), None, time.monotonic() - started)
    try:
        result = json.loads(done.stdout)
    except ValueError:
        result = None
    return ConnectRun(argv, done.returncode, done.stdout, done.stderr,
                      result if isinstance(result, dict) else None, time.monotonic() - started)


@dataclass
class PairRun:
    """What one ordered pair did: the initiator's connect run and the responder's events, or
    the harness error that kept it from running."""
    initiator_nat: str
    responder_nat: str
    initiator_id: str
    responder_id: str
    connect: ConnectRun = None      # reliable-ordered (MODES[0])
    unreliable: ConnectRun = None   # unreliable, from a second initiator agent (MODES[1])
    listener: Listener = None
    error: str = None
    expected: str = None   # issue 5's promise unless given ("TurnRelay" with TURN configured)

    def __post_init__(self):
        if self.expected is None:
            self.expected = expected_transport(self.initiator_nat, self.responder_nat)

    @property
    def unreliable_id(self):
        return f"{self.initiator_id}u"

    @property
    def label(self):
        return f"{self.initiator_nat}->{self.responder_nat}"

    def describe(self):
        parts = [f"pair {self.label} (expected {self.expected})"]
        if self.error:
            parts.append(f"harness: {self.error}")
        for name, c in (("reliable-ordered", self.connect), ("unreliable", self.unreliable)):
            if not c:
                continue
            parts.append(f"--- initiator ({name}) ---\n" + c.describe())
            pairs = c.get("pairs")
            if pairs:
                parts.append("--- candidate pairs ---\n" + "\n".join(json.dumps(p) for p in pairs))
        if self.listener:
            parts.append("--- responder ---\n" + self.listener.describe())
        return "\n".join(parts)


def run_pair(initiator, responder, server_url, number, workdir, extra_args=(), connect_args=(),
             modes=MODES, expected=None):
    """Responder `listen`s as resp-NUMBER on its host, the initiator `connect`s to it as
    init-NUMBER with --mode reliable-ordered, then (when "unreliable" is in modes) as
    init-NUMBERu with --mode unreliable; both routers forget their NAT state first. Never
    raises: a harness failure is the PairRun's .error."""
    run = PairRun(initiator.nat_type, responder.nat_type, f"init-{number}", f"resp-{number}",
                  expected=expected)
    try:
        initiator.flush_nat_state()
        responder.flush_nat_state()
        run.listener = Listener(responder, server_url, run.responder_id, workdir, extra_args)
        run.listener.start()
        try:
            run.connect = run_connect(initiator, server_url, run.initiator_id, run.responder_id,
                                      extra_args=(*extra_args, *connect_args),
                                      mode="reliable-ordered")
            if "unreliable" in modes:
                run.unreliable = run_connect(initiator, server_url, run.unreliable_id,
                                             run.responder_id,
                                             extra_args=(*extra_args, *connect_args),
                                             mode="unreliable")
        finally:
            run.listener.stop()
    except Exception as e:  # noqa: BLE001 - recorded, reported by the pair's test
        run.error = f"{type(e).__name__}: {e}"
    return run


def pair_problems(run, messages=MESSAGES, min_p2p_echoes=MESSAGES - 2):
    """What in a PairRun disagrees with issue 5 and the CONTRACT; [] when nothing does.
    The reliable-ordered run must echo every message intact and in order (exit 0) on either
    path; the unreliable run is QUIC datagrams: over P2P a lossless lab still gets a margin of
    min_p2p_echoes, the server relay (TCP underneath) must echo every message."""
    if run.error:
        return [run.error]
    problems = [f"reliable-ordered: {p}" for p in
                connect_problems(run, run.connect, run.initiator_id, "reliable-ordered", messages)]
    if run.unreliable is not None:
        problems += [f"unreliable: {p}" for p in
                     connect_problems(run, run.unreliable, run.unreliable_id, "unreliable",
                                      messages, min_p2p_echoes)]
    return problems


def connect_problems(run, c, initiator_id, mode, messages=MESSAGES, min_p2p_echoes=None):
    """What one connect run of a pair got wrong (see pair_problems)."""
    if c is None:
        return ["no connect run"]
    if c.result is None:
        return [f"connect printed no JSON object (exit {c.exit_code})"]
    problems = []
    reliable = mode.startswith("reliable")

    def expect(name, wanted):
        if c.get(name) != wanted:
            problems.append(f"{name} = {c.get(name)!r}, expected {wanted!r}")

    expect("status", "Connected")
    if c.exit_code != 0:   # in reliable modes: every echo back intact (and in order)
        problems.append(f"exit code {c.exit_code}, expected 0 ({c.get('diagnosis')})")
    expect("transport", run.expected)
    expect("local_nat", run.initiator_nat)
    expect("remote_nat", run.responder_nat)
    expect("sent", messages)
    if run.expected == "TurnRelay":
        # Through a TURN allocation (ours or the peer's): a relayed candidate in the pair.
        expect("strategy", "TurnRelay")
        if reliable or min_p2p_echoes is None:
            expect("echoed", messages)
        elif not isinstance(c.get("echoed"), int) or c.get("echoed") < min_p2p_echoes:
            problems.append(f"echoed = {c.get('echoed')!r}, expected at least {min_p2p_echoes}")
        if "relay" not in (candidate_type(c.get("local_candidate")), candidate_type(c.get("remote_candidate"))):
            problems.append(f"no relayed candidate in the selected pair ({c.get('local_candidate')!r} -> "
                            f"{c.get('remote_candidate')!r})")
    elif run.expected == "P2P":
        if c.get("strategy") not in DIRECT_STRATEGIES:
            problems.append(f"strategy = {c.get('strategy')!r}, expected one of {DIRECT_STRATEGIES}")
        if reliable or min_p2p_echoes is None:
            expect("echoed", messages)
        elif not isinstance(c.get("echoed"), int) or c.get("echoed") < min_p2p_echoes:
            problems.append(f"echoed = {c.get('echoed')!r}, expected at least {min_p2p_echoes}")
        for name in ("local_candidate", "remote_candidate"):
            if candidate_type(c.get(name)) is None:
                problems.append(f"{name} = {c.get(name)!r}, expected an RFC 8839 candidate")
    else:
        expect("strategy", "ServerRelay")
        expect("echoed", messages)
        if not c.get("diagnosis"):
            problems.append("no diagnosis (why not direct) on a relayed connection")
    # Both sides must agree on the path: the responder's peer_connected names the same transport.
    seen = [e.get("transport") for e in run.listener.peer_events(initiator_id, "peer_connected")]
    if c.get("transport") is not None and c.get("transport") not in seen:
        problems.append(f"the responder's peer_connected transports {seen}, expected "
                        f"{c.get('transport')!r} as the initiator's")
    return problems


def run_exclusive(jobs, workers):
    """Runs job functions side by side, at most `workers` at once, never two jobs that share a
    resource (a host: one agent per host, one experiment per router's NAT state) at the same
    time. jobs: {key: (resources, fn)}; returns {key: fn()}, or the exception fn raised."""
    pending = list(jobs.items())
    busy, results = set(), {}
    cond = threading.Condition()

    def worker():
        while True:
            with cond:
                while True:
                    if not pending:
                        return
                    ready = next((j for j in pending if not busy & set(j[1][0])), None)
                    if ready:
                        pending.remove(ready)
                        busy.update(ready[1][0])
                        break
                    cond.wait()
            key, (resources, fn) = ready
            try:
                value = fn()
            except BaseException as e:  # noqa: BLE001 - kept as the job's result
                value = e
            with cond:
                results[key] = value
                busy.difference_update(resources)
                cond.notify_all()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(max(1, workers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


# ---------------------------------------------------------------------------------------------
# docs/nat-matrix.md

def _cell(value):
    return "—" if value in (None, "") else str(value).replace("|", "\\|")


def matrix_markdown(runs, generator="tests/natlab/test_p2p_matrix.py", today=None):
    """The markdown table of a matrix run (runs: PairRun in table order)."""
    today = today or datetime.datetime.now(datetime.timezone.utc).date().isoformat()
    as_expected = sum(1 for r in runs if not pair_problems(r))
    lines = [
        "# NAT traversal matrix",
        "",
        f"Generated by `{generator}` on {today} (UTC); do not edit by hand: run the NAT lab "
        "(`tests/natlab/README.md`) to refresh it.",
        "",
        "Each row is one ordered pair in the lab's real Linux NATs: the initiator runs "
        f"`orbitmesh-agent connect` to a responder running `listen`, each behind its own router, "
        f"first with {MESSAGES} reliable-ordered messages of {MESSAGE_SIZE} bytes (one end-to-end "
        "encrypted QUIC connection per peer; every echo must come back intact and in order), then "
        f"from a second agent with {MESSAGES} unreliable ones (QUIC datagrams). *Expected* is "
        "issue 5's promise; *planned* the strategy plugin's plan; *strategy*, *transport*, "
        "*connect_ms* and the candidates (the selected pair's types, RFC 8445: host, srflx, prflx) "
        "are the reliable-ordered run's.",
        "",
        f"{as_expected} of {len(runs)} pairs behaved as expected.",
        "",
        "| initiator NAT | responder NAT | expected | planned strategy | strategy | transport "
        "| connect_ms | reliable-ordered echoed/sent | unreliable echoed/sent | local candidate "
        "| remote candidate | as expected |",
        "|---|---|---|---|---|---|---:|---:|---:|---|---|---|",
    ]
    for r in runs:
        c = r.connect
        connect_ms = c.get("connect_ms") if c else None
        echoes = f"{c.get('echoed')}/{c.get('sent')}" if c and c.result else None
        u = r.unreliable
        unreliable = f"{u.get('echoed')}/{u.get('sent')}" if u and u.result else None
        problems = pair_problems(r)
        lines.append("| " + " | ".join(_cell(v) for v in (
            r.initiator_nat, r.responder_nat, r.expected,
            c.get("planned_strategy") if c else None, c.get("strategy") if c else None,
            c.get("transport") if c else None,
            f"{connect_ms:.0f}" if isinstance(connect_ms, (int, float)) else None, echoes,
            unreliable,
            candidate_type(c.get("local_candidate")) if c else None,
            candidate_type(c.get("remote_candidate")) if c else None,
            "yes" if not problems else "no: " + "; ".join(problems))) + " |")
    return "\n".join(lines) + "\n"


def default_matrix_path():
    """docs/nat-matrix.md of this checkout, or $NATLAB_MATRIX_OUT."""
    return Path(os.environ.get("NATLAB_MATRIX_OUT")
                or Path(__file__).resolve().parents[2] / "docs" / "nat-matrix.md")


TURN_HEADING = "## With TURN"


def _write_atomically(path, text):
    tmp = path.with_suffix(".md.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def split_turn_section(text):
    """(the main table, the TURN section or "") of a matrix file's text."""
    at = text.find("\n" + TURN_HEADING)
    return (text, "") if at < 0 else (text[:at + 1], text[at + 1:])


def write_matrix(runs, path=None):
    """Writes the table atomically, keeping the file's TURN section; returns the path."""
    path = Path(path or default_matrix_path())
    kept = split_turn_section(path.read_text())[1] if path.exists() else ""
    _write_atomically(path, matrix_markdown(runs) + ("\n" + kept if kept else ""))
    return path


def turn_markdown(configs, generator="tests/natlab/test_p2p_turn.py", today=None):
    """The TURN section: {config description: [PairRun]} in order."""
    today = today or datetime.datetime.now(datetime.timezone.utc).date().isoformat()
    lines = [TURN_HEADING, "",
             f"Generated by `{generator}` on {today} (UTC). The pairs no hole punch joins, with a TURN "
             "server in the lab's public namespace (203.0.113.0/24): each agent allocates on its own "
             "socket, its relayed candidate joins the checks, and the connection runs over TurnRelay "
             f"(one QUIC connection, end-to-end encrypted). {MESSAGES} reliable-ordered then {MESSAGES} "
             "unreliable messages per pair, as above. Without TURN the same pairs use the server relay "
             "(the table above).", ""]
    for config, runs in configs.items():
        as_expected = sum(1 for r in runs if not pair_problems(r))
        lines += [f"### {config}", "", f"{as_expected} of {len(runs)} pairs behaved as expected.", "",
                  "| initiator NAT | responder NAT | expected | planned strategy | strategy | transport "
                  "| connect_ms | reliable-ordered echoed/sent | unreliable echoed/sent | local candidate "
                  "| remote candidate | as expected |",
                  "|---|---|---|---|---|---|---:|---:|---:|---|---|---|"]
        for r in runs:
            c, u = r.connect, r.unreliable
            connect_ms = c.get("connect_ms") if c else None
            problems = pair_problems(r)
            lines.append("| " + " | ".join(_cell(v) for v in (
                r.initiator_nat, r.responder_nat, r.expected,
                c.get("planned_strategy") if c else None, c.get("strategy") if c else None,
                c.get("transport") if c else None,
                f"{connect_ms:.0f}" if isinstance(connect_ms, (int, float)) else None,
                f"{c.get('echoed')}/{c.get('sent')}" if c and c.result else None,
                f"{u.get('echoed')}/{u.get('sent')}" if u and u.result else None,
                candidate_type(c.get("local_candidate")) if c else None,
                candidate_type(c.get("remote_candidate")) if c else None,
                "yes" if not problems else "no: " + "; ".join(problems))) + " |")
        lines.append("")
    return "\n".join(lines)


def write_turn_section(configs, path=None):
    """Replaces the matrix file's TURN section (the main table stays); returns the path."""
    path = Path(path or default_matrix_path())
    main = split_turn_section(path.read_text())[0] if path.exists() else "# NAT traversal matrix\n"
    _write_atomically(path, main.rstrip("\n") + "\n\n" + turn_markdown(configs))
    return path
