"""plugin_call: msgpack-encoded arguments in, decoded results out, signature errors."""
import pytest

import orbitmesh


def test_get_socket_buffers_returns_two_positive_ints(make_agent):
    agent = make_agent()
    result = agent.plugin_call("transport-udp", "get_socket_buffers")
    assert isinstance(result, list) and len(result) == 2
    assert all(isinstance(size, int) and size > 0 for size in result)


def test_status_only_method_returns_none(make_agent):
    agent = make_agent()
    assert agent.plugin_call("transport-udp", "set_socket_buffers", 65536, 65536) is None
    receive, send = agent.plugin_call("transport-udp", "get_socket_buffers")
    assert receive >= 65536 and send >= 65536   # Linux reports double what it grants


def test_wrong_arity_is_type_mismatch(make_agent):
    agent = make_agent()
    with pytest.raises(orbitmesh.TypeMismatchError) as raised:
        agent.plugin_call("transport-udp", "get_socket_buffers", 1)
    assert raised.value.status_name == "OM_ERR_TYPE_MISMATCH"
    assert isinstance(raised.value, TypeError)
    with pytest.raises(orbitmesh.TypeMismatchError):
        agent.plugin_call("transport-udp", "set_socket_buffers", 65536)


@pytest.mark.parametrize("bad", ["65536", -1, 2**40, 1.5, b"\x00", None, True])
def test_wrong_argument_types_are_type_mismatch(make_agent, bad):
    agent = make_agent()
    with pytest.raises(orbitmesh.TypeMismatchError):
        agent.plugin_call("transport-udp", "set_socket_buffers", bad, 65536)


def test_unknown_plugin_or_method_is_plugin_not_found(make_agent):
    agent = make_agent()
    with pytest.raises(orbitmesh.PluginNotFoundError, match="no_such_method"):
        agent.plugin_call("transport-udp", "no_such_method")
    with pytest.raises(orbitmesh.NotFoundError, match="no-such-plugin"):
        agent.plugin_call("no-such-plugin", "anything")


@pytest.mark.parametrize("value", [object(), {1, 2}, 2**64, -(2**63) - 1])
def test_values_msgpack_cannot_carry_are_rejected_before_the_call(make_agent, value):
    agent = make_agent()
    with pytest.raises((TypeError, ValueError)) as raised:
        agent.plugin_call("transport-udp", "set_socket_buffers", value, 1)
    assert not isinstance(raised.value, orbitmesh.Error)


def test_self_referencing_argument_is_rejected(make_agent):
    agent = make_agent()
    loop = []
    loop.append(loop)
    with pytest.raises(ValueError):
        agent.plugin_call("transport-udp", "set_socket_buffers", loop, 1)
