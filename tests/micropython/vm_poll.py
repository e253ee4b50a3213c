# Runs inside the MicroPython VM: the runtime's own select.poll on barenet sockets (their
# ioctl(MP_STREAM_POLL), which also moves the stack: one thread, nothing else runs it), two
# stacks on a virtual wire whose clock follows time.ticks_ms (RealTimeDriver): a listener, a
# non-blocking connect completing as POLLOUT, a refused one, data, end of stream, UDP, then
# examples/chat_poll.py with its clients in the same thread. Prints one JSON object.
import json
import select
import sys
import time

from barenet import socket as bsocket
from barenet import ticks
from barenet.socket import Sockets
from barenet_host.vwire import Sim, RealTimeDriver

sys.path.append("examples")
sys.path.append("tests/examples")

sim = Sim(ticks.PERIOD - 2000)
wire = sim.wire()
a, _ = sim.host(wire, "02:00:00:00:00:01", "192.0.2.1/24")
b, _ = sim.host(wire, "02:00:00:00:00:02", "192.0.2.2/24")
drv = RealTimeDriver(sim, time.ticks_ms, time.sleep_ms)
srv = Sockets(a, drv)
cli = Sockets(b, drv)
out = {}
IN, OUT = select.POLLIN, select.POLLOUT


def wait(sock, mask, ms=2000):
    """The mask select.poll reports for sock within ms, or 0."""
    p = select.poll()
    p.register(sock, mask)
    r = p.poll(ms)
    return r[0][1] if r else 0


lst = srv.socket()
lst.bind(("192.0.2.1", 7))
lst.listen(4)
lst.setblocking(False)
out["idle_listener"] = wait(lst, IN, 50)
c = cli.socket()
c.setblocking(False)
out["connect"] = c.connect_ex(("192.0.2.1", 7))
out["writable"] = wait(c, OUT)
out["so_error"] = c.getsockopt(cli.SOL_SOCKET, cli.SO_ERROR)
out["listener"] = wait(lst, IN)
s, _ = lst.accept()
s.setblocking(False)
out["idle_conn"] = wait(s, IN, 50)
c.send(b"hello")
out["data"] = wait(s, IN)
out["got"] = s.recv(10).decode()
c.shutdown(cli.SHUT_WR)
out["eof"] = wait(s, IN)
out["eof_read"] = s.recv(10) == b""
r = cli.socket()
r.setblocking(False)
r.connect_ex(("192.0.2.1", 9))
out["refused"] = wait(r, OUT)
out["refused_error"] = r.getsockopt(cli.SOL_SOCKET, cli.SO_ERROR)
for x in (r, s, c, lst):
    x.close()

u = srv.socket(srv.AF_INET, srv.SOCK_DGRAM)
u.bind(("192.0.2.1", 9000))
v = cli.socket(cli.AF_INET, cli.SOCK_DGRAM)
out["udp_idle"] = wait(u, IN, 50)
v.sendto(b"ping", ("192.0.2.1", 9000))
out["udp"] = wait(u, IN)
out["udp_got"] = u.recvfrom(10)[0].decode()
u.close()
v.close()

# The chat example, its socket module barenet's (install), its clients on the other stack
bsocket.install(a, drv)
import chat_poll       # noqa: E402 (after install: its `import socket` is barenet's)
import chat_clients    # noqa: E402

server = chat_poll.ChatServer(7000)
t0 = time.ticks_ms()
out["chat"] = chat_clients.run(cli, select, "192.0.2.1", 7000, int(sys.argv[1]),
                               int(sys.argv[2]), 60, between=lambda: server.poll(0))
out["chat_s"] = time.ticks_diff(time.ticks_ms(), t0) / 1000
server.close()
bsocket.uninstall()
print(json.dumps(out))
