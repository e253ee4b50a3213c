# Runs inside the MicroPython VM: a board on the UDP tunnel link (vm_board.py) pings the kernel
# peer and echoes data through the kernel's TCP echo server, with blocking barenet sockets whose
# driver waits on the link. argv: relay UDP port, echo port, bytes to echo. Prints one JSON object.
import json
import sys

from barenet import ticks
from barenet.socket import Sockets
from vm_board import KERNEL, board, sha

stack, drv = board(int(sys.argv[1]))
net = Sockets(stack, drv)
out = {}

# ping: three echo requests, each answered with the same payload before the next goes out
pinger = stack.icmp.echo_endpoint(0x5151)
pongs = []
for seq in range(1, 4):
    pinger.send(KERNEL, seq, b"vm ping %d" % seq)
    start = drv.now()
    while True:
        r = pinger.recv()
        if r is not None:
            pongs.append([r[0], r[1], r[2].decode()])
            break
        if ticks.diff(drv.now(), start) > 5000:
            pongs.append(None)
            break
        drv.step(100)
out["ping"] = pongs

# TCP: connect, send everything, half-close, read the echo to the end of the stream
n = int(sys.argv[3])
data = bytes((i * 31 + 7) & 0xFF for i in range(n))
s = net.socket(net.AF_INET, net.SOCK_STREAM)
s.settimeout(20)
s.connect((KERNEL, int(sys.argv[2])))
out["peer"] = list(s.getpeername())
echoed = bytearray()
sent = 0
while sent < n:
    sent += s.send(data[sent:sent + 4096])
    while True:   # drain what came back so far, so neither side's window closes
        try:
            d = s.recv(8192, net.MSG_DONTWAIT)
        except OSError:
            break
        if not d:
            break
        echoed += d
s.shutdown(net.SHUT_WR)
while True:
    d = s.recv(8192)
    if not d:
        break
    echoed += d
s.close()
out["echo"] = [len(echoed), sha(bytes(echoed)), sha(data)]
out["internal"] = stack.stats.get("stack", {})
print(json.dumps(out))
