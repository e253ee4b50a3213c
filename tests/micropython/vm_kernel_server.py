# Runs inside the MicroPython VM: a board on the UDP tunnel link (vm_board.py) serves a page
# over barenet's blocking sockets to kernel clients (curl) in the netns, which also ping it
# while it waits in accept(). argv: relay UDP port, requests to serve. Prints "listening",
# then one JSON object once it served them all.
import json
import sys

from barenet import ticks
from barenet.socket import Sockets
from vm_board import board

stack, drv = board(int(sys.argv[1]))
net = Sockets(stack, drv)
lst = net.socket(net.AF_INET, net.SOCK_STREAM)
lst.bind(("", 80))
lst.listen(4)
lst.settimeout(30)
print("listening")
served = []
for i in range(int(sys.argv[2])):
    c, peer = lst.accept()
    c.settimeout(10)
    req = b""
    while b"\r\n\r\n" not in req:
        d = c.recv(512)
        if not d:
            break
        req += d
    body = b"page %d from the VM\n" % i + bytes(range(256)) * 40
    c.write(b"HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body))
    c.write(body)
    c.close()
    served.append([peer[0], req.split(b"\r\n")[0].decode()])
lst.close()
# the last close's FIN and the peer's ACK: run the stack until no connection is left
start = drv.now()
while stack.tcp.conns and ticks.diff(drv.now(), start) < 5000:
    drv.step(100)
print(json.dumps({"served": served, "left": len(stack.tcp.conns),
                  "echo_replies": stack.stats["icmp"].get("tx", 0),
                  "internal": stack.stats["stack"]}))
