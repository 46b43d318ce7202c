"""close(), the context manager, and agents that go away in awkward places."""
import gc
import subprocess
import sys
import textwrap
import threading
import time

import pytest

import orbitmesh
from conftest import WAIT_S, Inbox, loopback_p2p


def test_close_twice_is_fine():
    agent = orbitmesh.Agent(p2p=loopback_p2p())
    agent.open_transport()
    assert not agent.closed
    agent.close()
    agent.close()
    assert agent.closed
    assert "closed" in repr(agent)


def test_calls_after_close_raise_closed_error():
    agent = orbitmesh.Agent(p2p=loopback_p2p())
    agent.close()
    for call in (agent.open_transport, lambda: agent.local_address, lambda: agent.counter("x"),
                 lambda: agent.send_datagram("127.0.0.1:9", b"x"),
                 lambda: agent.plugin_call("transport-udp", "get_socket_buffers")):
        with pytest.raises(orbitmesh.ClosedError) as raised:
            call()
        assert raised.value.status_name == "OM_ERR_CLOSED"


def test_context_manager_closes():
    with orbitmesh.Agent(p2p=loopback_p2p()) as agent:
        agent.open_transport()
        assert agent.local_address.startswith("127.0.0.1:")
    assert agent.closed


def test_context_manager_closes_on_error():
    with pytest.raises(KeyError):
        with orbitmesh.Agent(p2p=loopback_p2p()) as agent:
            raise KeyError("inside")
    assert agent.closed


def test_no_callback_after_close(make_agent):
    sender = make_agent()
    receiver = orbitmesh.Agent(p2p=loopback_p2p())
    receiver.open_transport()
    inbox = Inbox()
    receiver.on_datagram(inbox)
    address = receiver.local_address
    receiver.close()
    for _ in range(5):
        sender.send_datagram(address, b"late")
    time.sleep(0.2)
    assert inbox.items == []


def test_close_while_datagrams_keep_arriving(make_agent):
    sender = make_agent()
    receiver = orbitmesh.Agent(p2p=loopback_p2p())
    receiver.open_transport()
    inbox = Inbox()
    receiver.on_datagram(lambda address, data: (time.sleep(0.001), inbox(address, data)))
    address, stop = receiver.local_address, threading.Event()

    def flood():
        while not stop.is_set():
            sender.send_datagram(address, b"flood")

    flooder = threading.Thread(target=flood)
    flooder.start()
    try:
        assert inbox.wait_for(3)
        receiver.close()   # while its loop thread wants the GIL for the next callback
    finally:
        stop.set()
        flooder.join(WAIT_S)
    assert receiver.closed and not flooder.is_alive()


def test_close_from_own_callback_is_refused(make_agent):
    a, b = make_agent(), make_agent()
    outcome, done = [], threading.Event()

    def try_close(address, data):
        try:
            b.close()
        except orbitmesh.StateError as error:
            outcome.append(error)
        done.set()

    b.on_datagram(try_close)
    a.send_datagram(b.local_address, b"x")
    assert done.wait(WAIT_S)
    assert outcome and outcome[0].status_name == "OM_ERR_STATE"


def test_agent_dropped_without_close_is_collected(make_agent):
    sender = make_agent()
    agent = orbitmesh.Agent(p2p=loopback_p2p())
    agent.open_transport()
    inbox = Inbox()
    agent.on_datagram(inbox)
    sender.send_datagram(agent.local_address, b"x")
    assert inbox.wait_for(1)
    del agent
    gc.collect()


def test_last_reference_dropped_inside_own_callback(make_agent):
    """The agent's destructor then runs on its own loop thread, which it must not join."""
    sender = make_agent()
    holder = [orbitmesh.Agent(p2p=loopback_p2p())]
    holder[0].open_transport()
    released = threading.Event()

    def drop_self(address, data):
        holder.clear()       # the callback's frame holds no reference to the agent
        released.set()

    holder[0].on_datagram(drop_self)
    address = holder[0].local_address
    sender.send_datagram(address, b"x")
    assert released.wait(WAIT_S)
    time.sleep(0.2)
    sender.send_datagram(address, b"after")   # nobody listens any more; must not crash


def test_interpreter_exit_with_open_busy_agents():
    """Agents left open, with callbacks running, must not hang or crash the exit."""
    script = textwrap.dedent("""
        import time, orbitmesh
        p2p = orbitmesh.P2POptions(bind_address="127.0.0.1")
        a = orbitmesh.Agent(p2p=p2p); b = orbitmesh.Agent(p2p=p2p)
        a.open_transport(); b.open_transport()
        b.on_datagram(lambda address, data: time.sleep(0.01))
        for _ in range(200):
            a.send_datagram(b.local_address, b"x")
        time.sleep(0.05)
        print("exiting", flush=True)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=30)
    assert done.returncode == 0, done.stderr
    assert "exiting" in done.stdout
