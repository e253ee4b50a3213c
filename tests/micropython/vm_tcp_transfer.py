# Runs in the MicroPython VM: two barenet stacks on a lossy, reordering virtual wire move data
# both ways over one TCP connection, starting just before the tick wrap; prints JSON results.
import sys
import hashlib
import json

from barenet import ticks
from barenet_host.faults import FaultModel
from barenet_host.vwire import Sim

size = int(sys.argv[1])
seed = int(sys.argv[2])
congestion = sys.argv[3] if len(sys.argv) > 3 else "reno"   # the board profile's default


def chunk(off, n, k):
    # Bytes [off, off + n) of the test pattern, made on the fly: the VM's heap is small.
    b = bytearray(n)
    for j in range(n):
        i = off + j
        b[j] = (i * 13 + k + (i >> 9)) & 0xFF
    return b


sim = Sim(ticks.PERIOD - 300)
# A 2 ms link delay: with board-sized windows the transfer takes about a second of
# virtual time, so it crosses the wrap 300 ms in.
wire = sim.wire(faults=FaultModel(seed=seed, loss=0.03, reorder=0.03, duplicate=0.02, delay_ms=2))
a, _ = sim.host(wire, b"\x02\x00\x00\x00\x00\x01", "192.0.2.1/24", seed=1,
                congestion=congestion)
b, _ = sim.host(wire, b"\x02\x00\x00\x00\x00\x02", "192.0.2.2/24", seed=2,
                congestion=congestion)
listener = b.tcp.listen(5000)
client = a.tcp.connect("192.0.2.2", 5000)
st = {"server": None, "up_sent": 0, "down_sent": 0, "up": hashlib.sha256(), "down": hashlib.sha256(),
      "up_n": 0, "down_n": 0, "up_eof": False, "down_eof": False}


def pump(conn, k, key):
    n = st[key]
    while n < size:
        sent = conn.send(chunk(n, min(4096, size - n), k))
        if not sent:
            break
        n += sent
        if n == size:
            conn.shutdown_write()
    st[key] = n


def drain(conn, key):
    while not st[key + "_eof"]:
        d = conn.recv(4096)
        if d is None:
            return
        if not d:
            st[key + "_eof"] = True
            return
        st[key].update(d)
        st[key + "_n"] += len(d)


def app(now):
    if st["server"] is None:
        st["server"] = listener.accept()
    pump(client, 1, "up_sent")
    drain(client, "down")
    s = st["server"]
    if s is not None:
        pump(s, 2, "down_sent")
        drain(s, "up")
    return None


sim.add_task(app)
ok = sim.run(until=lambda: st["up_eof"] and st["down_eof"], max_ms=600000)
print(json.dumps({"ok": ok, "up": st["up_n"], "down": st["down_n"],
                  "up_sha": "".join("%02x" % x for x in st["up"].digest()),
                  "down_sha": "".join("%02x" % x for x in st["down"].digest()),
                  "crossed_wrap": sim.ms >= ticks.PERIOD, "retransmits": client.info()["retransmits"],
                  "cc": client.info()["cc"], "cwnd": client.info()["cwnd"]}))
