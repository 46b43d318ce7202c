"""agent.nat_info() (seed "Register + Get NAT Info") against a real in-process orbitmesh.Server
with its embedded STUN server on free loopback ports. Loopback translates nothing, so the
verdict is Open; the NAT lab (tests/natlab) checks the other verdicts behind real NATs. Every
wait is bounded; all traffic stays on 127.0.0.1."""
import socket
import time

import pytest

import orbitmesh
from conftest import LOOPBACK, loopback_p2p

pytestmark = pytest.mark.skipif(not hasattr(orbitmesh, "NatInfo"), reason="no orbitmesh.NatInfo")


@pytest.fixture
def stun_server():
    with orbitmesh.Server(http_port=0, stun_port=-1, stun_alt_port=-1, bind=LOOPBACK, open=True) as s:
        yield s
    s.close()


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def test_connect_learns_the_nat_before_registering(stun_server):
    agent = orbitmesh.Agent(server=stun_server.url, agent_id="nat-a", p2p=loopback_p2p(connection_timeout_ms=5000))
    try:
        agent.connect()
        info = agent.nat_info()  # the result of the discovery that ran before registration
        assert info.nat_type == orbitmesh.NatType.Open
        assert info.mapping == orbitmesh.NatBehavior.EndpointIndependent
        assert info.mapped_address == info.local_address
        assert info.mapped_address.startswith("127.0.0.1:")
        assert info.server_ips_used == 1  # one IP: only the alternate port exists
        port, _alt = stun_server.stun_ports
        assert info.stun_server == f"127.0.0.1:{port}"
        assert agent.counter("nat.successes") == 1
        d = info.to_dict()
        assert d["nat_type"] == "Open" and d["mapping"] == "EndpointIndependent"
        assert set(d) >= {"nat_type", "mapping", "filtering", "mapped_address", "local_address",
                          "hairpin", "server_ips_used"}
        assert "NatType.Open" in repr(info)
        # refresh runs the tests again on the same socket: same answer, one more run.
        again = agent.nat_info(refresh=True)
        assert again.mapped_address == info.mapped_address
        assert agent.counter("nat.successes") == 2
    finally:
        agent.close()


def test_nat_info_without_connect_uses_stun_server_option(stun_server):
    port, _alt = stun_server.stun_ports
    agent = orbitmesh.Agent(p2p=loopback_p2p(stun_server=LOOPBACK, stun_port=port, connection_timeout_ms=5000))
    try:
        info = agent.nat_info()
        assert info.nat_type == orbitmesh.NatType.Open
        assert info.stun_server == f"127.0.0.1:{port}"
    finally:
        agent.close()


def test_a_silent_stun_server_times_out_within_the_budget():
    port = free_udp_port()  # nothing answers there
    agent = orbitmesh.Agent(p2p=loopback_p2p(stun_server=LOOPBACK, stun_port=port, connection_timeout_ms=1200))
    try:
        started = time.monotonic()
        with pytest.raises(orbitmesh.TimeoutError):
            agent.nat_info()
        assert time.monotonic() - started < 5
        assert agent.counter("nat.failures") == 1
    finally:
        agent.close()


def test_no_stun_server_known_is_a_state_error():
    agent = orbitmesh.Agent(p2p=loopback_p2p())
    try:
        with pytest.raises(orbitmesh.StateError, match="no STUN server"):
            agent.nat_info()
    finally:
        agent.close()


def test_discovery_can_be_turned_off(stun_server):
    port, _alt = stun_server.stun_ports
    agent = orbitmesh.Agent(p2p=loopback_p2p(stun_server=LOOPBACK, stun_port=port),
                            plugins={"nat_discovery": "none"})
    try:
        with pytest.raises(orbitmesh.NotSupportedError):
            agent.nat_info()
    finally:
        agent.close()


def test_peers_learn_each_others_nat_through_the_connect_exchange(stun_server):
    p2p = loopback_p2p(connection_timeout_ms=5000)
    a = orbitmesh.Agent(server=stun_server.url, agent_id="nat-peer-a", p2p=p2p)
    b = orbitmesh.Agent(server=stun_server.url, agent_id="nat-peer-b", p2p=p2p)
    try:
        a.connect()
        b.connect()
        state = a.connect_to_peer("nat-peer-b")
        assert state.local_nat == orbitmesh.NatType.Open
        assert state.remote_nat == orbitmesh.NatType.Open
        assert b.peer_state("nat-peer-a").remote_nat == orbitmesh.NatType.Open
    finally:
        a.close()
        b.close()
