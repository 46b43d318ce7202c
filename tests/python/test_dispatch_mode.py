"""events="dispatch": callbacks run inside Agent.dispatch() on the calling thread, which waits
without holding the GIL and stays interruptible."""
import signal
import threading
import time

import pytest

import orbitmesh
from conftest import WAIT_S, Inbox, captured_unraisable, dispatch_until, drain


def test_dispatch_mode_runs_callbacks_on_the_calling_thread(make_agent):
    sender = make_agent()
    receiver = make_agent(events="dispatch", open_transport=False)
    assert receiver.events == "dispatch"
    inbox, events = Inbox(), []
    receiver.on_datagram(inbox)
    receiver.on_event(lambda event: events.append((event.type, threading.get_ident())))
    receiver.open_transport()
    sender.send_datagram(receiver.local_address, b"queued")
    assert dispatch_until(receiver, lambda: inbox.items)
    address, data, thread = inbox.items[0]
    assert (address, data) == (sender.local_address, b"queued")
    assert thread == threading.get_ident()
    # The same events as in thread mode, all delivered here.
    assert [t for t, _ in events] == [orbitmesh.EventType.TransportOpened, orbitmesh.EventType.Datagram]
    assert {thread for _, thread in events} == {threading.get_ident()}


def test_dispatch_returns_zero_on_timeout(make_agent):
    agent = make_agent(events="dispatch")
    drain(agent)
    started = time.monotonic()
    assert agent.dispatch(100) == 0
    assert 0.08 <= time.monotonic() - started < 2.0
    assert agent.dispatch(0) == 0


def test_dispatch_in_thread_mode_is_a_state_error(make_agent):
    agent = make_agent()
    try:
        agent.dispatch(0)
    except orbitmesh.StateError as error:
        assert error.status_name == "OM_ERR_STATE"
    else:
        raise AssertionError("dispatch() in thread mode did not raise StateError")


def test_raising_callback_in_dispatch_mode_does_not_escape(make_agent):
    sender, receiver = make_agent(), make_agent(events="dispatch")
    inbox = Inbox()

    def flaky(address, data):
        if data == b"boom":
            raise ValueError("on purpose")
        inbox(address, data)

    receiver.on_datagram(flaky)
    with captured_unraisable() as unraisable:
        sender.send_datagram(receiver.local_address, b"boom")
        sender.send_datagram(receiver.local_address, b"after")
        assert dispatch_until(receiver, lambda: inbox.items)
    assert inbox.payloads == [b"after"]
    assert any(isinstance(u.exc_value, ValueError) for u in unraisable)


def test_dispatch_releases_the_gil(make_agent):
    agent = make_agent(events="dispatch")
    drain(agent)
    start, stop = threading.Event(), threading.Event()
    count = [0]

    def spin():
        start.wait(5)
        while not stop.is_set():
            count[0] += 1

    spinner = threading.Thread(target=spin)
    spinner.start()
    try:
        start.set()
        assert agent.dispatch(300) == 0   # no events: blocks for the whole timeout
        during = count[0]
    finally:
        stop.set()
        spinner.join(5)
    # Had dispatch() kept the GIL, the spinner could not have run while it waited.
    assert during > 1000


def test_close_from_another_thread_ends_dispatch(make_agent):
    agent = make_agent(events="dispatch")
    drain(agent)
    outcome = []

    def wait_for_events():
        try:
            agent.dispatch(5000)
            outcome.append("returned")
        except orbitmesh.ClosedError:
            outcome.append("closed")

    waiter = threading.Thread(target=wait_for_events)
    waiter.start()
    time.sleep(0.2)
    started = time.monotonic()
    agent.close()
    waiter.join(WAIT_S)
    assert outcome == ["closed"]
    assert time.monotonic() - started < 2.0


def test_signal_handler_interrupts_dispatch(make_agent):
    agent = make_agent(events="dispatch")
    drain(agent)

    class Interrupted(Exception):
        pass

    def handler(signum, frame):
        raise Interrupted()

    previous = signal.signal(signal.SIGUSR1, handler)
    timer = threading.Timer(0.2, signal.pthread_kill, (threading.main_thread().ident, signal.SIGUSR1))
    started = time.monotonic()
    try:
        timer.start()
        with pytest.raises(Interrupted):
            agent.dispatch(5000)
    finally:
        timer.cancel()
        signal.signal(signal.SIGUSR1, previous)
    assert time.monotonic() - started < 2.0
