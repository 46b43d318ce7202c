"""Two OrbitMesh agents on 127.0.0.1: A sends one datagram to B, B prints it."""
import orbitmesh

received = []
p2p = orbitmesh.P2POptions(bind_address="127.0.0.1")

# B's callbacks run inside b.dispatch() on this thread (events="dispatch").
with orbitmesh.Agent(p2p=p2p) as a, orbitmesh.Agent(p2p=p2p, events="dispatch") as b:
    b.on_datagram(lambda address, data: received.append((address, data)))
    a.open_transport()
    b.open_transport()
    print(f"OrbitMesh {orbitmesh.version()}")

    a.send_datagram(b.local_address, b"hello from A")
    print(f"A sent b'hello from A' to {b.local_address}")
    for _ in range(50):
        if received:
            break
        b.dispatch(timeout_ms=100)

if not received:
    raise SystemExit("nothing arrived")
address, data = received[0]
print(f"B received {data!r} from {address}")
