"""The lab harness itself: addresses as the internet sees them, and that every way out of a lab
(normal exit, exception, SIGTERM, a dead run's leftovers) removes its namespaces and processes;
and that the suite skips loudly where it cannot run."""
import os
import signal
import stat
import subprocess
import sys

import pytest

import natlab
from nat_recipes import BEHAVIOUR, EI
from conftest import lab_unavailable_reason, skip_loudly

HERE = os.path.dirname(os.path.abspath(__file__))
PROBE = [sys.executable, os.path.join(HERE, "path_probe.py")]
ECHO_PORT = 5000
NOBODY = "65534"


def lab_namespaces(tag):
    return [ns for ns in natlab._namespace_names() if ns.startswith(f"{tag}-")]


@pytest.fixture
def can_build_labs():
    reason = lab_unavailable_reason()
    if reason:
        skip_loudly(reason)


@pytest.mark.parametrize("protocol", ["udp", "tcp"])
def test_each_host_reaches_both_server_addresses_from_its_public_address(lab, hosts, protocol):
    # TCP matters too: the agents' signaling WebSocket crosses the same routers.
    flag = ["--tcp"] if protocol == "tcp" else []
    echoes = [lab.server.popen([*PROBE, "echo", ip, str(ECHO_PORT), *flag, "--count",
                                str(len(hosts)), "--seconds", "20"],
                               stdout=subprocess.PIPE, text=True) for ip in natlab.SERVER_IPS]
    for echo in echoes:
        assert echo.stdout.readline().strip() == "ready"
    for nat_type, host in hosts.items():
        for server_ip in natlab.SERVER_IPS:
            # UDP from one port to both addresses (an EI mapping keeps it); TCP from any port.
            from_port = 40000 if protocol == "udp" else 0
            result = host.run([*PROBE, "ask", server_ip, str(ECHO_PORT), *flag,
                               "--from-port", str(from_port)], timeout=10)
            assert result.returncode == 0, f"{host} -> {server_ip} ({protocol}): {result.stderr}"
            seen_ip, seen_port = result.stdout.strip().rsplit(":", 1)
            assert seen_ip == host.public_ip, host
            if protocol == "udp" and BEHAVIOUR[nat_type].mapping == EI:
                # The Restricted and FullCone recipes rely on the NAT keeping the host's port.
                assert int(seen_port) == from_port, host
    for echo in echoes:
        natlab.stop_process(echo)


PUNCH_PORT = 4500


def punch(a, b, seconds=3.0):
    """Both hosts punch at each other's public address on PUNCH_PORT at once (every NAT here
    but Symmetric keeps the port); returns the two CompletedProcess-like (code, stdout)."""
    procs = [x.popen([*PROBE, "punch", y.public_ip, str(PUNCH_PORT), "--port", str(PUNCH_PORT),
                      "--seconds", str(seconds)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                     text=True)
             for x, y in ((a, b), (b, a))]
    return [(p.wait(timeout=seconds + 10), p.stdout.read().strip()) for p in procs]


@pytest.mark.parametrize("pair", [("PortRestricted", "PortRestricted"),
                                  ("Restricted", "PortRestricted"),
                                  ("FullCone", "PortRestricted"),
                                  ("Open", "PortRestricted")])
def test_pairs_with_kept_ports_punch_through(lab, pair):
    # The routers' INPUT rule keeps an early punch from taking the port of the peer's mapping
    # (ARCHITECTURE.md); each side must hear the other from its public address and port.
    a, b = lab.add_pair(*pair)
    (code_a, heard_a), (code_b, heard_b) = punch(a, b)
    assert (code_a, heard_a) == (0, f"{b.public_ip}:{PUNCH_PORT}"), (a, b)
    assert (code_b, heard_b) == (0, f"{a.public_ip}:{PUNCH_PORT}"), (a, b)


def test_symmetric_and_port_restricted_do_not_punch_through(lab):
    a, b = lab.add_pair("Symmetric", "PortRestricted")
    assert [code for code, _ in punch(a, b, seconds=1.0)] == [1, 1]


def test_unknown_nat_type_is_refused(lab):
    with pytest.raises(ValueError, match="unknown NAT type"):
        lab.add_host("Cone")


def test_an_exception_removes_the_lab(can_build_labs):
    with pytest.raises(RuntimeError, match="boom"):
        with natlab.Lab() as lab:
            host = lab.add_host("PortRestricted")
            sleeper = host.popen(["sleep", "60"])
            assert len(lab_namespaces(lab.tag)) == 4   # internet, server, router, host
            raise RuntimeError("boom")
    assert lab_namespaces(lab.tag) == []
    assert sleeper.poll() is not None
    assert not os.path.exists(lab.workdir)


def test_sigterm_removes_the_lab(can_build_labs):
    script = ("import sys, time, natlab\n"
              "with natlab.Lab() as lab:\n"
              "    lab.add_host('Symmetric').popen(['sleep', '60'])\n"
              "    print(lab.tag, flush=True)\n"
              "    time.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=HERE, stdout=subprocess.PIPE,
                            text=True)
    try:
        tag = proc.stdout.readline().strip()
        assert len(lab_namespaces(tag)) == 4
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) != 0   # it ends as after Ctrl-C
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    assert lab_namespaces(tag) == []


def test_leftovers_of_dead_runs_are_removed_and_live_runs_kept(can_build_labs):
    gone = subprocess.Popen(["true"])     # a pid that no longer runs
    gone.wait(timeout=10)
    dead = f"om{gone.pid}r0000-leftover"
    live = f"om{os.getpid()}rffff-live"
    for name in (dead, live):
        natlab._run(["ip", "netns", "add", name])
    try:
        removed = natlab.cleanup_leftovers()
        remaining = natlab._namespace_names()
        assert dead in removed and dead not in remaining
        assert live in remaining and live not in removed
    finally:
        for name in (dead, live):
            natlab._run(["ip", "netns", "del", name], check=False)


def test_without_root_the_suite_skips_loudly(can_build_labs):
    if not all(os.stat(path).st_mode & stat.S_IROTH for path in (HERE, __file__)):
        pytest.skip("the source tree is not readable by an unprivileged user")
    result = subprocess.run(
        ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
         sys.executable, os.path.join(HERE, "run_suite.py"), "test_lab.py"],
        capture_output=True, text=True, timeout=60, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    assert result.returncode == 77, result
    assert "NATLAB SKIPPED: not root" in result.stderr, result
