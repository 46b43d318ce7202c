"""Type stubs of the `orbitmesh` extension module (pybind11 over the OrbitMesh C API)."""

import builtins
import enum
import sys
from typing import Any, Awaitable, Callable, Literal, Mapping, Sequence, TypeVar, Union

if sys.version_info >= (3, 12):
    from collections.abc import Buffer
else:
    Buffer = Union[bytes, bytearray, memoryview]

__version__: str
MAX_CHANNELS: int            # 256: channels 0..255 per peer (added in 0.4)
MAX_RELIABLE_MESSAGE: int    # 16 MiB: largest reliable message; TooLargeError above

def version() -> str: ...
def plugins() -> list[dict[str, Any]]: ...
def set_log_level(level: LogLevel) -> None: ...
def create_token(secret: str, agent_id: str, ttl_seconds: int = 3600) -> str: ...

# --------------------------------------------------------------------------------------------
# Errors: every failure of the library raises an Error subclass carrying the C status.
# --------------------------------------------------------------------------------------------
class Error(Exception):
    status: int          # om_status, e.g. -4
    status_name: str     # "OM_ERR_TIMEOUT"
    message: str
    def __init__(self, message: str = "", status: int | None = None) -> None: ...

class InvalidArgumentError(Error, ValueError): ...       # OM_ERR_INVALID_ARGUMENT, OM_ERR_MALFORMED
class NotFoundError(Error, LookupError): ...             # OM_ERR_NOT_FOUND
class TimeoutError(Error, builtins.TimeoutError): ...    # OM_ERR_TIMEOUT
class NotSupportedError(Error, NotImplementedError): ... # OM_ERR_NOT_SUPPORTED
class StateError(Error): ...                             # OM_ERR_STATE
class PluginError(Error): ...  # OM_ERR_PLUGIN, _PLUGIN_LOAD, _ABI_MISMATCH, _DUPLICATE
class PluginNotFoundError(PluginError, NotFoundError): ...  # a named plugin or method is missing
class TypeMismatchError(Error, TypeError): ...           # OM_ERR_TYPE_MISMATCH
class ClosedError(Error): ...                            # OM_ERR_CLOSED
class TooLargeError(Error, ValueError): ...              # OM_ERR_TOO_LARGE
class AuthError(Error, PermissionError): ...            # OM_ERR_AUTH
class RefusedError(Error, ConnectionRefusedError): ...  # OM_ERR_REFUSED
class UnreachableError(Error, ConnectionError): ...     # OM_ERR_UNREACHABLE
class WouldBlockError(Error, BlockingIOError): ...      # OM_ERR_WOULD_BLOCK

# --------------------------------------------------------------------------------------------
# Enums: members print as `NatType.Symmetric`, their values are the C constants and they
# compare equal to those ints (pybind11 enums, typed here as IntEnum).
# --------------------------------------------------------------------------------------------

class NatType(enum.IntEnum):
    Unknown = 0
    Open = 1
    FullCone = 2
    Restricted = 3
    PortRestricted = 4
    Symmetric = 5

class NatBehavior(enum.IntEnum):
    Unknown = 0
    EndpointIndependent = 1
    AddressDependent = 2
    AddressAndPortDependent = 3

class Transport(enum.IntEnum):
    NotConnected = 0
    P2P = 1
    ServerRelay = 2
    TurnRelay = 3

class Strategy(enum.IntEnum):
    NotSelected = 0
    DirectConnect = 1
    UdpHolePunch = 2
    TurnRelay = 3
    ServerRelay = 4

class PeerConnectionStatus(enum.IntEnum):
    Disconnected = 0
    Connecting = 1
    Connected = 2
    Failed = 3

class Delivery(enum.IntEnum):
    ReliableOrdered = 0
    ReliableUnordered = 1
    Unreliable = 2
    Sequenced = 3

class EventType(enum.IntEnum):
    Datagram = 1
    PeerConnected = 2
    PeerDisconnected = 3
    Message = 4
    Error = 5
    TransportOpened = 6
    TransportClosed = 7
    Connected = 8
    Disconnected = 9
    Reconnecting = 10
    PeerStateChanged = 11
    PeerWritable = 12        # a send that raised WouldBlockError may be tried again

class CandidateType(enum.IntEnum):
    Host = 0
    ServerReflexive = 1
    PeerReflexive = 2
    Relayed = 3

class LogLevel(enum.IntEnum):
    Trace = 0
    Debug = 1
    Info = 2
    Warning = 3
    Error = 4
    Off = 5

# --------------------------------------------------------------------------------------------
# Options (keyword arguments only; setting a field validates it)
# --------------------------------------------------------------------------------------------
class P2POptions:
    _fields: tuple[str, ...]
    prefer_p2p: bool
    fallback_to_relay: bool
    stun_server: str | None
    stun_port: int               # 1..65535
    turn_server: str | None
    turn_port: int               # 1..65535
    turn_username: str | None
    turn_password: str | None
    connection_timeout_ms: int   # >= 0
    nat_punch_retries: int       # >= 0
    nat_punch_interval_ms: int   # >= 0
    keep_alive_interval_ms: int  # >= 0
    disconnect_timeout_ms: int   # >= 0
    max_mtu: int                 # 68..65535
    enable_unreliable_delivery: bool
    enable_reliable_delivery: bool
    bind_address: str | None
    exclude_interfaces: list[str]  # set from a list of names or one str separated by ','
    identity_file: str | None    # PEM key + certificate, created (0600) when missing; None = new each time
    busy_poll_us: int            # 0..10000: polling without sleep after a wake-up; 0 = off
    def __init__(
        self,
        *,
        prefer_p2p: bool = True,
        fallback_to_relay: bool = True,
        stun_server: str | None = None,
        stun_port: int = 3478,
        turn_server: str | None = None,
        turn_port: int = 3478,
        turn_username: str | None = None,
        turn_password: str | None = None,
        connection_timeout_ms: int = 10000,
        nat_punch_retries: int = 10,
        nat_punch_interval_ms: int = 100,
        keep_alive_interval_ms: int = 15000,
        disconnect_timeout_ms: int = 30000,
        max_mtu: int = 1400,
        enable_unreliable_delivery: bool = True,
        enable_reliable_delivery: bool = True,
        bind_address: str | None = None,
        exclude_interfaces: str | Sequence[str] | None = None,
        identity_file: str | None = None,
        busy_poll_us: int = 0,
    ) -> None: ...
    def to_dict(self) -> dict[str, Any]: ...
    def __eq__(self, other: object) -> bool: ...

class P2PServerOptions:
    _fields: tuple[str, ...]
    stun_port: int               # 0..65535, 0 = embedded STUN off
    enable_turn_relay: bool
    turn_realm: str | None
    def __init__(self, *, stun_port: int = 3478, enable_turn_relay: bool = False,
                 turn_realm: str | None = None) -> None: ...
    def to_dict(self) -> dict[str, Any]: ...
    def __eq__(self, other: object) -> bool: ...

# --------------------------------------------------------------------------------------------
# Agent
# --------------------------------------------------------------------------------------------
class Event:
    @property
    def type(self) -> EventType: ...
    @property
    def peer_id(self) -> str | None: ...
    @property
    def address(self) -> str | None: ...
    @property
    def data(self) -> bytes: ...
    @property
    def status(self) -> int: ...
    @property
    def status_name(self) -> str: ...
    @property
    def message(self) -> str | None: ...
    @property
    def timestamp_us(self) -> int: ...
    @property
    def peer_status(self) -> PeerConnectionStatus: ...  # peer events: the state reached
    @property
    def transport(self) -> Transport: ...
    @property
    def strategy(self) -> Strategy: ...
    @property
    def delivery_mode(self) -> Delivery: ...
    @property
    def channel(self) -> int: ...  # messages: 0..255

DatagramCallback = Callable[[str, bytes], object]
EventCallback = Callable[[Event], object]
_D = TypeVar("_D", bound=DatagramCallback)
_E = TypeVar("_E", bound=EventCallback)

# Arguments and results of plugin_call: what msgpack carries.
MsgpackValue = Union[None, bool, int, float, str, bytes, list["MsgpackValue"],
                     tuple["MsgpackValue", ...], dict["MsgpackValue", "MsgpackValue"]]

class Agent:
    def __init__(
        self,
        *,
        server: str | None = None,
        agent_id: str | None = None,
        token: str | None = None,
        p2p: P2POptions | None = None,
        transport: str = "udp",
        plugins: Mapping[Literal["nat_discovery", "strategy", "turn", "delivery"], str] | None = None,
        plugin_options: Mapping[str, Mapping[str, str | int | float | bool]] | str | None = None,
        events: Literal["thread", "dispatch"] = "thread",
    ) -> None: ...
    def open_transport(self) -> None: ...
    def close_transport(self) -> None: ...
    @property
    def local_address(self) -> str: ...
    @property
    def mtu(self) -> int: ...
    @property
    def closed(self) -> bool: ...
    @property
    def events(self) -> Literal["thread", "dispatch"]: ...
    def send_datagram(self, address: str, data: Buffer) -> None: ...
    def dispatch(self, timeout_ms: int = 0) -> int: ...
    def on_datagram(self, callback: _D | None) -> _D | None: ...
    def on_event(self, callback: _E | None) -> _E | None: ...
    def counter(self, name: str) -> int: ...
    def counters(self) -> dict[str, int]: ...
    def plugin_call(self, plugin: str, method: str, *args: MsgpackValue) -> MsgpackValue: ...
    # Signaling and peers.
    def connect(self) -> None: ...
    def disconnect(self) -> None: ...
    def connect_to_peer(self, peer_id: str, transport: Transport | None = None) -> PeerConnectionState: ...
    def peer_state(self, peer_id: str) -> PeerConnectionState: ...
    def peer_pairs(self, peer_id: str) -> list[dict[str, Any]]: ...
    def nat_info(self, refresh: bool = False) -> NatInfo: ...
    # Over the peer's one encrypted QUIC connection, direct or relayed, on channel 0..255.
    # Reliable modes up to MAX_RELIABLE_MESSAGE bytes, Unreliable/Sequenced one datagram
    # (TooLargeError above); WouldBlockError when the send queue is full (on_peer_writable follows).
    def send_to_peer(self, peer_id: str, data: bytes | bytearray | memoryview,
                     mode: Delivery = Delivery.ReliableOrdered, channel: int = 0) -> None: ...
    def connect_async(self) -> Awaitable[None]: ...
    def disconnect_async(self) -> Awaitable[None]: ...
    def connect_to_peer_async(self, peer_id: str, transport: Transport | None = None) -> Awaitable[PeerConnectionState]: ...
    def send_to_peer_async(self, peer_id: str, data: bytes | bytearray | memoryview,
                           mode: Delivery = Delivery.ReliableOrdered, channel: int = 0) -> Awaitable[None]: ...
    # SHA-256 of this agent's certificate, "AB:CD:...:EF" (32 hex pairs); peers see it as
    # peer_state(...).remote_fingerprint.
    def fingerprint(self) -> str: ...
    # The form is chosen once, at registration, with inspect.signature: a callable taking four
    # positional parameters (or *args) gets (peer_id, data, channel, mode); one taking two gets
    # (peer_id, data). TypeError otherwise.
    def on_message(
        self, callback: Callable[[str, bytes], Any] | Callable[[str, bytes, int, Delivery], Any] | None) -> Any: ...
    def on_peer_writable(self, callback: Callable[[str], Any] | None) -> Any: ...
    def on_peer_connected(self, callback: Callable[[str], Any] | None) -> Any: ...
    def on_peer_disconnected(self, callback: Callable[[str, str | None], Any] | None) -> Any: ...
    def on_connected(self, callback: Callable[[], Any] | None) -> Any: ...
    def on_disconnected(self, callback: Callable[[str | None], Any] | None) -> Any: ...
    def on_reconnecting(self, callback: Callable[[str | None], Any] | None) -> Any: ...
    def on_state_changed(
        self, callback: Callable[[str, PeerConnectionStatus, Transport, Strategy], Any] | None) -> Any: ...
    # Runs on the loop thread; returns True to accept, False or (False, reason) to refuse.
    def on_connect_request(
        self, callback: Callable[[str, NatType], bool | tuple[bool, str | None]] | None) -> Any: ...
    def close(self) -> None: ...
    def __enter__(self) -> Agent: ...
    def __exit__(self, *exc_info: object) -> None: ...


class ConnectionMetrics:
    @property
    def round_trip_time_ms(self) -> float: ...
    @property
    def rtt_ms(self) -> float: ...
    @property
    def bytes_sent(self) -> int: ...
    @property
    def bytes_received(self) -> int: ...
    @property
    def messages_sent(self) -> int: ...
    @property
    def messages_received(self) -> int: ...
    @property
    def packet_loss_rate(self) -> float: ...
    # Added in 0.4: the QUIC session above the path (0 / None before it exists).
    @property
    def rtt_var_ms(self) -> float: ...
    @property
    def min_rtt_ms(self) -> float: ...
    @property
    def cwnd(self) -> int: ...
    @property
    def bytes_in_flight(self) -> int: ...
    @property
    def packets_sent(self) -> int: ...
    @property
    def packets_received(self) -> int: ...
    @property
    def packets_lost(self) -> int: ...
    @property
    def retransmits(self) -> int: ...
    @property
    def send_queue_bytes(self) -> int: ...
    @property
    def congestion_control(self) -> str | None: ...  # "cubic", "reno", "bbr", "bbr2"
    @property
    def cipher_suite(self) -> str | None: ...        # TLS 1.3 suite, e.g. "TLS_AES_128_GCM_SHA256"
    @property
    def local_fingerprint(self) -> str | None: ...
    @property
    def remote_fingerprint(self) -> str | None: ...

class NatInfo:
    @property
    def nat_type(self) -> NatType: ...
    @property
    def mapping(self) -> NatBehavior: ...
    @property
    def filtering(self) -> NatBehavior: ...
    @property
    def mapped_address(self) -> str | None: ...
    @property
    def local_address(self) -> str | None: ...
    @property
    def hairpin(self) -> bool | None: ...
    @property
    def server_ips_used(self) -> int: ...
    @property
    def stun_server(self) -> str | None: ...
    @property
    def duration_ms(self) -> float: ...
    def to_dict(self) -> dict[str, object]: ...

class PeerConnectionState:
    @property
    def peer_id(self) -> str: ...
    @property
    def status(self) -> PeerConnectionStatus: ...
    @property
    def active_transport(self) -> Transport: ...
    @property
    def strategy(self) -> Strategy: ...
    @property
    def local_candidate(self) -> str | None: ...
    @property
    def remote_candidate(self) -> str | None: ...
    @property
    def local_nat_info(self) -> NatType: ...
    @property
    def local_nat(self) -> NatType: ...
    @property
    def remote_nat(self) -> NatType: ...
    @property
    def connect_ms(self) -> float: ...
    @property
    def diagnosis(self) -> str | None: ...
    @property
    def metrics(self) -> ConnectionMetrics: ...
    @property
    def is_connected(self) -> bool: ...
    @property
    def planned_strategy(self) -> Strategy: ...
    @property
    def pairs_checked(self) -> int: ...
    @property
    def checks_sent(self) -> int: ...
    @property
    def checks_received(self) -> int: ...
    @property
    def last_heard_ms(self) -> float: ...
    @property
    def cipher_suite(self) -> str | None: ...
    @property
    def congestion_control(self) -> str | None: ...
    @property
    def local_fingerprint(self) -> str | None: ...   # == Agent.fingerprint()
    @property
    def remote_fingerprint(self) -> str | None: ...  # == the peer's Agent.fingerprint()

class IceCandidate:
    # Only the factories and parse() make candidates; values are immutable and hashable.
    @staticmethod
    def create_host(address: str, port: int) -> IceCandidate: ...
    @staticmethod
    def create_server_reflexive(public_address: str, public_port: int, local_address: str,
                                local_port: int) -> IceCandidate: ...
    @staticmethod
    def create_relayed(relayed_address: str, relayed_port: int, relay_server: str) -> IceCandidate: ...
    @staticmethod
    def parse(text: str) -> IceCandidate: ...
    @property
    def type(self) -> CandidateType: ...
    @property
    def type_name(self) -> str: ...  # "host", "srflx", "prflx", "relay"
    @property
    def address(self) -> str: ...
    @property
    def port(self) -> int: ...
    @property
    def transport_address(self) -> str: ...  # "ip:port", "[ipv6]:port"
    @property
    def related_address(self) -> str | None: ...
    @property
    def related_port(self) -> int | None: ...
    @property
    def relay_server(self) -> str | None: ...
    @property
    def priority(self) -> int: ...
    @property
    def foundation(self) -> str: ...
    @property
    def component(self) -> int: ...
    def __str__(self) -> str: ...  # RFC 8839 candidate text
    def __eq__(self, other: object) -> bool: ...
    def __hash__(self) -> int: ...

Candidate = IceCandidate

class Server:
    def __init__(self, *, http_port: int = 8080, stun_port: int = 3478, bind: str = "127.0.0.1",
                 open: bool | None = None, enable_turn_relay: bool = False, secret: str | None = None,
                 turn_realm: str | None = None, turn_users: str | None = None,
                 turn_secret: str | None = None, turn_min_port: int = 49152,
                 turn_max_port: int = 65535, turn_allow_loopback_peers: bool = False,
                 stun_alt_address: str | None = None, stun_alt_port: int = 0,
                 redis_url: str | None = None, replace_existing_id: bool = False,
                 max_frame_bytes: int | None = None, relay_bytes_per_s: int | None = None,
                 send_queue_bytes: int | None = None, reactor_threads: int = 0,
                 stun_rate_limit: int = 100, stun_threads: int = 0,
                 turn_max_allocations: int = 10000, turn_user_quota: int = 100,
                 turn_bytes_per_s: int = 0, turn_credential_ttl_s: int = 86400,
                 turn_address: str | None = None) -> None: ...
    def start(self) -> None: ...
    def stop(self) -> None: ...
    def close(self) -> None: ...
    @property
    def http_port(self) -> int: ...
    @property
    def url(self) -> str: ...
    @property
    def running(self) -> bool: ...
    def counter(self, name: str) -> int: ...
    def metrics(self) -> str: ...
    @property
    def stun_ports(self) -> tuple[int, int]: ...
    def __enter__(self) -> Server: ...
    def __exit__(self, *exc: object) -> None: ...
