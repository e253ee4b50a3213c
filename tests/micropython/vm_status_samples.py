# Runs in the MicroPython VM: a board-profile status page with its chart's sampling turned on
# (status_samples=4) samples a chargen connection through a 10 Mbit/s link with 5 ms delay;
# the page's HTML carries the chart and /?format=samples its rings. Prints JSON results.
import json

from barenet import ticks
from barenet.apps.chargen import Chargen
from barenet.apps.status import StatusPage
from barenet_host.faults import FaultModel
from barenet_host.vwire import Sim

sim = Sim(ticks.PERIOD - 300)   # sampled across the tick wrap
wire = sim.wire()
on = {"status_samples": 4, "status_sample_ms": 100}
a, _ = sim.host(wire, b"\x02\x00\x00\x00\x00\x01", "192.0.2.1/24", seed=1, **on)
b, _ = sim.host(wire, b"\x02\x00\x00\x00\x00\x02", "192.0.2.2/24", seed=2, **on)
for nic in wire.nics:
    nic.faults = FaultModel(seed=3, delay_ms=5, bandwidth_bps=10000000, queue_limit=30000)
page = StatusPage(b, 80)
sim.add_task(page.poll, b)
sim.add_task(Chargen(b, 19).poll, b)
gen = a.tcp.connect("192.0.2.2", 19)
got = {"chargen": 0}


def reader(now):
    while True:
        d = gen.recv(4096)
        if not d:
            return None
        got["chargen"] += len(d)


sim.add_task(reader, a)
sim.run(max_ms=1000)


def fetch(path):
    c = a.tcp.connect("192.0.2.2", 80)
    sim.run(until=lambda: c.writable(), max_ms=2000)
    c.send(b"GET " + path + b" HTTP/1.1\r\nConnection: close\r\n\r\n")
    body = bytearray()
    done = []

    def rd(now):
        while not done:
            d = c.recv(4096)
            if d is None:
                return None
            if not d:
                done.append(1)
                return None
            body.extend(d)

    sim.add_task(rd, a)
    sim.run(until=lambda: done, max_ms=5000)
    c.close()
    return bytes(body).split(b"\r\n\r\n", 1)[1]


doc = json.loads(fetch(b"/?format=samples"))
html = fetch(b"/")
print(json.dumps({"chargen": got["chargen"], "samples": doc,
                  "chart": b'id="charts"' in html and b"/?format=samples" in html}))
