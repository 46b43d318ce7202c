"""Failures of agent calls arrive as orbitmesh.Error subclasses with the C status."""
import pytest

import orbitmesh
from conftest import LOOPBACK, loopback_p2p


def test_unknown_transport_plugin_names_the_plugin():
    with pytest.raises(orbitmesh.PluginError) as raised:
        orbitmesh.Agent(p2p=loopback_p2p(), transport="no-such-transport")
    error = raised.value
    assert isinstance(error, orbitmesh.NotFoundError)
    assert error.status_name == "OM_ERR_NOT_FOUND"
    assert "no-such-transport" in error.message


def test_unknown_plugin_of_another_kind():
    with pytest.raises(orbitmesh.PluginNotFoundError, match="no-such-strategy"):
        orbitmesh.Agent(p2p=loopback_p2p(), plugins={"strategy": "no-such-strategy"})


def test_malformed_address_is_invalid_argument(make_agent):
    agent = make_agent()
    for address in ["nonsense", "127.0.0.1", "127.0.0.1:99999", "[::1"]:
        with pytest.raises(orbitmesh.InvalidArgumentError) as raised:
            agent.send_datagram(address, b"x")
        assert raised.value.status_name in ("OM_ERR_INVALID_ARGUMENT", "OM_ERR_MALFORMED")


def test_oversize_datagram_is_too_large(make_agent):
    agent = make_agent()
    with pytest.raises(orbitmesh.TooLargeError) as raised:
        agent.send_datagram(f"{LOOPBACK}:9", bytes(agent.mtu + 1))
    assert raised.value.status_name == "OM_ERR_TOO_LARGE"
    assert isinstance(raised.value, ValueError)


def test_payload_must_be_bytes_like(make_agent):
    agent = make_agent()
    with pytest.raises(TypeError):
        agent.send_datagram(f"{LOOPBACK}:9", "text is not bytes")


def test_transport_state_errors(make_agent):
    agent = make_agent(open_transport=False)
    with pytest.raises(orbitmesh.StateError):
        agent.local_address
    with pytest.raises((orbitmesh.ClosedError, orbitmesh.StateError)):
        agent.send_datagram(f"{LOOPBACK}:9", b"x")
    agent.open_transport()
    agent.close_transport()
    with pytest.raises(orbitmesh.ClosedError):
        agent.send_datagram(f"{LOOPBACK}:9", b"x")


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"events": "sometimes"}, ValueError),
        ({"plugins": {"transport": "udp"}}, ValueError),     # the transport has its own argument
        ({"plugin_options": "netsim.loss"}, ValueError),
        ({"plugin_options": "loss=1"}, ValueError),
        ({"plugin_options": {"netsim": {"loss": "a;b"}}}, ValueError),
        ({"plugin_options": {"netsim": {"loss": [1]}}}, TypeError),
        ({"plugin_options": 42}, TypeError),
        ({"p2p": {"prefer_p2p": True}}, TypeError),
    ],
)
def test_invalid_agent_arguments(kwargs, error):
    kwargs.setdefault("p2p", loopback_p2p())
    with pytest.raises(error):
        orbitmesh.Agent(**kwargs)


def test_agent_arguments_are_keyword_only():
    with pytest.raises(TypeError):
        orbitmesh.Agent("ws://127.0.0.1:1")


@pytest.mark.parametrize("fields, says", [({"turn_username": "u"}, "turn_username is set without turn_server"),
                                          ({"turn_server": "127.0.0.1", "turn_password": "p"},
                                           "turn_password is set without turn_username"),
                                          ({"turn_port": 0}, "turn_port must be between 1 and 65535")])
def test_turn_options_are_checked_together(fields, says):
    with pytest.raises(orbitmesh.InvalidArgumentError) as raised:
        orbitmesh.Agent(p2p=loopback_p2p(**fields))
    assert says in raised.value.message


def test_turn_only_connection_without_turn_says_why():
    with orbitmesh.Server(http_port=0, stun_port=0, bind=LOOPBACK, open=True) as server:
        agent = orbitmesh.Agent(server=server.url, agent_id="no-turn", p2p=loopback_p2p())
        try:
            agent.connect()
            with pytest.raises(orbitmesh.StateError) as raised:
                agent.connect_to_peer("anyone", transport=orbitmesh.Transport.TurnRelay)
            assert "TURN is not configured" in raised.value.message
        finally:
            agent.close()


@pytest.mark.parametrize("kwargs", [{"redis_url": "redis://127.0.0.1"}])
def test_server_redis_option_is_not_yet_supported(kwargs):
    with pytest.raises(orbitmesh.NotSupportedError) as raised:
        orbitmesh.Server(http_port=0, stun_port=0, bind=LOOPBACK, **kwargs)
    assert f"{next(iter(kwargs))}: " in raised.value.message
    assert "not yet supported" in raised.value.message
