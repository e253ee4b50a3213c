"""CPU cost of barenet's TCP data path, in process: two barenet stacks joined back to back.

No kernel, no TAP, no clock but a virtual one: frames go from one stack's NIC straight into
the other's input(), a burst at a time, as a runner would hand them over. What is measured is
the core's own per-segment work (parse, checksum, state machine, emit) on both the sending and
the receiving side, with far less noise than the TAP benchmark, so small changes to the hot
path can be judged. Run: `.venv/bin/python bench/tcp_path.py [--mb 20] [--runs 5]`; prints
the median CPU microseconds per full-sized segment (sender + receiver) and MB/s of CPU.
To compare with another revision: `PYTHONPATH=DIR/shared .venv/bin/python bench/tcp_path.py`.
"""

import argparse
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


def transfer(total):
    """Send `total` bytes from stack A to stack B; -> (CPU seconds, segments carrying data)."""
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
    t = time.process_time()
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
    cpu = time.process_time() - t
    return cpu, b.tcp.stats.get("rx", 0) - segs_before


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--mb", type=int, default=20)
    p.add_argument("--runs", type=int, default=5)
    args = p.parse_args()
    total = args.mb * 1000000
    results = sorted(transfer(total) for _ in range(args.runs))
    cpu, segs = results[len(results) // 2]
    print("%d MB, %d segments, median of %d: %.2f us CPU per segment (both stacks), "
          "%.1f MB/s of CPU" % (args.mb, segs, args.runs, cpu / segs * 1e6, args.mb / cpu))


if __name__ == "__main__":
    main()
