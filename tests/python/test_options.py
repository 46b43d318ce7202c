"""P2POptions / P2PServerOptions: the seed's fields, names and defaults, and validation."""
import copy
import pickle

import pytest

import orbitmesh

# seed/000, "Configuration Options", in snake_case and in the seed's order.
SEED_P2P_DEFAULTS = {
    "prefer_p2p": True,
    "fallback_to_relay": True,
    "stun_server": None,
    "stun_port": 3478,
    "turn_server": None,
    "turn_port": 3478,
    "turn_username": None,
    "turn_password": None,
    "connection_timeout_ms": 10000,
    "nat_punch_retries": 10,
    "nat_punch_interval_ms": 100,
    "keep_alive_interval_ms": 15000,
    "disconnect_timeout_ms": 30000,
    "max_mtu": 1400,
    "enable_unreliable_delivery": True,
    "enable_reliable_delivery": True,
}
SEED_SERVER_DEFAULTS = {"stun_port": 3478, "enable_turn_relay": False, "turn_realm": None}

TIMEOUT_FIELDS = ["connection_timeout_ms", "nat_punch_interval_ms", "keep_alive_interval_ms",
                  "disconnect_timeout_ms", "nat_punch_retries"]


def test_p2p_defaults_are_the_seeds():
    options = orbitmesh.P2POptions()
    for name, default in SEED_P2P_DEFAULTS.items():
        value = getattr(options, name)
        assert value == default and type(value) is type(default), name
    assert options.bind_address is None
    assert options.exclude_interfaces == []
    assert options.identity_file is None
    assert options.busy_poll_us == 0
    assert options._fields == tuple(SEED_P2P_DEFAULTS) + ("bind_address", "exclude_interfaces", "identity_file",
                                                          "busy_poll_us")
    assert options.to_dict() == {**SEED_P2P_DEFAULTS, "bind_address": None, "exclude_interfaces": [],
                                 "identity_file": None, "busy_poll_us": 0}


def test_server_defaults_are_the_seeds():
    options = orbitmesh.P2PServerOptions()
    assert options.to_dict() == SEED_SERVER_DEFAULTS
    assert options._fields == tuple(SEED_SERVER_DEFAULTS)


def test_keywords_and_attributes_set_fields():
    options = orbitmesh.P2POptions(prefer_p2p=False, turn_server="turn.example", max_mtu=1200,
                                   bind_address="127.0.0.1")
    assert (options.prefer_p2p, options.turn_server, options.max_mtu) == (False, "turn.example", 1200)
    options.turn_server = None
    options.nat_punch_retries = 3
    assert options.turn_server is None and options.nat_punch_retries == 3
    server = orbitmesh.P2PServerOptions(stun_port=0, enable_turn_relay=True, turn_realm="orbit")
    assert server.to_dict() == {"stun_port": 0, "enable_turn_relay": True, "turn_realm": "orbit"}


def test_repr_names_every_field():
    text = repr(orbitmesh.P2POptions(stun_server="127.0.0.1"))
    assert text.startswith("P2POptions(prefer_p2p=True, ")
    assert "stun_server='127.0.0.1'" in text and "bind_address=None" in text
    assert repr(orbitmesh.P2PServerOptions()) == (
        "P2PServerOptions(stun_port=3478, enable_turn_relay=False, turn_realm=None)")


def test_equality_is_field_wise():
    assert orbitmesh.P2POptions(max_mtu=1300) == orbitmesh.P2POptions(max_mtu=1300)
    assert orbitmesh.P2POptions(max_mtu=1300) != orbitmesh.P2POptions()
    assert orbitmesh.P2POptions() != orbitmesh.P2PServerOptions()


@pytest.mark.parametrize("field", TIMEOUT_FIELDS)
def test_negative_timeouts_are_rejected(field):
    with pytest.raises(ValueError, match=field):
        orbitmesh.P2POptions(**{field: -1})
    options = orbitmesh.P2POptions()
    with pytest.raises(orbitmesh.InvalidArgumentError) as raised:
        setattr(options, field, -5)
    assert raised.value.status_name == "OM_ERR_INVALID_ARGUMENT"
    assert getattr(options, field) == SEED_P2P_DEFAULTS[field]


@pytest.mark.parametrize("port", [-1, 0, 65536, 2**40])
@pytest.mark.parametrize("field", ["stun_port", "turn_port"])
def test_ports_out_of_range_are_rejected(field, port):
    with pytest.raises(ValueError):
        orbitmesh.P2POptions(**{field: port})


def test_server_port_range():
    with pytest.raises(ValueError):
        orbitmesh.P2PServerOptions(stun_port=65536)
    with pytest.raises(ValueError):
        orbitmesh.P2PServerOptions(stun_port=-1)


@pytest.mark.parametrize("mtu", [0, 67, 65536])
def test_mtu_out_of_range_is_rejected(mtu):
    with pytest.raises(ValueError):
        orbitmesh.P2POptions(max_mtu=mtu)


@pytest.mark.parametrize("us", [-1, 10001])
def test_busy_poll_out_of_range_is_rejected(us):
    with pytest.raises(ValueError, match="busy_poll_us"):
        orbitmesh.P2POptions(busy_poll_us=us)


@pytest.mark.parametrize(
    "kwargs",
    [{"stun_port": "3478"}, {"stun_port": 3478.0}, {"stun_port": True}, {"prefer_p2p": 1},
     {"stun_server": 42}, {"bind_address": b"127.0.0.1"}],
)
def test_wrong_types_are_type_errors(kwargs):
    with pytest.raises(TypeError):
        orbitmesh.P2POptions(**kwargs)


def test_unknown_and_positional_arguments_are_rejected():
    with pytest.raises(TypeError, match="unexpected keyword argument 'stun_host'"):
        orbitmesh.P2POptions(stun_host="x")
    with pytest.raises(TypeError):
        orbitmesh.P2POptions(True)


@pytest.mark.parametrize("value, names", [
    ("docker0", ["docker0"]),
    ("eth1,docker*", ["eth1", "docker*"]),
    (" eth1 , veth* ,", ["eth1", "veth*"]),
    (["eth1", "docker*"], ["eth1", "docker*"]),
    (("wg0",), ["wg0"]),
    ("", []),
    (None, []),
])
def test_exclude_interfaces_takes_a_str_or_a_list(value, names):
    assert orbitmesh.P2POptions(exclude_interfaces=value).exclude_interfaces == names
    options = orbitmesh.P2POptions()
    options.exclude_interfaces = value
    assert options.exclude_interfaces == names


@pytest.mark.parametrize("value", [42, [b"eth0"], ["eth0", 1], {"eth0"}])
def test_exclude_interfaces_wrong_types(value):
    with pytest.raises(TypeError):
        orbitmesh.P2POptions(exclude_interfaces=value)


def test_copy_and_pickle_keep_every_field():
    original = orbitmesh.P2POptions(turn_server="127.0.0.1", max_mtu=1200, bind_address="127.0.0.1",
                                    exclude_interfaces=["docker*"])
    for clone in (copy.copy(original), copy.deepcopy(original), pickle.loads(pickle.dumps(original))):
        assert clone == original and clone is not original
    clone = copy.copy(original)
    clone.max_mtu = 1000
    assert original.max_mtu == 1200
    server = orbitmesh.P2PServerOptions(turn_realm="orbit")
    assert pickle.loads(pickle.dumps(server)) == server
