# Runs inside the MicroPython VM: two barenet stacks on a virtual wire talk through raw IP
# endpoints (barenet/raw.py): a ping whose echo request the caller builds, protocol 253 both
# ways (one datagram fragmented on the way and reassembled before delivery), an IP_HDRINCL
# send, and a queue that overflows. Prints one JSON object for the CPython side to check.
import binascii
import json
import struct

from barenet.wire.checksum import checksum
from barenet_host.vwire import Sim


def hexs(b):
    return binascii.hexlify(bytes(b)).decode()


def drain(ep):
    out = []
    while True:
        d = ep.recvfrom()
        if d is None:
            return out
        out.append([hexs(d[0]), d[1][0], d[1][1]])


sim = Sim(0)
wire = sim.wire()
a, _ = sim.host(wire, "02:00:00:00:00:01", "192.0.2.1/24")
b, _ = sim.host(wire, "02:00:00:00:00:02", "192.0.2.2/24")
sim.run(max_ms=1)

ping = a.raw.open(1)
msg = bytearray(struct.pack("!BBHHH", 8, 0, 0, 0x6262, 1) + b"vm ping")
struct.pack_into("!H", msg, 2, checksum(msg))
ping.sendto(msg, ("192.0.2.2", 0))
sim.run(until=ping.pending, max_ms=5000)
out = {"ping": drain(ping)}

ea = a.raw.open(253)
eb = b.raw.open(253, queue=2)
big = bytes(i & 0xFF for i in range(3000))
ea.sendto(b"a to b", "192.0.2.2")
ea.sendto(big, ("192.0.2.2", 0))
sim.run(until=lambda: eb.pending() >= 2, max_ms=5000)
got_b = drain(eb)
eb.connect(("192.0.2.1", 0))
eb.send(b"b to a")
eb.hdrincl = True
hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 0, 0, 0, 5, 253, 0, bytes(4), bytes([192, 0, 2, 1]))
eb.sendto(hdr + b"own header", "192.0.2.1")
sim.run(until=lambda: ea.pending() >= 2, max_ms=5000)
out["b"] = got_b
out["a"] = drain(ea)

for i in range(4):  # eb holds 2: two dropped and counted, nothing raised
    ea.sendto(b"flood %d" % i, "192.0.2.2")
sim.run(max_ms=10)
out["flood"] = drain(eb)
out["stats_a"] = a.stats["raw"]
out["stats_b"] = b.stats["raw"]
out["ip_b"] = b.stats["ip"]
out["limits"] = b.limits()["raw_endpoints"]
out["internal"] = [a.stats["stack"], b.stats["stack"]]
print(json.dumps(out))
