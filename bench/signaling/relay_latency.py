#!/usr/bin/python3
"""Forward latency of orbitmesh-server's relay: IDLE registered idle agents, then agent a sends
relay messages to agent b at RATE msgs/s for SECONDS; each carries its send time, b measures the
one-way time through the server (same host, same clock). Prints p50/p99/max.

usage: relay_latency.py SERVER_BINARY [RATE=2000] [SECONDS=5] [IDLE=0]
Only 127.0.0.1. The client is Python: its own overhead is part of the figure (an upper bound)."""
import os, re, resource, select, signal, struct, subprocess, sys, time

sys.path.insert(0, os.path.dirname(__file__))
from idle_rss import connect, msgpack_str  # noqa: E402

def relay_frame(to, seq, sent_ns):
    data = b"TS" + struct.pack(">Q", sent_ns) + b"\0" * 6
    body = bytes([0x86]) + msgpack_str("v") + b"\x01" + msgpack_str("t") + msgpack_str("relay") \
        + msgpack_str("to") + msgpack_str(to) + msgpack_str("seq") + b"\xcf" + struct.pack(">Q", seq) \
        + msgpack_str("mode") + b"\x00" + msgpack_str("data") + b"\xc4\x10" + data
    mask = os.urandom(4)
    return bytes([0x82, 0x80 | len(body)]) + mask + bytes(c ^ mask[i % 4] for i, c in enumerate(body))

def main():
    binary = sys.argv[1]
    rate = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 5
    idle = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    resource.setrlimit(resource.RLIMIT_NOFILE, (idle + 1024, idle + 1024))
    server = subprocess.Popen([binary, "--open", "--bind", "127.0.0.1", "--http-port", "0", "--stun-port", "0"],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        port = int(re.search(r":(\d+)$", server.stdout.readline().strip()).group(1))
        idlers = [connect(port, f"idle{i}") for i in range(idle)]
        a, b = connect(port, "a"), connect(port, "b")
        b.setblocking(False)
        poller = select.poll()  # select() cannot watch descriptors above 1023
        poller.register(b, select.POLLIN)
        latencies, buf = [], b""
        total = int(rate * seconds)
        start = time.perf_counter()
        sent = 0
        while len(latencies) < total and time.perf_counter() - start < seconds + 5:
            due = min(total, int((time.perf_counter() - start) * rate))
            while sent < due:
                a.sendall(relay_frame("b", sent, time.perf_counter_ns()))
                sent += 1
            if poller.poll(0.5):
                buf += b.recv(1 << 20)
                now = time.perf_counter_ns()
                while True:
                    i = buf.find(b"\xc4\x10TS")
                    if i < 0 or len(buf) < i + 12:
                        break
                    latencies.append((now - struct.unpack(">Q", buf[i + 4:i + 12])[0]) / 1e6)
                    buf = buf[i + 12:]
        latencies.sort()
        pct = lambda p: latencies[min(len(latencies) - 1, int(p * len(latencies)))]
        print(f"rate={rate}/s seconds={seconds} idle_agents={idle} received={len(latencies)}/{total} "
              f"p50_ms={pct(0.50):.3f} p99_ms={pct(0.99):.3f} max_ms={latencies[-1]:.3f}")
        for s in idlers + [a, b]:
            s.close()
    finally:
        server.send_signal(signal.SIGTERM)
        print("server exit code", server.wait(timeout=20))

if __name__ == "__main__":
    main()
