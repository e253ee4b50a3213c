"""The far host for tests/interop/test_bridge_nat.py, inside the test's namespace: TCP and UDP
echo on ADDR:7, each TCP client in a thread. (The HTTP server is `python3 -m http.server`.)

    python nat_far.py ADDR
"""

import socket
import sys
import threading


def tcp_client(c):
    with c:
        while True:
            d = c.recv(65536)
            if not d:
                return
            c.sendall(d)


def tcp(addr):
    s = socket.create_server((addr, 7), reuse_port=False)
    while True:
        c, _ = s.accept()
        threading.Thread(target=tcp_client, args=(c,), daemon=True).start()


def udp(addr):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, 7))
    while True:
        d, src = s.recvfrom(65535)
        s.sendto(d, src)


if __name__ == "__main__":
    threading.Thread(target=udp, args=(sys.argv[1],), daemon=True).start()
    print("ready", flush=True)
    tcp(sys.argv[1])
