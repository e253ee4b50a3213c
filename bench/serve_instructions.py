"""CPU instructions per round trip of `barenet serve --offload off` on a TAP, by callgrind:
steady where the TAP rates of bench/tcp_tap.py move with the machine's load.

Run as root: `.venv/bin/python bench/serve_instructions.py [--tree DIR] [echo udp ping]`.
For each kind, `serve` runs under valgrind twice in a namespace made here, while a kernel
client makes 200 and then 1 200 round trips (TCP echo 64 B on port 7, UDP echo 64 B on port
7, or ping at 2 ms intervals); the difference of the two counts over the 1 000 extra round
trips is printed, so start-up and shutdown cancel out. DIR: count another checkout (its
shared/ and host/, e.g. made by `git archive REV shared host | tar -x -C DIR`).
"""

import argparse
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "host"))

from barenet_host.netns import NetNS, unique_name  # noqa: E402
from tcp_tap import KERNEL, PEER  # noqa: E402

COUNTS = (200, 1200)

CLIENT = r"""
import socket, sys
kind, n, host = sys.argv[1], int(sys.argv[2]), sys.argv[3]
if kind == "echo":
    s = socket.create_connection((host, 7), timeout=30)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for i in range(n):
        s.sendall(b"e" * 64); got = 0
        while got < 64:
            got += len(s.recv(64 - got))
else:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.connect((host, 7)); s.settimeout(5)
    for i in range(n):
        s.send(b"u" * 64); s.recv(2048)
s.close()
"""


def count(kind, n, tree):
    """Instructions of one `serve` under callgrind while the client makes n round trips."""
    env = dict(os.environ)
    if tree is not None:
        env["PYTHONPATH"] = os.pathsep.join(os.path.join(os.path.abspath(tree), d)
                                            for d in ("shared", "host"))
    with NetNS() as ns:
        tap = unique_name("bi")
        ns.tuntap_add(tap)
        ns.addr(tap, KERNEL + "/24")
        ns.up(tap)
        srv = ns.popen(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
                        sys.executable, "-m", "barenet_host.cli", "serve", "--tap", tap,
                        "--ip", PEER + "/24", "--apps", "discard,chargen,echo",
                        "--udp-echo", "7", "--offload", "off"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        try:
            line = srv.stdout.readline()
            if not line.startswith("barenet: serving"):
                raise SystemExit("serve did not start: %r" % line)
            if kind == "ping":
                cmd = ["ping", "-q", "-c", str(n), "-i", "0.002", "-W", "5", PEER]
            else:
                cmd = [sys.executable, "-c", CLIENT, kind, str(n), PEER]
            r = ns.run(cmd, timeout=600)
            if r.returncode != 0:
                raise SystemExit("client failed: " + r.stdout + r.stderr)
        finally:
            srv.terminate()
            _, err = srv.communicate(timeout=300)
    return int(re.search(r"Collected : (\d+)", err).group(1))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("kinds", nargs="*", default=["echo", "udp", "ping"],
                   choices=["echo", "udp", "ping"])
    p.add_argument("--tree", metavar="DIR", help="count the checkout in DIR instead")
    args = p.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("bench/serve_instructions.py needs root (TAP devices, namespaces)")
    for kind in args.kinds:
        a, b = (count(kind, n, args.tree) for n in COUNTS)
        print("%s: %.0f instructions per round trip (%s)"
              % (kind, (b - a) / (COUNTS[1] - COUNTS[0]), args.tree or "this tree"), flush=True)


if __name__ == "__main__":
    main()
