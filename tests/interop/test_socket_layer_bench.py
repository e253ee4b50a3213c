"""The smoke run of bench/socket_layer.py (`--quick`): the socket API against the core API on a
TAP, every figure printed for both paths, every byte counted on both ends. No figure is judged
(the machine's load moves them); the full run and its table are in BENCHMARKS.md."""

import os
import re
import subprocess
import sys

import pytest

pytestmark = pytest.mark.root

BENCH = os.path.join(os.path.dirname(__file__), "..", "..", "bench", "socket_layer.py")
QUICK_BYTES = 2000000        # --quick's --mb 2
ROWS = ("barenet -> kernel (MB/s)", "kernel -> barenet (MB/s)", "echo 64 B (round trips/s)",
        "accepts/s", "memory per idle conn, board (B)", "memory per idle conn, host (B)")
NUM = r"([0-9]+(?:\.[0-9]+)?)"


def test_quick_run_prints_every_figure_for_both_paths_and_every_byte_arrives():
    p = subprocess.run([sys.executable, BENCH, "--quick"], capture_output=True, text=True,
                       timeout=180)
    assert p.returncode == 0, p.stdout + p.stderr
    out = p.stdout
    for row in ROWS:
        # core, socket, their ratio: all positive
        m = re.search(re.escape(row) + r"\s+" + r"\s+".join([NUM] * 3), out)
        assert m, (row, out)
        core, sock, ratio = (float(g) for g in m.groups())
        assert core > 0 and sock > 0 and ratio == pytest.approx(sock / core, rel=0.01), m.group()
    for direction in ("barenet -> kernel", "kernel -> barenet"):
        m = re.search(r"^bytes %s: (.*)$" % re.escape(direction), out, re.M)
        assert m, (direction, out)
        pairs = [tuple(int(x) for x in p.split("/")) for p in m.group(1).split()]
        # one measurement per path; what barenet counted, and what the kernel counted
        assert pairs == [(QUICK_BYTES, QUICK_BYTES)] * 2, m.group()
