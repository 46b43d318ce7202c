"""Shared helpers of the orbitmesh pytest suite.

Network rule: every agent binds 127.0.0.1 explicitly and sends only there. Every wait is
bounded (WAIT_S), so a broken build fails instead of hanging.
"""
import contextlib
import sys
import threading
import time

import pytest

import orbitmesh

LOOPBACK = "127.0.0.1"
WAIT_S = 5.0       # upper bound for anything that should happen
QUIET_S = 0.5      # how long "nothing arrives" is watched


def loopback_p2p(**fields):
    """P2POptions bound to the loopback interface."""
    return orbitmesh.P2POptions(bind_address=LOOPBACK, **fields)


class Inbox:
    """A datagram callback that records (address, data, thread id); waits are bounded."""

    def __init__(self):
        self._changed = threading.Condition()
        self.items = []

    def __call__(self, address, data):
        with self._changed:
            self.items.append((address, data, threading.get_ident()))
            self._changed.notify_all()

    def wait_for(self, count, timeout=WAIT_S):
        with self._changed:
            return self._changed.wait_for(lambda: len(self.items) >= count, timeout)

    @property
    def payloads(self):
        with self._changed:
            return [data for _, data, _ in self.items]


def dispatch_until(agent, done, timeout=WAIT_S):
    """Runs agent.dispatch in short slices until done() or the timeout; returns done()."""
    deadline = time.monotonic() + timeout
    while not done() and time.monotonic() < deadline:
        agent.dispatch(50)
    return done()


def drain(agent, limit=1000):
    """Runs every event already queued for a dispatch-mode agent (TransportOpened, ...)."""
    for _ in range(limit):
        if agent.dispatch(0) == 0:
            return
    raise AssertionError("the event queue does not drain")


@contextlib.contextmanager
def captured_unraisable():
    """Collects what reaches sys.unraisablehook (exceptions raised inside callbacks). Used
    inside a test body: pytest installs its own hook around the test call."""
    seen = []
    previous, sys.unraisablehook = sys.unraisablehook, seen.append
    try:
        yield seen
    finally:
        sys.unraisablehook = previous


@pytest.fixture
def make_agent():
    """make_agent(**Agent kwargs) -> an Agent on 127.0.0.1 with its transport open (unless
    open_transport=False); every agent made is closed after the test."""
    made = []

    def make(open_transport=True, **kwargs):
        kwargs.setdefault("p2p", loopback_p2p())
        agent = orbitmesh.Agent(**kwargs)
        made.append(agent)
        if open_transport:
            agent.open_transport()
        return agent

    yield make
    for agent in made:
        agent.close()
