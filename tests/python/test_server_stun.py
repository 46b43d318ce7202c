"""orbitmesh.Server's embedded STUN server from Python: free ports with -1, stun_ports, a real
Binding exchange on 127.0.0.1 (RFC 8489 §5 header, XOR-MAPPED-ADDRESS §14.2), the new keyword
arguments, and STUN off with stun_port=0."""
import os
import socket
import struct

import pytest

import orbitmesh
from conftest import LOOPBACK, WAIT_S

MAGIC = 0x2112A442


def binding(port):
    """Sends one Binding request to 127.0.0.1:port; returns (our address, the answer)."""
    transaction = os.urandom(12)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((LOOPBACK, 0))
        s.settimeout(WAIT_S)
        s.sendto(struct.pack("!HHI", 0x0001, 0, MAGIC) + transaction, (LOOPBACK, port))
        answer = s.recv(1500)
        return s.getsockname(), transaction, answer


def attributes(message):
    out, offset = {}, 20
    while offset + 4 <= len(message):
        kind, length = struct.unpack_from("!HH", message, offset)
        out.setdefault(kind, message[offset + 4:offset + 4 + length])
        offset += 4 + (length + 3) // 4 * 4
    return out


def xor_mapped(value):
    family, xport = struct.unpack_from("!xBH", value)
    assert family == 1
    ip = struct.unpack("!I", value[4:8])[0] ^ MAGIC
    return socket.inet_ntoa(struct.pack("!I", ip)), xport ^ (MAGIC >> 16)


def test_free_ports_and_a_binding_exchange():
    with orbitmesh.Server(http_port=0, stun_port=-1, stun_alt_port=-1, bind=LOOPBACK, stun_rate_limit=0,
                          stun_threads=1) as server:
        port, alt_port = server.stun_ports
        assert port > 0 and alt_port > 0 and port != alt_port
        local, transaction, answer = binding(port)
        kind, _, cookie = struct.unpack_from("!HHI", answer)
        assert (kind, cookie, answer[8:20]) == (0x0101, MAGIC, transaction)
        attrs = attributes(answer)
        assert xor_mapped(attrs[0x0020]) == local
        assert 0x802C in attrs  # OTHER-ADDRESS: the alternate port exists
        assert server.counter("stun.requests") == 1
        assert "orbitmesh_stun_responses_total 1" in server.metrics()


def test_stun_off():
    with orbitmesh.Server(http_port=0, stun_port=0, bind=LOOPBACK) as server:
        assert server.stun_ports == (0, 0)


def test_stun_ports_needs_a_running_server():
    server = orbitmesh.Server(http_port=0, stun_port=-1, bind=LOOPBACK)
    with pytest.raises(orbitmesh.Error):
        server.stun_ports
    server.close()


@pytest.mark.parametrize("kwargs", [{"stun_rate_limit": -1}, {"stun_threads": 65}, {"stun_port": -2},
                                    {"stun_alt_address": "nowhere"}])
def test_bad_stun_options_are_refused(kwargs):
    with pytest.raises(orbitmesh.Error):
        orbitmesh.Server(**{"http_port": 0, "stun_port": -1, "bind": LOOPBACK, **kwargs})
