#!/usr/bin/python3
"""64 B ping-pong between two Python agents in one process (events="thread"): the echo and the
next ping are sent from the on_message callbacks, as a Python application answering at once
would. Prints p50/p99 in µs after a warm-up (a tool, not a test).

PYTHONPATH=build/python OM_PLUGIN_PATH=build/plugins /usr/bin/python3 bench/delivery/python_ping_pong.py [rounds]
"""
import sys
import threading
import time

import orbitmesh

ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
WARMUP = 200

with orbitmesh.Server(http_port=0, stun_port=0, bind="127.0.0.1", open=True) as server:
    p2p = orbitmesh.P2POptions(bind_address="127.0.0.1")
    a = orbitmesh.Agent(server=server.url, agent_id="ping", p2p=p2p)
    b = orbitmesh.Agent(server=server.url, agent_id="pong", p2p=p2p)
    b.on_message(lambda peer_id, data: b.send_to_peer(peer_id, data))
    rtts, done, sent_at = [], threading.Event(), [0.0]

    def on_echo(peer_id, data):
        rtts.append(time.perf_counter() - sent_at[0])
        if len(rtts) >= WARMUP + ROUNDS:
            done.set()
            return
        sent_at[0] = time.perf_counter()
        a.send_to_peer(peer_id, data)

    a.on_message(on_echo)
    a.connect()
    b.connect()
    state = a.connect_to_peer("pong")
    sent_at[0] = time.perf_counter()
    a.send_to_peer("pong", b"p" * 64)
    if not done.wait(60):
        raise SystemExit(f"only {len(rtts)} echoes came back")
    r = sorted(rtts[WARMUP:])
    print(f"python events=thread, {state.active_transport}, 64 B ping-pong over {len(r)} round trips: "
          f"p50 {r[len(r) // 2] * 1e6:.1f} µs, p99 {r[int(len(r) * 0.99)] * 1e6:.1f} µs")
    a.close()
    b.close()
