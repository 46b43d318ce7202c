#!/usr/bin/python3
"""Idle-agent memory of orbitmesh-server: starts it (--open, 127.0.0.1, free port), registers N
agents over WebSocket (stdlib sockets, hand-masked frames, hand-encoded msgpack), and prints the
server's RSS growth per registered idle agent.

usage: idle_rss.py SERVER_BINARY [N=10000]
Only 127.0.0.1. Raises RLIMIT_NOFILE for itself; the server gets the same limit."""
import base64, os, re, resource, signal, socket, subprocess, sys, time

def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))

def msgpack_str(s):
    b = s.encode()
    return bytes([0xa0 | len(b)]) + b if len(b) < 32 else bytes([0xd9, len(b)]) + b

def register_frame(agent_id):
    body = bytes([0x83]) + msgpack_str("v") + b"\x01" + msgpack_str("t") + msgpack_str("register") \
        + msgpack_str("id") + msgpack_str(agent_id)
    mask = os.urandom(4)
    return bytes([0x82, 0x80 | len(body)]) + mask + bytes(c ^ mask[i % 4] for i, c in enumerate(body))

def connect(port, agent_id):
    s = socket.create_connection(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall(f"GET /v1/signal HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode())
    got = b""
    while b"\r\n\r\n" not in got:
        got += s.recv(4096)
    s.sendall(register_frame(agent_id))
    s.settimeout(10)
    if b"registered" not in s.recv(4096):
        raise SystemExit(f"{agent_id}: not registered")
    return s

def main():
    binary = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
    resource.setrlimit(resource.RLIMIT_NOFILE, (n + 1024, n + 1024))
    server = subprocess.Popen([binary, "--open", "--bind", "127.0.0.1", "--http-port", "0", "--stun-port", "0"],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        port = int(re.search(r":(\d+)$", server.stdout.readline().strip()).group(1))
        warm = [connect(port, f"warm{i}") for i in range(50)]  # threads, pools and allocator warmed up
        time.sleep(0.5)
        before = rss_kib(server.pid)
        socks = [connect(port, f"agent{i}") for i in range(n)]
        time.sleep(1.0)
        after = rss_kib(server.pid)
        print(f"agents={n} rss_before_kib={before} rss_after_kib={after} "
              f"kib_per_idle_agent={(after - before) / n:.2f}")
        for s in socks + warm:
            s.close()
    finally:
        server.send_signal(signal.SIGTERM)
        print("server exit code", server.wait(timeout=20))

if __name__ == "__main__":
    main()
