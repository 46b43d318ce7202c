"""The responder's decision (seed connection flow, step 4) through Agent.on_connect_request, the
StateChanged event through Agent.on_state_changed, and the 0.3 peer details (peer_pairs,
planned_strategy, check counters). Peers connect over the server relay so the tests do not
depend on the direct path; every wait is bounded and all traffic stays on 127.0.0.1."""
import threading

import pytest

import orbitmesh
from conftest import LOOPBACK, captured_unraisable, loopback_p2p

WAIT_S = 15.0
RELAY = orbitmesh.Transport.ServerRelay
pytestmark = pytest.mark.skipif(not hasattr(orbitmesh, "Server"), reason="no orbitmesh.Server")


@pytest.fixture
def server():
    with orbitmesh.Server(http_port=0, stun_port=0, bind=LOOPBACK, open=True) as s:
        yield s
    s.close()


@pytest.fixture
def pair(server):
    """Two registered agents, a and b."""
    p2p = loopback_p2p(connection_timeout_ms=8000)
    a = orbitmesh.Agent(server=server.url, agent_id="a", p2p=p2p)
    b = orbitmesh.Agent(server=server.url, agent_id="b", p2p=p2p)
    try:
        a.connect()
        b.connect()
        yield a, b
    finally:
        a.close()
        b.close()


class Requests:
    """on_connect_request callable: records (peer_id, remote_nat, thread) and answers `answer`."""

    def __init__(self, answer):
        self.answer = answer
        self.calls = []

    def __call__(self, peer_id, remote_nat):
        self.calls.append((peer_id, remote_nat, threading.get_ident()))
        if isinstance(self.answer, BaseException):
            raise self.answer
        return self.answer


def test_accepting_callback_sees_the_requester_on_the_loop_thread(pair):
    a, b = pair
    requests = Requests(True)
    assert b.on_connect_request(requests) is requests  # usable as a decorator
    # connect_to_peer releases the GIL while it waits, so b's loop thread can run the callback.
    state = a.connect_to_peer("b", transport=RELAY)
    assert state.status == orbitmesh.PeerConnectionStatus.Connected
    assert len(requests.calls) == 1
    peer, nat, thread = requests.calls[0]
    assert peer == "a"
    assert isinstance(nat, orbitmesh.NatType)
    assert thread != threading.get_ident()


def test_refusal_with_a_reason_reaches_the_requester(pair):
    a, b = pair
    requests = Requests((False, "busy right now"))
    b.on_connect_request(requests)
    with pytest.raises(orbitmesh.RefusedError) as refused:
        a.connect_to_peer("b", transport=RELAY)
    assert refused.value.status_name == "OM_ERR_REFUSED"
    assert isinstance(refused.value, ConnectionRefusedError)
    assert "busy right now" in str(refused.value)
    assert [c[0] for c in requests.calls] == ["a"]
    assert a.peer_state("b").status != orbitmesh.PeerConnectionStatus.Connected


def test_plain_false_refuses(pair):
    a, b = pair
    b.on_connect_request(lambda peer_id, remote_nat: False)
    with pytest.raises(orbitmesh.RefusedError):
        a.connect_to_peer("b", transport=RELAY)


def test_an_exception_refuses_with_its_text_and_the_agent_goes_on(pair):
    a, b = pair
    b.on_connect_request(Requests(ValueError("no strangers")))
    with captured_unraisable() as seen:
        with pytest.raises(orbitmesh.RefusedError) as refused:
            a.connect_to_peer("b", transport=RELAY)
    assert "no strangers" in str(refused.value)
    assert any(isinstance(u.exc_value, ValueError) for u in seen)
    # Removing the callback restores the default: accept every peer.
    b.on_connect_request(None)
    assert a.connect_to_peer("b", transport=RELAY).status == orbitmesh.PeerConnectionStatus.Connected


def test_callback_must_be_callable(pair):
    _, b = pair
    with pytest.raises(TypeError):
        b.on_connect_request(42)


def test_state_changes_and_peer_details(pair):
    a, b = pair
    changes = []
    reached = threading.Event()

    def on_change(peer_id, status, transport, strategy):
        changes.append((peer_id, status, transport, strategy))
        if status == orbitmesh.PeerConnectionStatus.Connected:
            reached.set()

    events = []
    a.on_state_changed(on_change)
    a.on_event(lambda e: events.append(e) if e.type == orbitmesh.EventType.PeerStateChanged else None)
    state = a.connect_to_peer("b", transport=RELAY)
    assert reached.wait(WAIT_S), changes
    peer, status, transport, strategy = [c for c in changes if c[1] == orbitmesh.PeerConnectionStatus.Connected][-1]
    assert (peer, transport, strategy) == ("b", RELAY, orbitmesh.Strategy.ServerRelay)
    assert all(isinstance(c[1], orbitmesh.PeerConnectionStatus) for c in changes)
    connected_events = [e for e in events if e.peer_status == orbitmesh.PeerConnectionStatus.Connected]
    assert connected_events and connected_events[-1].transport == RELAY
    assert "peer_status=PeerConnectionStatus.Connected" in repr(connected_events[-1])

    # 0.3 state fields: the relay was asked for, so no candidate pair was checked.
    assert isinstance(state.planned_strategy, orbitmesh.Strategy)
    assert state.pairs_checked == 0
    assert isinstance(state.checks_sent, int) and isinstance(state.checks_received, int)
    assert state.last_heard_ms >= 0
    pairs = a.peer_pairs("b")
    assert isinstance(pairs, list)
    assert pairs == []
