#!/usr/bin/python3
"""Writes the TURN relay fuzz seeds into corpus/turn_relay/ (the files are in git). Each seed is a
run of records [kind][length16][bytes] as tests/fuzz/turn_relay_fuzz.cpp reads them: an
authenticated Allocate, permissions and channel bindings, ChannelData and Send indications to a
loopback peer, a Refresh that deletes, and raw malformed datagrams."""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus", "turn_relay")
COOKIE = 0x2112A442
PEER = ("127.0.0.1", 45999)


def record(kind, payload):
    return struct.pack("!BH", kind, len(payload)) + payload


def tlv(kind, value):
    return struct.pack("!HH", kind, len(value)) + value + b"\0" * (-len(value) % 4)


def xor_peer(ip, port):
    raw = bytes(int(x) for x in ip.split("."))
    addr = bytes(a ^ b for a, b in zip(raw, struct.pack("!I", COOKIE)))
    return tlv(0x0012, struct.pack("!BBH", 0, 1, port ^ (COOKIE >> 16)) + addr)


def authenticated(method_byte, *attrs):
    return record(1, bytes([method_byte]) + b"".join(attrs))


def send_indication(data):
    body = xor_peer(*PEER) + tlv(0x0013, data)
    return record(0, struct.pack("!HHI", 0x0016, len(body), COOKIE) + bytes(12) + body)


ALLOCATE = authenticated(0, tlv(0x0019, struct.pack("!I", 17 << 24)), tlv(0x000D, struct.pack("!I", 600)))
PERMIT = authenticated(2, xor_peer(*PEER))
BIND = authenticated(3, tlv(0x000C, struct.pack("!I", 0x4000 << 16)), xor_peer(*PEER))
SEEDS = {
    "allocate": ALLOCATE,
    "allocate-permit-send": ALLOCATE + PERMIT + send_indication(b"hello peer"),
    "allocate-bind-channel-data": ALLOCATE + BIND + record(2, b"over the channel"),
    "allocate-refresh-delete": ALLOCATE + authenticated(1, tlv(0x000D, struct.pack("!I", 0))),
    "two-clients-quota": ALLOCATE + record(1 | 4, ALLOCATE[3:]) + record(1 | 8, ALLOCATE[3:]),
    "even-port-family": authenticated(0, tlv(0x0019, struct.pack("!I", 17 << 24)), tlv(0x0017, b"\x02\0\0\0"),
                                      tlv(0x0018, b"\x80")),
    "channel-conflict": ALLOCATE + BIND + authenticated(3, tlv(0x000C, struct.pack("!I", 0x4001 << 16)), xor_peer(*PEER)),
    "unknown-attribute": authenticated(0, tlv(0x0019, struct.pack("!I", 17 << 24)), tlv(0x001A, b"")),
    "raw-garbage": record(0, b"\x00\x03\x00\x04\x21\x12\xa4\x42" + bytes(12) + b"\x00\x19\x00\x04"),
    "channel-data-without-allocation": record(2, b"x" * 40),
}


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
    print(f"wrote {len(SEEDS)} seeds to {OUT}")


if __name__ == "__main__":
    main()
