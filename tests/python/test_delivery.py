"""0.4's data path from Python: every delivery mode on channels, over the direct path and the
server relay, the one end-to-end encrypted connection per peer (its fingerprints and metrics), the
limits (16 MiB reliable, one datagram unreliable), on_message's two callback forms, identity
files, and WouldBlockError followed by on_peer_writable. Every wait is bounded; all traffic stays
on 127.0.0.1."""
import os
import re
import stat
import threading
import time

import pytest

import orbitmesh
from conftest import LOOPBACK, loopback_p2p

WAIT_S = 20.0
FINGERPRINT = re.compile(r"^([0-9A-F]{2}:){31}[0-9A-F]{2}$")
MODES = [orbitmesh.Delivery.ReliableOrdered, orbitmesh.Delivery.ReliableUnordered,
         orbitmesh.Delivery.Unreliable, orbitmesh.Delivery.Sequenced]
RELIABLE = (orbitmesh.Delivery.ReliableOrdered, orbitmesh.Delivery.ReliableUnordered)
pytestmark = pytest.mark.skipif(not hasattr(orbitmesh, "Server"), reason="no orbitmesh.Server")


@pytest.fixture
def server():
    with orbitmesh.Server(http_port=0, stun_port=-1, bind=LOOPBACK, open=True) as s:
        yield s


@pytest.fixture
def agents(server):
    made = []

    def make(*ids, **p2p):
        p2p.setdefault("nat_punch_retries", 5)
        p2p.setdefault("nat_punch_interval_ms", 40)
        out = []
        for i in ids:
            a = orbitmesh.Agent(server=server.url, agent_id=i, p2p=loopback_p2p(**p2p))
            made.append(a)
            a.connect()
            out.append(a)
        return out

    yield make
    for a in made:
        a.close()


class Inbox:
    """A four-argument on_message callback: (peer_id, data, channel, mode)."""

    def __init__(self):
        self.cond = threading.Condition()
        self.items = []

    def __call__(self, peer_id, data, channel, mode):
        with self.cond:
            self.items.append((peer_id, bytes(data), channel, mode))
            self.cond.notify_all()

    def wait(self, predicate, timeout=WAIT_S):
        with self.cond:
            return self.cond.wait_for(lambda: predicate(self.items), timeout)


def connect(a, b_id, transport):
    state = a.connect_to_peer(b_id, transport=transport)
    assert state.status == orbitmesh.PeerConnectionStatus.Connected
    assert state.active_transport == transport
    return state


@pytest.mark.parametrize("transport", [orbitmesh.Transport.P2P, orbitmesh.Transport.ServerRelay])
def test_every_mode_on_channels(agents, transport):
    a, b = agents("da", "db")
    inbox = Inbox()
    b.on_message(inbox)
    connect(a, "db", transport)
    sent = []
    for n, mode in enumerate(MODES):
        channel = 3 + 50 * n  # 3, 53, 103, 153
        for i in range(10):
            data = b"%d:%d:%d" % (int(mode), channel, i)
            a.send_to_peer("db", data, mode=mode, channel=channel)
            sent.append((data, channel, mode))
    reliable = [s for s in sent if s[2] in RELIABLE]
    assert inbox.wait(lambda items: all((("da",) + s) in items for s in reliable)), inbox.items
    # Datagram modes on loopback: in practice every one; at least some.
    assert inbox.wait(lambda items: any(m not in RELIABLE for _, _, _, m in items)), inbox.items
    for peer, data, channel, mode in inbox.items:
        assert peer == "da"
        assert (data, channel, mode) in sent, (data, channel, mode)
        assert isinstance(mode, orbitmesh.Delivery) and isinstance(channel, int)
    ordered = [d for _, d, c, m in inbox.items if m == orbitmesh.Delivery.ReliableOrdered]
    assert ordered == [s[0] for s in sent if s[2] == orbitmesh.Delivery.ReliableOrdered]


def test_two_argument_callback_and_event_channel(agents):
    a, b = agents("ta", "tb")
    got = []
    events = []
    cond = threading.Condition()

    def two(peer_id, data):
        with cond:
            got.append((peer_id, data))
            cond.notify_all()

    def on_event(e):
        if e.type == orbitmesh.EventType.Message:
            with cond:
                events.append((e.channel, e.delivery_mode))
                cond.notify_all()

    assert b.on_message(two) is two
    b.on_event(on_event)
    connect(a, "tb", orbitmesh.Transport.P2P)
    a.send_to_peer("tb", b"hello", channel=9)
    with cond:
        assert cond.wait_for(lambda: got and events, WAIT_S)
    assert got == [("ta", b"hello")]
    assert events == [(9, orbitmesh.Delivery.ReliableOrdered)]
    # Other forms: *args gets four; a lambda with defaults; wrong shapes are refused.
    b.on_message(lambda *args: got.append(args))
    b.on_message(lambda peer_id, data, channel=0, mode=None: None)
    for bad in (lambda: None, lambda x: None, lambda a, b, c: None, lambda a, b, c, d, e: None):
        with pytest.raises(TypeError):
            b.on_message(bad)
    with pytest.raises(TypeError):
        b.on_message(42)
    b.on_message(None)


def test_async_send_on_a_channel(agents):
    import asyncio
    a, b = agents("aa", "ab")
    inbox = Inbox()
    b.on_message(inbox)
    connect(a, "ab", orbitmesh.Transport.ServerRelay)

    async def main():
        await a.send_to_peer_async("ab", b"async", mode=orbitmesh.Delivery.ReliableUnordered, channel=200)

    asyncio.run(main())
    assert inbox.wait(lambda items: items), inbox.items
    assert inbox.items == [("aa", b"async", 200, orbitmesh.Delivery.ReliableUnordered)]


@pytest.mark.parametrize("transport", [orbitmesh.Transport.P2P, orbitmesh.Transport.ServerRelay])
def test_one_mebibyte_reliable_message_arrives_intact(agents, transport):
    a, b = agents("ma", "mb")
    inbox = Inbox()
    b.on_message(inbox)
    connect(a, "mb", transport)
    big = os.urandom(1 << 20)
    a.send_to_peer("mb", big, channel=1)
    assert inbox.wait(lambda items: items), "nothing arrived"
    assert inbox.items[0][1] == big
    assert inbox.items[0][2:] == (1, orbitmesh.Delivery.ReliableOrdered)


def test_limits_and_bad_channels(agents):
    a, b = agents("la", "lb")
    connect(a, "lb", orbitmesh.Transport.P2P)
    assert orbitmesh.MAX_RELIABLE_MESSAGE == 16 * 1024 * 1024
    assert orbitmesh.MAX_CHANNELS == 256
    with pytest.raises(orbitmesh.TooLargeError) as too_large:
        a.send_to_peer("lb", bytes(orbitmesh.MAX_RELIABLE_MESSAGE + 1))
    assert isinstance(too_large.value, orbitmesh.Error)
    assert isinstance(too_large.value, ValueError)
    with pytest.raises(orbitmesh.TooLargeError):
        a.send_to_peer("lb", bytes(4000), mode=orbitmesh.Delivery.Unreliable)
    with pytest.raises(orbitmesh.TooLargeError):
        a.send_to_peer("lb", bytes(65000), mode=orbitmesh.Delivery.Sequenced)
    for channel in (-1, 256, 1000):
        with pytest.raises(orbitmesh.InvalidArgumentError):
            a.send_to_peer("lb", b"x", channel=channel)
    with pytest.raises(orbitmesh.StateError):
        a.send_to_peer("nobody", b"x")


def test_fingerprints_and_session_metrics(agents):
    a, b = agents("fa", "fb")
    fa, fb = a.fingerprint(), b.fingerprint()
    assert FINGERPRINT.match(fa) and FINGERPRINT.match(fb)
    assert fa != fb
    assert a.fingerprint() == fa  # stable for the agent's life
    inbox = Inbox()
    b.on_message(inbox)
    connect(a, "fb", orbitmesh.Transport.P2P)
    for i in range(20):
        a.send_to_peer("fb", b"m%d" % i)
    assert inbox.wait(lambda items: len(items) >= 20)
    state = a.peer_state("fb")
    assert state.remote_fingerprint == fb
    assert state.local_fingerprint == fa
    assert state.cipher_suite.startswith("TLS_")
    m = state.metrics
    assert m.remote_fingerprint == fb and m.local_fingerprint == fa
    assert m.cipher_suite == state.cipher_suite
    assert m.congestion_control in ("cubic", "reno", "bbr", "bbr2")
    assert m.cwnd > 0 and m.packets_sent > 0 and m.packets_received > 0
    assert m.min_rtt_ms >= 0 and m.rtt_var_ms >= 0
    for name in ("bytes_in_flight", "packets_lost", "retransmits", "send_queue_bytes"):
        assert isinstance(getattr(m, name), int), name
    # The other side sees the mirror image.
    assert b.peer_state("fa").remote_fingerprint == fa


def test_identity_file_keeps_the_fingerprint(server, tmp_path):
    path = tmp_path / "agent.pem"
    p2p = loopback_p2p(identity_file=str(path))
    assert p2p.identity_file == str(path)
    with orbitmesh.Agent(server=server.url, agent_id="ia", p2p=p2p) as first:
        fingerprint = first.fingerprint()
    assert path.exists()
    assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, "the identity file is private"
    with orbitmesh.Agent(server=server.url, agent_id="ia", p2p=p2p) as second:
        assert second.fingerprint() == fingerprint
    with orbitmesh.Agent(server=server.url, agent_id="ia", p2p=loopback_p2p()) as fresh:
        assert fresh.fingerprint() != fingerprint


def test_busy_polling_agents_deliver_every_message(agents):
    a, b = agents("pa", "pb", busy_poll_us=500)
    inbox = Inbox()
    b.on_message(inbox)
    connect(a, "pb", orbitmesh.Transport.P2P)
    for i in range(200):
        a.send_to_peer("pb", i.to_bytes(4, "big"))
    assert inbox.wait(lambda items: len(items) == 200)
    assert [int.from_bytes(item[1], "big") for item in inbox.items] == list(range(200))


def test_would_block_then_writable(agents):
    a, b = agents("wa", "wb")
    received = []
    b.on_message(lambda peer_id, data: received.append(len(data)))
    writable = threading.Event()
    a.on_peer_writable(lambda peer_id: writable.set() if peer_id == "wb" else None)
    connect(a, "wb", orbitmesh.Transport.P2P)
    chunk = bytes(1 << 20)
    blocked = False
    deadline = time.monotonic() + WAIT_S
    sent = 0
    while time.monotonic() < deadline:
        try:
            a.send_to_peer("wb", chunk)
            sent += 1
        except orbitmesh.WouldBlockError as e:
            assert isinstance(e, BlockingIOError)
            blocked = True
            break
        if sent >= 64:
            break
    if not blocked:
        pytest.skip(f"the send queue took {sent} MiB without blocking")
    assert writable.wait(WAIT_S), "no on_peer_writable after WouldBlockError"
    a.send_to_peer("wb", chunk)  # room again
