# Runs in the MicroPython VM: the status page and echo served to barenet clients on the
# virtual wire, starting just before the tick wrap: pipelined keep-alive requests answered in
# order, a peer past its limit refused, an idle echo client closed; the discovery responder
# answers a broadcast after the wrap; prints JSON results.
import json

from barenet import ticks
from barenet.apps.discovery import Discovery
from barenet.apps.echo import TCPEcho
from barenet.apps.status import StatusPage
from barenet_host.vwire import Sim

sim = Sim(ticks.PERIOD - 3000)
wire = sim.wire()
a, _ = sim.host(wire, b"\x02\x00\x00\x00\x00\x01", "192.0.2.1/24", seed=1)
b, _ = sim.host(wire, b"\x02\x00\x00\x00\x00\x02", "192.0.2.2/24", seed=2)
page = StatusPage(b, 80)
echo = TCPEcho(b, 7, max_per_peer=1, idle_ms=5000)
sim.add_task(page.poll, b)
sim.add_task(echo.poll, b)
got = {80: bytearray(), 7: bytearray()}
ends = {}
conns = {80: a.tcp.connect("192.0.2.2", 80), 7: a.tcp.connect("192.0.2.2", 7)}
extra = a.tcp.connect("192.0.2.2", 7)
sent = {}
out = {"extra": None}


def client(now):
    for port, c in conns.items():
        if port not in sent and c.writable():
            sent[port] = True
            c.send(b"GET /nope HTTP/1.1\r\n\r\nHEAD / HTTP/1.1\r\n\r\n" if port == 80 else b"hi")
        while port not in ends:
            try:
                d = c.recv(4096)
            except OSError as e:
                ends[port] = "error %d" % e.args[0]
                break
            if d is None:
                break
            if not d:
                ends[port] = sim.ms
                break
            got[port] += d
    if out["extra"] is None:
        try:
            extra.recv(10)
        except OSError as e:
            out["extra"] = "refused %d" % e.args[0]
    return None


sim.add_task(client, a)
start = sim.ms
sim.run(until=lambda: 7 in ends and 80 in ends, max_ms=20000)
out["http"] = [bytes(x).split(b"\r\n")[0].decode() for x in bytes(got[80]).split(b"HTTP/1.1 ")[1:]]
out["echo"] = bytes(got[7]).decode()
out["echo_closed_after_ms"] = ends.get(7, 0) - start
out["http_closed_after_ms"] = ends.get(80, 0) - start
out["echo_stats"] = echo.stats
out["page_stats"] = page.stats
disc = Discovery(b, board="vm")
sim.add_task(disc.poll, b)
sim.advance(2500)
asker = a.udp.bind(5000)
asker.sendto(b"BNDISCOVER1 vm", ("255.255.255.255", 48879))
replies = []
sim.run(until=lambda: replies.append(asker.recvfrom()) or replies[-1] is not None, max_ms=2000)
out["discovery"] = json.loads(replies[-1][0][8:]) if replies[-1] else None
print(json.dumps(out))
