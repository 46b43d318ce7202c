"""The module itself: import, version, plugin listing, the exception hierarchy."""
import builtins
import re

import pytest

import orbitmesh


def test_version_is_the_library_version():
    assert re.fullmatch(r"\d+\.\d+\.\d+", orbitmesh.__version__)
    assert orbitmesh.version() == orbitmesh.__version__


def test_plugins_lists_the_build_tree_plugins():
    plugins = {p["name"]: p for p in orbitmesh.plugins()}
    assert {"transport-udp", "netsim"} <= plugins.keys()
    assert plugins["transport-udp"]["kind"] == "transport"
    methods = {f["name"] for f in plugins["transport-udp"]["functions"]}
    assert "get_socket_buffers" in methods


def test_set_log_level_accepts_every_level():
    for level in orbitmesh.LogLevel.__members__.values():
        orbitmesh.set_log_level(level)
    orbitmesh.set_log_level(orbitmesh.LogLevel.Warning)


@pytest.mark.parametrize(
    "name, builtin",
    [
        ("InvalidArgumentError", ValueError),
        ("NotFoundError", LookupError),
        ("TimeoutError", builtins.TimeoutError),
        ("NotSupportedError", NotImplementedError),
        ("StateError", None),
        ("PluginError", None),
        ("TypeMismatchError", TypeError),
        ("ClosedError", None),
        ("TooLargeError", ValueError),
    ],
)
def test_error_subclasses(name, builtin):
    cls = getattr(orbitmesh, name)
    assert issubclass(cls, orbitmesh.Error)
    assert issubclass(orbitmesh.Error, Exception)
    if builtin is not None:
        assert issubclass(cls, builtin)
    assert cls.__module__ == "orbitmesh"


def test_plugin_not_found_is_both_plugin_and_not_found_error():
    assert issubclass(orbitmesh.PluginNotFoundError, orbitmesh.PluginError)
    assert issubclass(orbitmesh.PluginNotFoundError, orbitmesh.NotFoundError)


def test_error_carries_status_name_and_message():
    error = orbitmesh.TimeoutError("took too long")
    assert error.status == -4
    assert error.status_name == "OM_ERR_TIMEOUT"
    assert error.message == "took too long"
    assert str(error) == "took too long"
    explicit = orbitmesh.PluginError("bad abi", -11)
    assert explicit.status_name == "OM_ERR_ABI_MISMATCH"
    with pytest.raises(builtins.TimeoutError):
        raise orbitmesh.TimeoutError("x")
