"""Two barenet stacks joined back to back in one process: A sends to B over a virtual cable.

The same file runs under CPython (bench/tcp_path.py imports it) and in the MicroPython VM
(bench/run_all.py runs it as a script), so both interpreters do the very same work: no kernel,
no TAP, a virtual clock; frames go from one stack's NIC straight into the other's input(), a
burst at a time, as a runner would hand them over.

    micropython bench/twostack.py MB RUNS    (MICROPYPATH=shared:bench)
    python bench/twostack.py MB RUNS

prints one JSON line: {"mb", "segments", "seconds": [one wall-clock time per run]}.
"""

import sys
import time

from barenet.stack import Stack

BUF = 262144
CHUNK = 65536


class Link:
    """One direction of the back-to-back cable: frames wait here until the runner's next pass."""

    def __init__(self):
        self.q = []

    def send(self, frame):
        self.q.append(bytes(frame))  # the frame is only valid during send()


def deliver(link, stack, iface, now):
    q = link.q
    link.q = []
    for f in q:
        stack.input(iface, f, now)
    stack.poll(now)
    return len(q)


def make_stack(seed, **tcp):
    """A host-profile stack; before the config (c101593 and older) TCP took a dict."""
    try:
        return Stack(profile="host", seed=seed, **tcp)
    except TypeError:
        return Stack(seed=seed, tcp=tcp)


def transfer(total, clock):
    """Send `total` bytes from stack A to stack B; -> (seconds by clock(), data segments).
    clock() returns seconds; only differences are used."""
    ab, ba = Link(), Link()
    tcp = {"sndbuf": BUF, "rcvbuf": BUF}
    a, b = make_stack(1, **tcp), make_stack(2, **tcp)
    ia = a.add_interface(ab, mac=b"\x02\x00\x00\x00\x00\x01", ip="192.0.2.1/24", now_ms=0)
    ib = b.add_interface(ba, mac=b"\x02\x00\x00\x00\x00\x02", ip="192.0.2.2/24", now_ms=0)
    lst = b.tcp.listen(9)
    conn = a.tcp.connect("192.0.2.2", 9)
    now = 0
    peer = None
    for _ in range(100):               # ARP and the handshake
        deliver(ab, b, ib, now)
        deliver(ba, a, ia, now)
        peer = peer or lst.accept()
        if peer is not None and conn.state == 4:
            break
    assert peer is not None and conn.state == 4, "no connection"
    data = memoryview(bytes(range(256)) * (CHUNK // 256))
    sent = got = 0
    segs_before = b.tcp.stats.get("rx", 0)
    t = clock()
    while got < total:
        now = (now + 1) % (1 << 30)
        while sent < total:
            n = conn.send(data[:min(CHUNK, total - sent)])
            if not n:
                break
            sent += n
        a.poll(now)                    # the app's writes go out, as the runner's step does
        deliver(ab, b, ib, now)
        while True:
            d = peer.recv(CHUNK)
            if not d:
                break
            got += len(d)
        b.poll(now)
        deliver(ba, a, ia, now)
    return clock() - t, b.tcp.stats.get("rx", 0) - segs_before


def wall_clock():
    """-> a function giving seconds of wall-clock time: CPython's perf_counter, or the
    difference of MicroPython's wrapping ticks_us from the first call (a run is far shorter
    than the ticks period)."""
    if hasattr(time, "perf_counter"):
        return time.perf_counter
    t0 = time.ticks_us()
    return lambda: time.ticks_diff(time.ticks_us(), t0) / 1e6


def main(argv):
    import json
    mb, runs = int(argv[1]), int(argv[2])
    clock = wall_clock()
    times = []
    segs = 0
    for _ in range(runs):
        s, segs = transfer(mb * 1000000, clock)
        times.append(s)
    print(json.dumps({"mb": mb, "segments": segs, "seconds": times}))


if __name__ == "__main__":
    main(sys.argv)
