"""Issue 11's NAT lab: the pairs no hole punch joins (Symmetric with PortRestricted, either
order, and Symmetric with Symmetric) connect over TurnRelay when TURN is configured, and deliver
every reliable-ordered message (and the unreliable ones, as datagrams), through the server's
own relay in the lab's public namespace (orbitmesh-server --enable-turn-relay with
--turn-secret; the agents carry no TURN option: they get time-limited credentials at
registration). Without TURN the same pairs use the server relay (test_p2p_matrix.py). A host
whose router drops every UDP datagram (iptables) still connects: its TURN client gets no answer
over UDP and allocates over TCP (turn-client's transport "auto"). The run writes the "With TURN"
section of docs/nat-matrix.md. (coturn in the lab's namespace is not run
yet: its relayed checks did not succeed there; see the issue's note.)"""
import pytest

from orbitmesh_lab import OrbitmeshServer
from p2p_lab import pair_problems, run_pair, write_turn_section

PAIRS = [("Symmetric", "PortRestricted"), ("PortRestricted", "Symmetric"), ("Symmetric", "Symmetric")]
OURS = "orbitmesh-server's own relay, time-limited credentials from --turn-secret"
BLOCKED = "the initiator's router drops all UDP: TURN over TCP to the server's relay"
BLOCKED_PAIRS = [("PortRestricted", "Symmetric"), ("PortRestricted", "PortRestricted")]
_results = {}


@pytest.fixture(scope="module")
def turn_hosts(lab):
    """{(role, nat): Host}: an initiator and a responder per NAT type the pairs use."""
    return {(role, nat): lab.add_host(nat) for role in ("initiator", "responder")
            for nat in ("Symmetric", "PortRestricted")}


def run_pairs(lab, turn_hosts, server, extra_args, first_number):
    runs = []
    for offset, (a, b) in enumerate(PAIRS):
        runs.append(run_pair(turn_hosts["initiator", a], turn_hosts["responder", b], server.url,
                             first_number + offset, lab.workdir,
                             extra_args=("--log-level", "debug", *extra_args), expected="TurnRelay"))
    return runs


@pytest.fixture(scope="module")
def ours(lab, turn_hosts):
    server = OrbitmeshServer(lab, extra_args=["--enable-turn-relay", "--turn-secret", "lab secret",
                                              "--turn-min-port", "50000", "--turn-max-port", "50999"])
    with server:
        runs = run_pairs(lab, turn_hosts, server, (), 100)
    _results[OURS] = runs
    return runs


@pytest.fixture(scope="module")
def udp_blocked(lab, turn_hosts):
    blocked = lab.add_host("PortRestricted")
    blocked.router.run(["iptables", "-I", "FORWARD", "1", "-p", "udp", "-j", "DROP"], check=True)
    server = OrbitmeshServer(lab, extra_args=["--enable-turn-relay", "--turn-secret", "lab secret",
                                              "--turn-min-port", "51000", "--turn-max-port", "51999"])
    runs = []
    with server:
        for offset, (a, b) in enumerate(BLOCKED_PAIRS):
            run = run_pair(blocked, turn_hosts["responder", b], server.url, 300 + offset, lab.workdir,
                           extra_args=("--log-level", "debug"), expected="TurnRelay")
            # Without UDP no STUN answer comes back: the NAT type is unknown (null), rightly.
            run.initiator_nat = None
            runs.append(run)
    _results[BLOCKED] = runs
    return runs


@pytest.mark.parametrize("pair", BLOCKED_PAIRS, ids=[f"{a}-{b}" for a, b in BLOCKED_PAIRS])
def test_udp_blocked_side_connects_over_turn_tcp(udp_blocked, pair):
    run = udp_blocked[BLOCKED_PAIRS.index(pair)]
    problems = pair_problems(run)
    assert not problems, "\n".join(problems) + "\n" + run.describe()


@pytest.mark.parametrize("pair", PAIRS, ids=[f"{a}-{b}" for a, b in PAIRS])
def test_through_our_relay(ours, pair):
    run = ours[PAIRS.index(pair)]
    problems = pair_problems(run)
    assert not problems, "\n".join(problems) + "\n" + run.describe()


def test_the_matrix_gets_its_turn_section(ours, udp_blocked):
    observed = all(r.connect is not None and r.connect.result is not None for runs in _results.values() for r in runs)
    assert observed, "a pair printed no connect result: section not written"
    text = write_turn_section({OURS: _results[OURS], BLOCKED: _results[BLOCKED]}).read_text()
    assert "## With TURN" in text and "# NAT traversal matrix" in text
