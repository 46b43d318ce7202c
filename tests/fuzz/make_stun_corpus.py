#!/usr/bin/python3
"""Writes the STUN fuzz seed corpus into corpus/stun/ (run from anywhere; the files are in git).

Each seed is one datagram, named for what it covers: the RFC 5769 vectors, RFC 3489 classic
messages, RFC 5780 behaviour discovery, TURN shapes, integrity and FINGERPRINT placements, and
edge cases (ignored attributes, non-zero padding, 32 attributes, malformed values)."""
import hashlib
import hmac
import os
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus", "stun")
COOKIE = 0x2112A442
TID = bytes(range(1, 13))
KEY = b"fuzz-key"  # the key stun_fuzz.cpp verifies with


def tlv(kind, value, pad=b"\0"):
    return struct.pack("!HH", kind, len(value)) + value + pad * (-len(value) % 4)


def header(msg_type, body_len, cookie=COOKIE, tid=TID):
    return struct.pack("!HHI", msg_type, body_len, cookie) + tid


def message(msg_type, attrs, cookie=COOKIE, tid=TID, mi=False, mi256=False, fp=False):
    body = b"".join(attrs)
    if mi:  # RFC 8489 §14.5: length counts MESSAGE-INTEGRITY when the HMAC is taken
        prefix = header(msg_type, len(body) + 24, cookie, tid) + body
        body += tlv(0x0008, hmac.new(KEY, prefix, hashlib.sha1).digest())
    if mi256:  # §14.6
        prefix = header(msg_type, len(body) + 36, cookie, tid) + body
        body += tlv(0x001C, hmac.new(KEY, prefix, hashlib.sha256).digest())
    if fp:  # §14.7
        prefix = header(msg_type, len(body) + 8, cookie, tid) + body
        body += tlv(0x8028, struct.pack("!I", (zlib.crc32(prefix) ^ 0x5354554E) & 0xFFFFFFFF))
    return header(msg_type, len(body), cookie, tid) + body


def v4(ip, port, xor=False, tid=TID):
    a = bytes(int(x) for x in ip.split("."))
    if xor:
        port ^= COOKIE >> 16
        a = bytes(x ^ y for x, y in zip(a, struct.pack("!I", COOKIE)))
    return struct.pack("!BBH", 0, 1, port) + a


def v6(addr16, port, xor=False, tid=TID):
    if xor:
        port ^= COOKIE >> 16
        addr16 = bytes(x ^ y for x, y in zip(addr16, struct.pack("!I", COOKIE) + tid))
    return struct.pack("!BBH", 0, 2, port) + addr16


def hexbytes(s):
    return bytes.fromhex("".join(s.split()))


SEEDS = {
    # RFC 5769 §2.1-§2.4, verbatim.
    "rfc5769-2.1-request": hexbytes("""00 01 00 58 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
        80 22 00 10 53 54 55 4e 20 74 65 73 74 20 63 6c 69 65 6e 74 00 24 00 04 6e 00 01 ff
        80 29 00 08 93 2f f9 b1 51 26 3b 36 00 06 00 09 65 76 74 6a 3a 68 36 76 59 20 20 20
        00 08 00 14 9a ea a7 0c bf d8 cb 56 78 1e f2 b5 b2 d3 f2 49 c1 b5 71 a2 80 28 00 04 e5 7a 3b cf"""),
    "rfc5769-2.2-ipv4-response": hexbytes("""01 01 00 3c 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
        80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20 00 20 00 08 00 01 a1 47 e1 12 a6 43
        00 08 00 14 2b 91 f5 99 fd 9e 90 c3 8c 74 89 f9 2a f9 ba 53 f0 6b e7 d7 80 28 00 04 c0 7d 4c 96"""),
    "rfc5769-2.3-ipv6-response": hexbytes("""01 01 00 48 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
        80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20
        00 20 00 14 00 02 a1 47 01 13 a9 fa a5 d3 f1 79 bc 25 f4 b5 be d2 b9 d9
        00 08 00 14 a3 82 95 4e 4b e6 7b f1 17 84 c9 7c 82 92 c2 75 bf e3 ed 41 80 28 00 04 c8 fb 0b 4c"""),
    "rfc5769-2.4-long-term-request": hexbytes("""00 01 00 60 21 12 a4 42 78 ad 34 33 c6 ad 72 c0 29 da 41 2e
        00 06 00 12 e3 83 9e e3 83 88 e3 83 aa e3 83 83 e3 82 af e3 82 b9 00 00
        00 15 00 1c 66 2f 2f 34 39 39 6b 39 35 34 64 36 4f 4c 33 34 6f 4c 39 46 53 54 76 79 36 34 73 41
        00 14 00 0b 65 78 61 6d 70 6c 65 2e 6f 72 67 00
        00 08 00 14 f6 70 24 65 6d d6 4a 3e 02 b8 e0 71 2e 85 c9 a2 8c a8 96 66"""),
    # RFC 3489: no cookie, 128-bit id.
    "classic-binding-request": message(0x0001, [], cookie=0xA1B2C3D4),
    "classic-change-request": message(0x0001, [tlv(0x0003, struct.pack("!I", 6))], cookie=0xA1B2C3D4),
    "classic-binding-response": message(0x0101, [tlv(0x0001, v4("198.51.100.7", 40000)),
                                                 tlv(0x0004, v4("192.0.2.10", 3478)),
                                                 tlv(0x0005, v4("192.0.2.11", 3479))], cookie=0xA1B2C3D4),
    "classic-error-response": message(0x0111, [tlv(0x0009, b"\0\0\x04\x00Bad Request")], cookie=0x01020304),
    # RFC 8489 / RFC 5780.
    "binding-request-empty": message(0x0001, []),
    "binding-request-fingerprint": message(0x0001, [tlv(0x8022, b"orbitmesh")], fp=True),
    "binding-indication": message(0x0011, [], fp=True),
    "rfc5780-change-request": message(0x0001, [tlv(0x0003, struct.pack("!I", 4)), tlv(0x0027, struct.pack("!HH", 3479, 0)),
                                               tlv(0x0026, bytes(12))], fp=True),
    "rfc5780-response": message(0x0101, [tlv(0x0020, v4("203.0.113.5", 61000, xor=True)),
                                         tlv(0x0001, v4("203.0.113.5", 61000)),
                                         tlv(0x802B, v4("192.0.2.10", 3478)),
                                         tlv(0x802C, v4("192.0.2.11", 3479)),
                                         tlv(0x8022, b"orbitmesh-server")], fp=True),
    "binding-response-ipv6": message(0x0101, [tlv(0x0020, v6(bytes.fromhex("20010db8000000000000000000000001"), 3478, xor=True)),
                                              tlv(0x802C, v6(bytes(15) + b"\1", 3479))], fp=True),
    "error-420-unknown": message(0x0111, [tlv(0x0009, b"\0\0\x04\x14Unknown Attribute"),
                                          tlv(0x000A, struct.pack("!HHH", 0x0002, 0x7001, 0x0024))], fp=True),
    "error-401-realm-nonce": message(0x0111, [tlv(0x0009, b"\0\0\x04\x01Unauthorized"), tlv(0x0014, b"example.org"),
                                              tlv(0x0015, b"obMatJos2AAACf//499k954d6OL34oL9FSTvy64sA"),
                                              tlv(0x8002, struct.pack("!HHHH", 2, 0, 1, 0))], fp=True),
    "integrity-sha1-sha256-fingerprint": message(0x0001, [tlv(0x0006, b"user"), tlv(0x0014, b"realm")],
                                                 mi=True, mi256=True, fp=True),
    "integrity-sha256-only": message(0x0001, [tlv(0x001E, bytes(32)), tlv(0x001D, struct.pack("!HH", 2, 0))], mi256=True),
    "attributes-after-integrity": message(0x0001, [tlv(0x0006, b"u"), tlv(0x0008, bytes(20)), tlv(0x8022, b"ignored"),
                                                   tlv(0x0024, bytes(4))]),
    "nonzero-padding": message(0x0001, [tlv(0x8022, b"abc", pad=b"\xAA"), tlv(0x0006, b"evtj:h6vY", pad=b" ")], fp=True),
    "thirty-two-attributes": message(0x0001, [tlv(0x8022, bytes([65 + i])) for i in range(31)], fp=True),
    # TURN shapes (RFC 8656).
    "turn-allocate-request": message(0x0003, [tlv(0x0019, struct.pack("!I", 17 << 24)), tlv(0x000D, struct.pack("!I", 600)),
                                              tlv(0x0006, b"user"), tlv(0x0014, b"example.org"), tlv(0x0015, b"nonce")],
                                     mi=True, fp=True),
    "turn-send-indication": message(0x0016, [tlv(0x0012, v4("192.0.2.99", 5000, xor=True)), tlv(0x0013, b"hello world")]),
    "turn-data-indication": message(0x0017, [tlv(0x0012, v4("198.51.100.20", 6000, xor=True)), tlv(0x0013, b"payload")], fp=True),
    "turn-allocate-success": message(0x0103, [tlv(0x0016, v4("203.0.113.1", 50000, xor=True)),
                                              tlv(0x000D, struct.pack("!I", 600)),
                                              tlv(0x0020, v4("198.51.100.7", 40000, xor=True))], mi=True, fp=True),
    "turn-channel-bind": message(0x0009, [tlv(0x000C, struct.pack("!I", 0x4001 << 16)),
                                          tlv(0x0012, v4("198.51.100.20", 6000, xor=True)),
                                          tlv(0x0006, b"1700000000:agent"), tlv(0x0014, b"orbitmesh"),
                                          tlv(0x0015, b"0000000065000000" + b"ab" * 12)], mi=True, fp=True),
    "turn-create-permission-two-peers": message(0x0008, [tlv(0x0012, v4("198.51.100.20", 0, xor=True)),
                                                         tlv(0x0012, v6(bytes.fromhex("20010db8000000000000000000000009"), 0, xor=True))],
                                                mi=True),
    "turn-refresh-zero": message(0x0004, [tlv(0x000D, struct.pack("!I", 0))], mi=True, fp=True),
    "turn-channel-data": struct.pack("!HH", 0x4000, 5) + b"hello",
    "turn-channel-data-legacy-padded": struct.pack("!HH", 0x7ffe, 3) + b"abc\0",
    "turn-channel-data-short": struct.pack("!HH", 0x4abc, 200) + b"x" * 10,
    "turn-password-algorithms": message(0x0003, [tlv(0x8002, struct.pack("!HHHH", 1, 0, 2, 0)),
                                                 tlv(0x001D, struct.pack("!HH", 2, 0)),
                                                 tlv(0x0006, b"1893456000:alice")], mi256=True),
    "ice-connectivity-check": message(0x0001, [tlv(0x0024, struct.pack("!I", 0x6E0001FF)), tlv(0x0025, b""),
                                               tlv(0x802A, bytes(range(8)))], mi=True, fp=True),
    # Malformed values inside well-framed messages.
    "bad-values": message(0x0101, [tlv(0x0001, b"\0\3\0\1\1\2\3\4"), tlv(0x0020, b"\0\1\0\1\1\2\3\4\5\6\7\x08"),
                                   tlv(0x0009, b"\0\0\x07\x63"), tlv(0x8022, b"\xc0\x80\xed\xa0\x80"),
                                   tlv(0x000A, b"\0\1\0"), tlv(0x0027, b"\0\1")]),
}


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
    print(f"wrote {len(SEEDS)} seeds to {OUT}")


if __name__ == "__main__":
    main()
