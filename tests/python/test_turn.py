"""TURN from Python through a real coturn on 127.0.0.1: P2POptions' turn_server/turn_port/
turn_username/turn_password (the seed's TurnServer, TurnPort, TurnUsername, TurnPassword),
Transport.TurnRelay end to end with every delivery mode, coturn's time-limited credentials, and a
wrong password's reason. Every wait is bounded."""
import os
import sys
import threading
import time

import pytest

import orbitmesh
from conftest import LOOPBACK, loopback_p2p

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from coturn import Coturn, rest_credentials  # noqa: E402  (tests/support, shared with the CLI tests)

WAIT_S = 20.0
pytestmark = [pytest.mark.skipif(not Coturn.available, reason="SKIPPED: turnserver missing (apt-get install coturn)"),
              pytest.mark.skipif(not hasattr(orbitmesh, "Server"), reason="no orbitmesh.Server")]


def wait_counter(agent, name, at_least=1, timeout=5.0):
    deadline = time.monotonic() + timeout
    while agent.counter(name) < at_least and time.monotonic() < deadline:
        time.sleep(0.01)
    return agent.counter(name) >= at_least


@pytest.fixture
def server():
    with orbitmesh.Server(http_port=0, stun_port=-1, bind=LOOPBACK, open=True) as s:
        yield s


def turn_agent(server, agent_id, turn, username, password):
    p2p = loopback_p2p(turn_server=LOOPBACK, turn_port=turn.port, turn_username=username, turn_password=password,
                       nat_punch_retries=5, nat_punch_interval_ms=40)
    agent = orbitmesh.Agent(server=server.url, agent_id=agent_id, p2p=p2p)
    agent.connect()
    return agent


def test_turn_relay_carries_every_mode(server):
    with Coturn(user="py:thon") as turn:
        a = turn_agent(server, "ta", turn, "py", "thon")
        b = turn_agent(server, "tb", turn, "py", "thon")
        try:
            assert wait_counter(a, "turn.allocations") and wait_counter(b, "turn.allocations"), turn.log()
            got = []
            cond = threading.Condition()

            def on_message(peer_id, data, channel, mode):
                with cond:
                    got.append((peer_id, bytes(data), channel, mode))
                    cond.notify_all()

            b.on_message(on_message)
            state = a.connect_to_peer("tb", transport=orbitmesh.Transport.TurnRelay)
            assert state.status == orbitmesh.PeerConnectionStatus.Connected
            assert state.active_transport == orbitmesh.Transport.TurnRelay
            assert state.strategy == orbitmesh.Strategy.TurnRelay
            assert "typ relay" in state.local_candidate
            for i in range(100):
                a.send_to_peer("tb", b"ordered %d" % i, mode=orbitmesh.Delivery.ReliableOrdered, channel=2)
                a.send_to_peer("tb", b"datagram %d" % i, mode=orbitmesh.Delivery.Unreliable)
            with cond:
                assert cond.wait_for(lambda: sum(1 for g in got if g[3] == orbitmesh.Delivery.ReliableOrdered) == 100,
                                     WAIT_S)
            ordered = [g[1] for g in got if g[3] == orbitmesh.Delivery.ReliableOrdered]
            assert ordered == [b"ordered %d" % i for i in range(100)]
            assert all(g[0] == "ta" and g[2] == 2 for g in got if g[3] == orbitmesh.Delivery.ReliableOrdered)
            assert server.counter("frames.in.relay") == 0  # TURN, not the server relay
            assert a.counter("plugin.turn-client.bytes_out") > 100 * 10
        finally:
            a.close()
            b.close()


def test_time_limited_credentials(server):
    secret = "the secret coturn and the signaling server share"
    with Coturn(secret=secret) as turn:
        user, password = rest_credentials(secret, "tc")
        agent = turn_agent(server, "tc", turn, user, password)
        try:
            assert wait_counter(agent, "turn.allocations"), turn.log()
        finally:
            agent.close()
        user, password = rest_credentials(secret, "td", ttl_s=-60)  # expired
        late = turn_agent(server, "td", turn, user, password)
        try:
            assert wait_counter(late, "turn.allocations_failed")
            with pytest.raises(orbitmesh.StateError) as raised:
                late.connect_to_peer("tc", transport=orbitmesh.Transport.TurnRelay)
            assert "401" in raised.value.message
        finally:
            late.close()


def test_server_relay_with_credentials_handed_out():
    # The server runs the relay and hands each registered agent time-limited credentials for
    # it: the agents carry no TURN option at all.
    with orbitmesh.Server(http_port=0, stun_port=-1, bind=LOOPBACK, open=True, enable_turn_relay=True,
                          turn_secret="server side only", turn_allow_loopback_peers=True,
                          turn_user_quota=2) as server:
        a = orbitmesh.Agent(server=server.url, agent_id="sa", p2p=loopback_p2p())
        b = orbitmesh.Agent(server=server.url, agent_id="sb", p2p=loopback_p2p())
        try:
            a.connect()
            b.connect()
            assert wait_counter(a, "turn.allocations") and wait_counter(b, "turn.allocations")
            got = threading.Event()
            b.on_message(lambda peer_id, data, channel, mode: got.set() if data == b"through our relay" else None)
            state = a.connect_to_peer("sb", transport=orbitmesh.Transport.TurnRelay)
            assert state.active_transport == orbitmesh.Transport.TurnRelay
            a.send_to_peer("sb", b"through our relay", mode=orbitmesh.Delivery.ReliableOrdered)
            assert got.wait(WAIT_S)
            assert server.counter("turn.allocations") == 2
            assert server.counter("turn.credentials_issued") == 2
            assert "orbitmesh_turn_bytes_relayed_total" in server.metrics()
        finally:
            a.close()
            b.close()


@pytest.mark.parametrize("kwargs, says", [
    ({"enable_turn_relay": True}, "turn_users or turn_secret"),
    ({"enable_turn_relay": True, "turn_users": "a:b", "bind": "0.0.0.0"}, "concrete bind address"),
    ({"turn_users": "a:b"}, "set enable_turn_relay"),
    ({"enable_turn_relay": True, "turn_users": "nopass"}, "name:pass"),
    ({"turn_address": "127.0.0.1:3478"}, "needs turn_secret"),
    ({"turn_secret": "s"}, "enable_turn_relay) or a turn_address"),
    ({"enable_turn_relay": True, "turn_users": "a:b", "turn_min_port": 6000, "turn_max_port": 5000}, "range"),
])
def test_server_turn_options_are_checked(kwargs, says):
    kwargs.setdefault("bind", LOOPBACK)
    with pytest.raises(orbitmesh.InvalidArgumentError) as raised:
        orbitmesh.Server(http_port=0, stun_port=-1, **kwargs).start()
    assert says in raised.value.message
