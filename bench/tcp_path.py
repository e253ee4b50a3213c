"""CPU cost of barenet's TCP data path, in process: two barenet stacks joined back to back.

No kernel, no TAP, no clock but a virtual one: frames go from one stack's NIC straight into
the other's input(), a burst at a time, as a runner would hand them over. What is measured is
the core's own per-segment work (parse, checksum, state machine, emit) on both the sending and
the receiving side, with far less noise than the TAP benchmark, so small changes to the hot
path can be judged. Run: `.venv/bin/python bench/tcp_path.py [--mb 20] [--runs 5]`; prints
the median CPU microseconds per full-sized segment (sender + receiver) and MB/s of CPU.
To compare with another revision: `PYTHONPATH=DIR/shared .venv/bin/python bench/tcp_path.py`.

`--instructions [--baseline DIR]` counts instead of timing: CPU instructions per segment under
valgrind's callgrind, from two runs (2 MB and 8 MB, so that start-up cancels out). The count
is the same on every run and under any load, where the time moves by 10 % or more on a shared
machine; DIR is another revision's tree (with shared/ in it), counted the same way.
"""

import argparse
import os
import re
import subprocess
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


def instructions(shared=None):
    """Instructions per data segment for the core at shared (None: this one), by callgrind."""
    env = dict(os.environ)
    if shared is not None:
        env["PYTHONPATH"] = shared
    got = []
    for mb in (2, 8):
        p = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
                            sys.executable, os.path.abspath(__file__), "--mb", str(mb),
                            "--runs", "1"], env=env, capture_output=True, text=True,
                           timeout=1200, check=True)
        ir = int(re.search(r"Collected : (\d+)", p.stderr).group(1))
        segs = int(re.search(r"(\d+) segments", p.stdout).group(1))
        got.append((ir, segs))
    (ir2, s2), (ir8, s8) = got
    return (ir8 - ir2) / (s8 - s2)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--mb", type=int, default=20)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--instructions", action="store_true",
                   help="count instructions per segment under callgrind instead of timing")
    p.add_argument("--baseline", metavar="DIR",
                   help="with --instructions: also count the tree at DIR (DIR/shared)")
    args = p.parse_args()
    if args.instructions:
        new = instructions()
        line = "%.0f instructions per segment (both stacks)" % new
        if args.baseline:
            old = instructions(os.path.join(args.baseline, "shared"))
            line += "; baseline %.0f; ratio %.3f" % (old, new / old)
        print(line)
        return
    total = args.mb * 1000000
    results = sorted(transfer(total) for _ in range(args.runs))
    cpu, segs = results[len(results) // 2]
    print("%d MB, %d segments, median of %d: %.2f us CPU per segment (both stacks), "
          "%.1f MB/s of CPU" % (args.mb, segs, args.runs, cpu / segs * 1e6, args.mb / cpu))


if __name__ == "__main__":
    main()
