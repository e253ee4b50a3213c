# Runs inside the MicroPython VM: two barenet stacks on a virtual wire exchange UDP datagrams
# (one needing fragmentation), and a ping (one fragmented too), with the virtual clock started
# just before the tick counter wraps. Prints one JSON object for the CPython side to check.
import binascii
import hashlib
import json
import sys

from barenet import ticks
from barenet_host.vwire import Sim

from vm_common import SIZES, payload, PING_SIZES



class Tap:
    """Records every frame on the wire (the wire's pcap hook) for scapy to check on CPython."""

    def __init__(self):
        self.frames = []

    def write(self, frame, now_ms):
        self.frames.append(bytes(frame))


start = ticks.PERIOD - int(sys.argv[1])
sim = Sim(start)
tap = Tap()
wire = sim.wire(pcap=tap)
a, _ = sim.host(wire, "02:00:00:00:00:01", "192.0.2.1/24")
b, _ = sim.host(wire, "02:00:00:00:00:02", "192.0.2.2/24")
tx = a.udp.bind(40000)
rx = b.udp.bind(7)
pinger = a.icmp.echo_endpoint(0x6262)
got = []
pongs = []
clock = []  # virtual time seen at each send, to show the exchange crossed the wrap


def take():
    while True:
        d = rx.recvfrom()
        if d is None:
            break
        got.append(d)
    while True:
        r = pinger.recv()
        if r is None:
            break
        pongs.append(r)


for i, n in enumerate(SIZES):
    clock.append(sim.now)
    tx.sendto(payload(i, n), ("192.0.2.2", 7))
    want = i + 1
    sim.run(until=lambda: (take() or True) and len(got) >= want, max_ms=5000)
    sim.advance(150)  # let time pass between datagrams: the later ones go after the wrap

for seq, n in enumerate(PING_SIZES):
    clock.append(sim.now)
    pinger.send("192.0.2.2", seq + 1, payload(100 + seq, n))
    want = seq + 1
    sim.run(until=lambda: (take() or True) and len(pongs) >= want, max_ms=5000)

ok = len(got) == len(SIZES) and all(
    got[i][0] == payload(i, n) and got[i][1] == ("192.0.2.1", 40000) for i, n in enumerate(SIZES))
ok = ok and len(pongs) == len(PING_SIZES) and all(
    pongs[s] == ("192.0.2.2", s + 1, payload(100 + s, n)) for s, n in enumerate(PING_SIZES))


def h(data):
    return "".join("%02x" % x for x in hashlib.sha256(data).digest())


print(json.dumps({
    "ok": ok,
    "start": start,
    "clock": clock,
    "end": sim.now,
    "udp": [[len(d), h(d), src[0], src[1]] for d, src in got],
    "ping": [[src, seq, len(d), h(d)] for src, seq, d in pongs],
    "stats_a": a.stats,
    "stats_b": b.stats,
    "frames": [binascii.hexlify(f).decode() for f in tap.frames],
}))
