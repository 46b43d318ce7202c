import socket, time
socks=[]
for i in range(200):
    try:
        s=socket.create_connection(("127.0.0.1",34781)); socks.append(s)
    except Exception as e:
        print("conn fail", i, e); break
print("opened", len(socks))
time.sleep(4)
