# Runs inside the MicroPython VM: SOCK_RAW and AF_UNIX through barenet's socket API
# (rawsock.py, unixsock.py) between two stacks on a virtual wire, the clock started just before
# the tick counter wraps: protocol 253 both ways, IP_HDRINCL, an ICMP echo, AF_UNIX stream
# and datagram with the other counters unchanged, socketpair, EAGAIN and a timeout as the VM
# reports them. Prints one JSON object for CPython to check.
import json
import struct
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
S = srv
out = {}


def errno_of(fn, *args):
    try:
        fn(*args)
    except OSError as e:
        return e.errno
    return 0


def csum(msg):
    s = 0
    for i in range(0, len(msg) - 1, 2):
        s += (msg[i] << 8) | msg[i + 1]
    if len(msg) % 2:
        s += msg[-1] << 8
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


# -- SOCK_RAW --------------------------------------------------------------------------------
r = srv.socket(S.AF_INET, S.SOCK_RAW, 253)
r.bind(("192.0.2.1", 0))
r.settimeout(5)
c = cli.socket(S.AF_INET, S.SOCK_RAW, 253)
c.settimeout(5)
polls = [r.ioctl(3, 1 | 4)]      # MP_STREAM_POLL, as select.poll asks it: POLLOUT only
c.sendto(b"vm raw 253", ("192.0.2.1", 0))
sim.settle()
polls.append(r.ioctl(3, 1 | 4))  # and now POLLIN too
d, src = r.recvfrom(1500)
out["raw_in"] = [d[0], d[9], d[20:].decode(), list(src)]
r.sendto(b"and back", src)
d, src = c.recvfrom(1500)
out["raw_back"] = [d[20:].decode(), list(src)]
out["raw_names"] = [list(r.getsockname()), errno_of(c.getpeername)]
c.setsockopt(S.IPPROTO_IP, S.IP_HDRINCL, 1)
h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 24, 0x4242, 0, 9, 253, 0,
                bytes([192, 0, 2, 2]), bytes([192, 0, 2, 1]))
h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
c.sendto(h + b"hdr!", ("192.0.2.1", 0))
d = r.recv(1500)
out["hdrincl"] = [c.getsockopt(S.IPPROTO_IP, S.IP_HDRINCL), d[8], d[20:].decode()]
r.setblocking(False)
out["raw_eagain"] = errno_of(r.recv, 10)
r.settimeout(0.3)
out["raw_timeout"] = errno_of(r.recv, 10)
out["raw_proto0"] = errno_of(srv.socket, S.AF_INET, S.SOCK_RAW, 0)
icmp = cli.socket(S.AF_INET, S.SOCK_RAW, S.IPPROTO_ICMP)
icmp.settimeout(5)
msg = struct.pack("!BBHHH", 8, 0, 0, 0x4d50, 1) + b"vm ping"
icmp.sendto(msg[:2] + struct.pack("!H", csum(msg)) + msg[4:], ("192.0.2.1", 0))
d = icmp.recv(1500)
out["ping"] = [d[9], d[20], d[24:28] == b"\x4d\x50\x00\x01", d[28:].decode()]
for s in (r, c, icmp):
    s.close()

# -- AF_UNIX: one stack, no IP ---------------------------------------------------------------


def others(stack):
    st = stack.stats
    del st["local"]
    return json.dumps(st)


before = others(a)
lst = srv.socket(S.AF_UNIX, S.SOCK_STREAM)
lst.bind("/vm/srv")
lst.listen(2)
u = srv.socket(S.AF_UNIX, S.SOCK_STREAM)
u.settimeout(5)
polls.append(u.ioctl(3, 1 | 4))  # unconnected: POLLOUT | POLLHUP
u.connect("/vm/srv")
polls.append(lst.ioctl(3, 1))    # a connection to accept
conn, addr = lst.accept()
conn.settimeout(5)
u.sendall(b"x" * 1500)   # the board profile: local_buf 2048, and no one reads meanwhile
got = b""
while len(got) < 1500:
    got += conn.recv(4096)
conn.write(b"line\n")
out["unix_stream"] = [len(got), repr(addr), conn.getsockname(), u.readline().decode()]
conn.settimeout(0.2)
out["unix_timeout"] = errno_of(conn.recv, 1)
u.close()
out["unix_eof"] = conn.recv(10) == b""
out["unix_noent"] = errno_of(srv.socket(S.AF_UNIX, S.SOCK_STREAM).connect, "/vm/none")
d1 = srv.socket(S.AF_UNIX, S.SOCK_DGRAM)
d1.bind("/vm/dg")
d2 = srv.socket(S.AF_UNIX, S.SOCK_DGRAM)
d2.bind("/vm/cli")
d2.sendto(b"datagram", "/vm/dg")
data, sender = d1.recvfrom(100)
d1.setblocking(False)
out["unix_dgram"] = [data.decode(), sender, errno_of(d1.recv, 10)]
p, q = srv.socketpair()
p.send(b"pair")
out["pair"] = q.recv(10).decode()
out["counters_unchanged"] = others(a) == before
out["polls"] = polls
print(json.dumps(out))
