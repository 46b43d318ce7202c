"""Server and Agent objects through a real in-process orbitmesh.Server: registration, tokens,
the server relay (ServerRelay), callbacks and the async twins. Every wait is bounded; all
traffic stays on 127.0.0.1."""
import asyncio
import threading

import pytest

import orbitmesh
from conftest import LOOPBACK, loopback_p2p

WAIT_S = 15.0
pytestmark = pytest.mark.skipif(not hasattr(orbitmesh, "Server"), reason="no orbitmesh.Server")


class Messages:
    """on_message callback: records (peer_id, data); bounded waits."""

    def __init__(self):
        self.cond = threading.Condition()
        self.items = []

    def __call__(self, peer_id, data):
        with self.cond:
            self.items.append((peer_id, data))
            self.cond.notify_all()

    def wait_for(self, count, timeout=WAIT_S):
        with self.cond:
            return self.cond.wait_for(lambda: len(self.items) >= count, timeout)


@pytest.fixture
def server():
    with orbitmesh.Server(http_port=0, stun_port=0, bind=LOOPBACK, open=True) as s:
        yield s
    s.close()


@pytest.fixture
def secret_server():
    s = orbitmesh.Server(http_port=0, stun_port=0, bind=LOOPBACK, secret="py-secret")
    s.start()
    yield s
    s.stop()
    s.close()


def make_agent(srv, agent_id, token=None):
    return orbitmesh.Agent(server=srv.url, agent_id=agent_id, token=token,
                           p2p=loopback_p2p(connection_timeout_ms=8000))


def test_server_object(server):
    assert server.running
    assert server.http_port > 0
    assert server.url == f"ws://127.0.0.1:{server.http_port}"
    assert isinstance(server.metrics(), str)
    assert isinstance(server.counter("agents.connected"), int)


def test_relay_1000_reliable_messages_in_order(server):
    connected = []
    with make_agent(server, "a") as a, make_agent(server, "b") as b:
        got = Messages()
        b.on_message(got)
        b.on_peer_connected(connected.append)
        b_connected = threading.Event()
        b.on_connected(b_connected.set)
        a.connect()
        b.connect()
        assert b_connected.wait(WAIT_S)
        state = a.connect_to_peer("b", transport=orbitmesh.Transport.ServerRelay)
        assert isinstance(state, orbitmesh.PeerConnectionState)
        assert state.status == orbitmesh.PeerConnectionStatus.Connected
        assert state.active_transport == orbitmesh.Transport.ServerRelay
        assert state.strategy == orbitmesh.Strategy.ServerRelay
        assert state.connect_ms >= 0
        assert state.diagnosis  # why not direct
        payloads = [i.to_bytes(4, "big") + bytes([i % 251]) * 60 for i in range(1000)]
        for p in payloads:
            while True:
                try:
                    a.send_to_peer("b", p, mode=orbitmesh.Delivery.ReliableOrdered)
                    break
                except orbitmesh.WouldBlockError:
                    threading.Event().wait(0.005)
        assert got.wait_for(1000), f"{len(got.items)} of 1000 arrived"
        assert [d for _, d in got.items] == payloads
        assert all(peer == "a" for peer, _ in got.items)
        assert connected == ["a"]
        s = a.peer_state("b")
        assert s.status == orbitmesh.PeerConnectionStatus.Connected
        assert s.metrics.bytes_sent == sum(len(p) for p in payloads)
        assert s.metrics.packet_loss_rate == 0
        assert s.metrics.round_trip_time_ms >= 0
        assert s.local_nat_info in list(orbitmesh.NatType.__members__.values())
        assert s.remote_nat in list(orbitmesh.NatType.__members__.values())
        assert s.local_candidate is None or isinstance(s.local_candidate, str)
        assert b.peer_state("a").metrics.bytes_received == sum(len(p) for p in payloads)
        never = a.peer_state("zzz")
        assert never.status == orbitmesh.PeerConnectionStatus.Disconnected
        assert "PeerConnectionStatus.Connected" in repr(s)


def test_echo_and_async_twins(server):
    async def scenario(a, b):
        await asyncio.wait_for(a.connect_async(), WAIT_S)
        await asyncio.wait_for(b.connect_async(), WAIT_S)
        state = await asyncio.wait_for(
            a.connect_to_peer_async("b", transport=orbitmesh.Transport.ServerRelay), WAIT_S)
        assert state.status == orbitmesh.PeerConnectionStatus.Connected
        assert state.active_transport == orbitmesh.Transport.ServerRelay
        loop = asyncio.get_running_loop()
        echoes = asyncio.Queue()
        a.on_message(lambda peer, data: loop.call_soon_threadsafe(echoes.put_nowait, (peer, data)))
        for i in range(20):
            await asyncio.wait_for(
                a.send_to_peer_async("b", b"ping %d" % i, mode=orbitmesh.Delivery.ReliableUnordered),
                WAIT_S)
        got = set()
        for _ in range(20):
            peer, data = await asyncio.wait_for(echoes.get(), WAIT_S)
            assert peer == "b"
            got.add(data)
        assert got == {b"ping %d" % i for i in range(20)}

    with make_agent(server, "a") as a, make_agent(server, "b") as b:
        # b echoes from its callback, on its own loop thread.
        b.on_message(lambda peer, data: b.send_to_peer(peer, data, mode=orbitmesh.Delivery.ReliableOrdered))
        asyncio.run(asyncio.wait_for(scenario(a, b), 60))


def test_unknown_peer_raises_not_found(server):
    with make_agent(server, "a") as a:
        a.connect()
        with pytest.raises(orbitmesh.NotFoundError) as raised:
            a.connect_to_peer("nobody")
        assert raised.value.status_name == "OM_ERR_NOT_FOUND"
        with pytest.raises(orbitmesh.StateError):
            a.send_to_peer("nobody", b"x")


def test_disconnect_is_idempotent_and_fires_events(server):
    with make_agent(server, "a") as a:
        down = threading.Event()
        a.on_disconnected(lambda reason: down.set())
        a.connect()
        a.disconnect()
        a.disconnect()


def test_tokens(secret_server):
    good = orbitmesh.create_token("py-secret", "a", ttl_seconds=600)
    assert isinstance(good, str) and good.count(".") == 2
    with make_agent(secret_server, "a", token=good) as a:
        a.connect()
    forged = orbitmesh.create_token("another-secret", "a")
    with make_agent(secret_server, "a", token=forged) as a:
        with pytest.raises(orbitmesh.AuthError) as raised:
            a.connect()
        assert raised.value.status_name == "OM_ERR_AUTH"
        assert isinstance(raised.value, orbitmesh.Error)
        assert isinstance(raised.value, PermissionError)
    other_id = orbitmesh.create_token("py-secret", "someone-else")
    with make_agent(secret_server, "a", token=other_id) as a:
        with pytest.raises(orbitmesh.AuthError):
            a.connect()
    assert secret_server.counter("auth.failures") >= 2 or "auth" in secret_server.metrics()
