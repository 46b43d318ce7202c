"""IPv6 in the NAT lab (issue 5, point 1): two hosts behind a PortRestricted and a Symmetric NAT,
a pair that cannot punch through over IPv4 (test_p2p_matrix.py: it falls back to the server
relay), also have global IPv6 addresses (2001:db8::/32) routed without NAT. Agents bound to the
dual-stack wildcard `::` offer host candidates from every interface; signaling and STUN stay on
IPv4. The direct IPv6 pair must win, in both directions."""
import os
import subprocess
import sys

import pytest

import natlab
from conftest import lab_unavailable_reason, skip_loudly
from orbitmesh_lab import OrbitmeshServer
from p2p_lab import (MESSAGES, candidate_address, candidate_type, pair_problems, run_pair)

DUAL_STACK = ("--bind", "::", "--log-level", "debug")
PROBE = [sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), "path_probe.py")]
ECHO_PORT = 5000


@pytest.fixture(scope="module")
def lab6():
    reason = lab_unavailable_reason()
    if reason:
        skip_loudly(reason)
    with natlab.Lab(ipv6=True) as built:
        yield built


@pytest.fixture(scope="module")
def ipv6_hosts(lab6):
    return {nat: lab6.add_host(nat) for nat in ("PortRestricted", "Symmetric")}


@pytest.fixture(scope="module")
def server6(lab6):
    server = OrbitmeshServer(lab6)
    with server:
        yield server
    assert server.exit_code == 0, f"server exit code on SIGTERM\n{server.log_tail()}"


@pytest.mark.parametrize("src,dst", [("PortRestricted", "Symmetric"),
                                     ("Symmetric", "PortRestricted")])
def test_the_lab_routes_ipv6_between_the_hosts_without_nat(ipv6_hosts, src, dst):
    # The lab itself: a datagram over IPv6 arrives from the sender's own address and port.
    a, b = ipv6_hosts[src], ipv6_hosts[dst]
    echo = b.popen([*PROBE, "echo", b.ip6, str(ECHO_PORT), "--count", "1", "--seconds", "10"],
                   stdout=subprocess.PIPE, text=True)
    try:
        assert echo.stdout.readline().strip() == "ready"
        asked = a.run([*PROBE, "ask", b.ip6, str(ECHO_PORT), "--from-port", "40000"], timeout=10)
        assert asked.returncode == 0, asked.stderr
        assert asked.stdout.strip() == f"[{a.ip6}]:40000"
    finally:
        natlab.stop_process(echo)


@pytest.mark.parametrize("initiator_nat,responder_nat",
                         [("PortRestricted", "Symmetric"), ("Symmetric", "PortRestricted")],
                         ids=["PortRestricted-Symmetric", "Symmetric-PortRestricted"])
def test_a_pair_that_cannot_punch_over_ipv4_connects_directly_over_ipv6(
        lab6, ipv6_hosts, server6, initiator_nat, responder_nat):
    initiator, responder = ipv6_hosts[initiator_nat], ipv6_hosts[responder_nat]
    number = 1 if initiator_nat == "PortRestricted" else 2
    run = run_pair(initiator, responder, server6.url, number, lab6.workdir, extra_args=DUAL_STACK)
    run.expected = "P2P"    # over IPv6; IPv4 alone would give the relay (the matrix)
    evidence = run.describe()
    assert not run.error, evidence
    c = run.connect
    assert c.result is not None, evidence
    # The NATs are still what IPv4 discovery says they are (the verdict is IPv4's).
    assert (c.get("local_nat"), c.get("remote_nat")) == (initiator_nat, responder_nat), evidence
    assert (c.get("status"), c.get("transport"), c.exit_code) == ("Connected", "P2P", 0), evidence
    # Both ends of the selected pair are the hosts' own global IPv6 addresses: no NAT between.
    assert candidate_address(c.get("local_candidate")) == initiator.ip6, evidence
    assert candidate_address(c.get("remote_candidate")) == responder.ip6, evidence
    assert candidate_type(c.get("local_candidate")) == "host", evidence
    assert "2001:db8:" in c.get("local_candidate"), evidence
    assert c.get("echoed") >= MESSAGES - 2, evidence
    # And what the matrix asks of every P2P pair.
    problems = pair_problems(run)
    assert not problems, "\n".join(problems) + "\n" + evidence
