"""Datagrams between two agents on 127.0.0.1 with thread-mode callbacks, and the callback rules."""
import threading
import time

import orbitmesh
from conftest import QUIET_S, Inbox, captured_unraisable


def test_two_agents_exchange_datagrams_both_ways(make_agent):
    a, b = make_agent(), make_agent()
    inbox_a, inbox_b = Inbox(), Inbox()
    a.on_datagram(inbox_a)
    b.on_datagram(inbox_b)

    a.send_datagram(b.local_address, b"ping")
    assert inbox_b.wait_for(1)
    b.send_datagram(a.local_address, b"pong")
    assert inbox_a.wait_for(1)

    assert inbox_b.items[0][:2] == (a.local_address, b"ping")
    assert inbox_a.items[0][:2] == (b.local_address, b"pong")
    # Thread mode: callbacks run on the agent's own thread.
    assert inbox_b.items[0][2] != threading.get_ident()


def test_local_address_and_mtu(make_agent):
    agent = make_agent()
    host, port = agent.local_address.rsplit(":", 1)
    assert host == "127.0.0.1" and 0 < int(port) < 65536
    assert 0 < agent.mtu <= orbitmesh.P2POptions().max_mtu


def test_bytes_like_payloads(make_agent):
    a, b = make_agent(), make_agent()
    inbox = Inbox()
    b.on_datagram(inbox)
    payloads = [bytearray(b"array"), memoryview(b"view"), b"", bytes(range(256))]
    for payload in payloads:
        a.send_datagram(b.local_address, payload)
    assert inbox.wait_for(len(payloads))
    assert sorted(inbox.payloads) == sorted(bytes(p) for p in payloads)
    assert all(type(p) is bytes for p in inbox.payloads)


def test_on_event_receives_datagram_events(make_agent):
    a, b = make_agent(), make_agent()
    events, arrived = [], threading.Event()

    def on_event(event):
        events.append(event)
        if event.type == orbitmesh.EventType.Datagram:
            arrived.set()

    b.on_event(on_event)
    a.send_datagram(b.local_address, b"evt")
    assert arrived.wait(5)
    event = next(e for e in events if e.type == orbitmesh.EventType.Datagram)
    assert (event.address, event.data, event.peer_id) == (a.local_address, b"evt", None)
    assert event.status == 0 and event.status_name == "OM_OK"
    assert event.timestamp_us > 0
    assert "EventType.Datagram" in repr(event)


def test_callbacks_registered_late_replaced_and_removed(make_agent):
    a, b = make_agent(), make_agent()
    first, second = Inbox(), Inbox()
    assert b.on_datagram(first) is first      # returns the callable (decorator use)
    a.send_datagram(b.local_address, b"1")
    assert first.wait_for(1)

    b.on_datagram(second)
    a.send_datagram(b.local_address, b"2")
    assert second.wait_for(1)
    assert first.payloads == [b"1"]

    b.on_datagram(None)
    a.send_datagram(b.local_address, b"3")
    time.sleep(QUIET_S)
    assert second.payloads == [b"2"]


def test_raising_callback_does_not_kill_the_agent(make_agent):
    a, b = make_agent(), make_agent()
    inbox = Inbox()

    def flaky(address, data):
        if data == b"boom":
            raise RuntimeError("callback failed on purpose")
        inbox(address, data)

    b.on_datagram(flaky)
    with captured_unraisable() as unraisable:
        a.send_datagram(b.local_address, b"boom")
        a.send_datagram(b.local_address, b"after")
        assert inbox.wait_for(1)
    assert inbox.payloads == [b"after"]
    assert any(isinstance(u.exc_value, RuntimeError) for u in unraisable)


def test_callbacks_may_call_back_into_the_agent(make_agent):
    a, b = make_agent(), make_agent()
    inbox = Inbox()
    a.on_datagram(inbox)
    b.on_datagram(lambda address, data: b.send_datagram(address, data.upper()))
    a.send_datagram(b.local_address, b"echo")
    assert inbox.wait_for(1)
    assert inbox.payloads == [b"ECHO"]
