"""Stacked transports: netsim:udp wraps transport-udp; its settings come from plugin_options."""
import time

import pytest

from conftest import QUIET_S, Inbox

COUNT = 20


def send_burst(sender, receiver):
    inbox = Inbox()
    receiver.on_datagram(inbox)
    for i in range(COUNT):
        sender.send_datagram(receiver.local_address, b"n%d" % i)
    return inbox


@pytest.mark.parametrize("plugin_options", [{"netsim": {"loss": 1.0}}, "netsim.loss=1.0;netsim.seed=7"])
def test_total_loss_delivers_nothing(make_agent, plugin_options):
    sender = make_agent(transport="netsim:udp", plugin_options=plugin_options)
    inbox = send_burst(sender, make_agent())
    time.sleep(QUIET_S)
    assert inbox.items == []
    passed, dropped, _, _ = sender.plugin_call("netsim", "stats")
    assert (passed, dropped) == (0, COUNT)


def test_no_loss_delivers_everything(make_agent):
    sender = make_agent(transport="netsim:udp", plugin_options={"netsim": {"loss": 0}})
    inbox = send_burst(sender, make_agent())
    assert inbox.wait_for(COUNT)
    assert sorted(inbox.payloads) == sorted(b"n%d" % i for i in range(COUNT))
    assert sender.plugin_call("netsim", "stats")[0] == COUNT


def test_netsim_counters_are_visible(make_agent):
    sender = make_agent(transport="netsim:udp", plugin_options={"netsim": {"loss": 1.0}})
    send_burst(sender, make_agent())
    counters = sender.counters()
    assert isinstance(counters, dict)
    dropped = {name: value for name, value in counters.items() if name.startswith("plugin.netsim.")}
    assert dropped and max(dropped.values()) >= COUNT
    name = max(dropped, key=dropped.get)
    assert sender.counter(name) == dropped[name]
    assert sender.counter("no.such.counter") == 0
