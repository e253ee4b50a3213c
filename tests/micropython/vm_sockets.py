# Runs inside the MicroPython VM: barenet's socket API (barenet/socket.py) between two stacks on
# a virtual wire, in one thread: a blocking TCP echo (each blocking call drives the simulator
# through SimDriver), a UDP exchange, a timeout, a refused connect and EAGAIN, with the clock
# started just before the tick counter wraps. Prints one JSON object for CPython to check.
import hashlib
import json
import sys

from barenet import ticks
from barenet.socket import Sockets
from barenet_host.vwire import Sim, SimDriver

sim = Sim(ticks.PERIOD - int(sys.argv[1]))
wire = sim.wire()
a, _ = sim.host(wire, "02:00:00:00:00:01", "192.0.2.1/24")
b, _ = sim.host(wire, "02:00:00:00:00:02", "192.0.2.2/24")
drv = SimDriver(sim)
srv = Sockets(a, drv)
cli = Sockets(b, drv)
out = {"start": sim.now}


def h(data):
    return "".join("%02x" % x for x in hashlib.sha256(data).digest())


# TCP: connect, accept, echo 64 kB back through the stream methods
lst = srv.socket(srv.AF_INET, srv.SOCK_STREAM)
lst.bind(("192.0.2.1", 7))
lst.listen(2)
c = cli.socket(cli.AF_INET, cli.SOCK_STREAM)
c.settimeout(10)
c.connect(("192.0.2.1", 7))
conn, peer = lst.accept()
out["peer"] = list(peer)
data = bytes((i * 7 + 3) & 0xFF for i in range(65536))
echoed = b""
sent = served = 0
while len(echoed) < len(data):
    if sent < len(data):
        c.sendall(data[sent:sent + 4096])
        sent += 4096
    if served < len(data):
        got = conn.recv(8192)
        served += len(got)
        conn.write(got)
    else:
        echoed += c.recv(8192)        # all echoed: what is still on its way, blocking
    while True:
        try:
            more = c.recv(8192, cli.MSG_DONTWAIT)
        except OSError:
            break
        echoed += more
out["echo"] = [len(echoed), h(echoed) == h(data)]
c.sendall(b"line one\nline two\n")
out["lines"] = [conn.readline().decode(), conn.readline().decode()]
c.shutdown(cli.SHUT_WR)
out["eof"] = conn.read() == b""
conn.close()
c.close()

# UDP: both ways
u = srv.socket(srv.AF_INET, srv.SOCK_DGRAM)
u.bind(("192.0.2.1", 9000))
v = cli.socket(cli.AF_INET, cli.SOCK_DGRAM)
v.settimeout(5)
v.sendto(b"ping", ("192.0.2.1", 9000))
msg, src = u.recvfrom(100)
u.sendto(b"pong:" + msg, src)
out["udp"] = [msg.decode(), list(src), v.recvfrom(100)[0].decode()]

# A timeout, a refused connect, EAGAIN
v.settimeout(0.5)
t0 = sim.ms
try:
    v.recv(10)
    out["timeout"] = "no"
except OSError as e:
    out["timeout"] = [e.errno, sim.ms - t0]
r = cli.socket()
out["refused"] = r.connect_ex(("192.0.2.1", 1))
v.setblocking(False)
try:
    v.recv(10)
except OSError as e:
    out["eagain"] = e.errno

# install(): `import socket` / `import usocket` resolve to barenet from then on
from barenet import socket as bsock
bsock.install(b, drv)
import socket
import usocket
out["install"] = [socket is bsock, usocket is bsock,
                  socket.create_connection(("192.0.2.1", 7), 5).getpeername()[0]]
bsock.uninstall()
lst.close()
out["end"] = sim.now
out["ok"] = out["echo"] == [65536, True]
print(json.dumps(out))
