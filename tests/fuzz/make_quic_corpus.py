#!/usr/bin/python3
"""Writes the delivery-quic fuzz seeds (run from anywhere; the files are in git).

corpus/quic_framing/: byte 0 is the split point, the rest a stream (mode, channel, varint-prefixed
messages) or a datagram (mode, channel, [varint sequence], payload), valid and malformed.
corpus/quic_session/: hand-made datagrams in the target's input types, plus, when the replay
binary is given (build-dir/tests/fuzz/om_quic_session_fuzz_replay), the client packets of a real
handshake captured by it (OM_QUIC_FUZZ_CAPTURE)."""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def varint(v, size=None):
    size = size or (1 if v < 64 else 2 if v < 1 << 14 else 4 if v < 1 << 30 else 8)
    bits = {1: 0, 2: 0x40, 4: 0x80, 8: 0xC0}[size]
    b = bytearray(v.to_bytes(size, "big"))
    b[0] |= bits
    return bytes(b)


def stream(mode, ch, *msgs):
    return bytes([mode, ch]) + b"".join(varint(len(m)) + m for m in msgs)


FRAMING = {
    "ordered-one": b"\x80" + stream(0, 0, b"hello"),
    "ordered-many": b"\x40" + stream(0, 255, b"", b"a", bytes(63), bytes(64), bytes(300)),
    "unordered-one": b"\xff" + stream(1, 9, b"x" * 20),
    "nonminimal-prefix": b"\x10" + bytes([0, 3]) + varint(3, 8) + b"abc" + varint(2, 4) + b"de",
    "too-long": b"\x80" + bytes([0, 1]) + varint(16 * 1024 * 1024 + 1, 4),
    "max-length-cut": b"\x80" + bytes([0, 1]) + varint(16 * 1024 * 1024, 4) + b"partial",
    "huge-varint": b"\x80" + bytes([0, 1]) + b"\xff" * 8,
    "bad-mode": b"\x80" + bytes([7, 0]) + varint(1) + b"z",
    "cut-prefix": b"\x80" + bytes([0, 0, 0x80, 0x00]),
    "datagram-unreliable": b"\x00" + bytes([2, 4]) + b"payload",
    "datagram-sequenced": b"\x00" + bytes([3, 200]) + varint(1234567, 4) + b"p",
    "datagram-sequenced-cut": b"\x00" + bytes([3, 1, 0xC0, 1]),
    "probe-stream": b"\x80" + bytes([0xF0, 0]) + bytes(5),
}

SESSION = {
    "raw-empty-and-short": b"\x00" + b"\x00\x00" + b"\x00\x01\x40",
    "raw-long-header-garbage": b"\x03" + b"\xc3\x00\x00\x00\x01\x08" + bytes(8) + b"\x08" + bytes(8) + bytes(40),
    "raw-short-header": b"\x03" + b"\x40" + bytes(20) + b"\x11" * 40,
    "raw-version-negotiation": b"\x03" + b"\x80\x00\x00\x00\x00\x08" + bytes(8) + b"\x08" + bytes(8) + b"\xff\x00\x00\x1d",
    "mutate-initial": b"\x01\x00" + b"\x00\x05\x01\x00\x30\xff",
    "mutate-1rtt": b"\x01\x07" + b"\x00\x00\x40\x00\x01\x01",
    "coalesce-1rtt": b"\x02\x06\x80" + b"\x40" + bytes(30),
    "replay-path-2": b"\x06\x05\xff",
}


def write(dirname, seeds):
    out = os.path.join(HERE, "corpus", dirname)
    os.makedirs(out, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
    print(f"wrote {len(seeds)} seeds to {out}")
    return out


def main():
    write("quic_framing", FRAMING)
    out = write("quic_session", SESSION)
    if len(sys.argv) > 1:
        env = dict(os.environ, OM_QUIC_FUZZ_CAPTURE=out)
        subprocess.run([sys.argv[1], os.path.join(out, "raw-empty-and-short")], env=env, check=True)


if __name__ == "__main__":
    main()
