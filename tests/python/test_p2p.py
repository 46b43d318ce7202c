"""Peer-to-peer from Python: two agents on 127.0.0.1 connect directly (the embedded STUN server
tells them they are Open), the state reports the path, the strategy and the candidates as RFC
8839 text, unreliable and reliable messages go over the direct path (one encrypted QUIC
connection; every mode and channel is in test_delivery.py), and the async twin reaches the same
state. Every wait is bounded."""
import asyncio
import threading

import pytest

import orbitmesh
from conftest import LOOPBACK, loopback_p2p

WAIT_S = 15.0
pytestmark = pytest.mark.skipif(not hasattr(orbitmesh, "Server"), reason="no orbitmesh.Server")


@pytest.fixture
def server():
    with orbitmesh.Server(http_port=0, stun_port=-1, bind=LOOPBACK, open=True) as s:
        yield s


def make_agents(server, *ids):
    agents = [orbitmesh.Agent(server=server.url, agent_id=i,
                              p2p=loopback_p2p(nat_punch_retries=5, nat_punch_interval_ms=40))
              for i in ids]
    for a in agents:
        a.connect()
    return agents


class Messages:
    def __init__(self):
        self.cond = threading.Condition()
        self.items = []

    def __call__(self, peer_id, data):
        with self.cond:
            self.items.append((peer_id, bytes(data)))
            self.cond.notify_all()

    def wait(self, count):
        with self.cond:
            return self.cond.wait_for(lambda: len(self.items) >= count, WAIT_S)


def test_direct_path_state_and_unreliable_messages(server):
    a, b = make_agents(server, "pa", "pb")
    try:
        inbox = Messages()
        b.on_message(inbox)
        state = a.connect_to_peer("pb")
        assert state.status == orbitmesh.PeerConnectionStatus.Connected
        assert state.active_transport == orbitmesh.Transport.P2P
        assert state.strategy == orbitmesh.Strategy.DirectConnect
        assert state.planned_strategy == orbitmesh.Strategy.DirectConnect
        assert state.local_nat == orbitmesh.NatType.Open and state.remote_nat == orbitmesh.NatType.Open
        local = orbitmesh.IceCandidate.parse(state.local_candidate)
        remote = orbitmesh.IceCandidate.parse(state.remote_candidate)
        assert local.type == orbitmesh.CandidateType.Host and local.address == LOOPBACK
        assert remote.type == orbitmesh.CandidateType.Host and remote.address == LOOPBACK
        for i in range(10):
            a.send_to_peer("pb", b"direct %d" % i, mode=orbitmesh.Delivery.Unreliable)
        assert inbox.wait(10), inbox.items
        assert {data for _, data in inbox.items} == {b"direct %d" % i for i in range(10)}
        # The seed's quick start: the default mode (reliable, ordered) over the direct path.
        for i in range(10):
            a.send_to_peer("pb", b"reliable %d" % i)
        assert inbox.wait(20), inbox.items
        assert [data for _, data in inbox.items if data.startswith(b"reliable")] == [b"reliable %d" % i for i in range(10)]
        pairs = a.peer_pairs("pb")
        assert any(p["nominated"] and p["state"] == "succeeded" for p in pairs), pairs
        metrics = a.peer_state("pb").metrics
        assert metrics.messages_sent == 20 and metrics.bytes_sent > 0
    finally:
        a.close()
        b.close()


def test_async_twin_connects_directly(server):
    a, b = make_agents(server, "qa", "qb")
    try:
        async def connect():
            return await asyncio.wait_for(a.connect_to_peer_async("qb"), WAIT_S)

        state = asyncio.run(connect())
        assert state.active_transport == orbitmesh.Transport.P2P
    finally:
        a.close()
        b.close()


def test_prefer_p2p_false_uses_the_relay(server):
    a = orbitmesh.Agent(server=server.url, agent_id="ra", p2p=loopback_p2p(prefer_p2p=False))
    (b,) = make_agents(server, "rb")
    try:
        a.connect()
        state = a.connect_to_peer("rb")
        assert state.active_transport == orbitmesh.Transport.ServerRelay
        assert state.strategy == orbitmesh.Strategy.ServerRelay
        assert "prefer_p2p is off" in state.diagnosis
    finally:
        a.close()
        b.close()
