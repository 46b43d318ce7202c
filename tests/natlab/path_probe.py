"""A tiny probe of the lab's paths, run inside its namespaces (UDP by default, TCP with --tcp;
IPv6 when IP is an IPv6 address, printed as "[ip]:port").

    path_probe.py echo IP PORT [--tcp] [--count N] [--seconds S]
        answers each datagram (or connection) with the "ip:port" it came from, i.e. what the
        NAT made of it; stops after N of them or S seconds (bounded either way)
    path_probe.py ask IP PORT [--tcp] [--timeout S] [--from-port P]
        sends one datagram (or connects) and prints the answer; exit 1 when none comes within S
    path_probe.py punch PEER_IP PEER_PORT --port P [--seconds S]
        UDP hole punching from local port P: sends to the peer every 50 ms until a datagram
        from the peer arrives, keeps sending for a moment more so the peer hears it too, prints
        "ip:port" it came from; exit 1 when nothing came within S seconds
"""
import argparse
import socket
import sys
import time


def _is_ipv6(ip):
    return ":" in ip


def _socket(tcp, ip="0.0.0.0"):
    family = socket.AF_INET6 if _is_ipv6(ip) else socket.AF_INET
    return socket.socket(family, socket.SOCK_STREAM if tcp else socket.SOCK_DGRAM)


def _endpoint(address):
    """ "ip:port" of a socket address ("[ip]:port" for IPv6)."""
    ip, port = address[:2]
    return f"[{ip}]:{port}" if _is_ipv6(ip) else f"{ip}:{port}"


def echo(args):
    with _socket(args.tcp, args.ip) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((args.ip, args.port))
        if args.tcp:
            sock.listen(args.count)
        print("ready", flush=True)
        deadline = time.monotonic() + args.seconds
        for _ in range(args.count):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            sock.settimeout(remaining)
            try:
                if args.tcp:
                    conn, source = sock.accept()
                    with conn:
                        conn.sendall(_endpoint(source).encode())
                else:
                    _, source = sock.recvfrom(2048)
                    sock.sendto(_endpoint(source).encode(), source)
            except socket.timeout:
                break
    return 0


def ask(args):
    with _socket(args.tcp, args.ip) as sock:
        sock.bind(("::" if _is_ipv6(args.ip) else "0.0.0.0", args.from_port))
        sock.settimeout(args.timeout)
        try:
            if args.tcp:
                sock.connect((args.ip, args.port))
                data = sock.recv(2048)
            else:
                sock.sendto(b"probe", (args.ip, args.port))
                data, _ = sock.recvfrom(2048)
        except OSError as e:   # socket.timeout is an OSError
            print(f"no answer: {e}", file=sys.stderr)
            return 1
        print(data.decode())
    return 0


PUNCH_INTERVAL_S = 0.05
PUNCH_LINGER_S = 0.5


def punch(args):
    with _socket(False) as sock:
        sock.bind(("0.0.0.0", args.port))
        deadline = time.monotonic() + args.seconds
        heard, linger_until = None, None
        while time.monotonic() < (linger_until or deadline):
            sock.sendto(b"punch", (args.ip, args.peer_port))
            sock.settimeout(PUNCH_INTERVAL_S)
            try:
                _, source = sock.recvfrom(2048)
            except socket.timeout:
                continue
            if source[0] == args.ip and heard is None:
                heard = source
                linger_until = min(deadline, time.monotonic() + PUNCH_LINGER_S)
    if heard is None:
        print("nothing from the peer", file=sys.stderr)
        return 1
    print(f"{heard[0]}:{heard[1]}")
    return 0


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("echo", "ask"):
        p = sub.add_parser(name)
        p.add_argument("ip")
        p.add_argument("port", type=int)
        p.add_argument("--tcp", action="store_true")
        if name == "echo":
            p.add_argument("--count", type=int, default=100)
            p.add_argument("--seconds", type=float, default=30.0)
        else:
            p.add_argument("--timeout", type=float, default=2.0)
            p.add_argument("--from-port", type=int, default=0)
    p = sub.add_parser("punch")
    p.add_argument("ip")
    p.add_argument("peer_port", type=int)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    return {"echo": echo, "ask": ask, "punch": punch}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
