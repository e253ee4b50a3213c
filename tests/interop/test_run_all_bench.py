"""The quick run of `make bench`'s driver (bench/run_all.py --quick): every row of issue 13's
table is measured and printed with its same-run reference, the ratio of the two and the target,
so the driver cannot rot. No figure is judged (tiny sizes on a loaded machine mean nothing);
the full run's table is in BENCHMARKS.md."""

import json
import math
import os
import re
import subprocess
import sys

import pytest

import pngcheck
from barenet_host import plot

pytestmark = [pytest.mark.root, pytest.mark.xdist_group("run_all_bench")]

BENCH = os.path.join(os.path.dirname(__file__), "..", "..", "bench", "run_all.py")
# The rows (the idle ones name the connection count, 20 with --quick).
FIGURES = [
    "TCP kernel -> peer (MB/s), offload off", "TCP peer -> kernel (MB/s), offload off",
    "TCP kernel -> peer (MB/s), offload on", "TCP peer -> kernel (MB/s), offload on",
    "TCP echo 64 B (rt/s), offload off", "UDP echo 64 B (rt/s), offload off",
    "ping average (ms), offload off", "in-process TCP path (us CPU per segment)",
    "serve start to first ping reply (s)", "serve idle CPU, 20 idle conns (%)",
    "serve RSS, 20 idle conns (MiB)", "MicroPython x64 VM, two stacks, TCP (MB/s)",
    "the same, hot modules emit=native (MB/s)",
    "MicroPython viper csum, 1460 B (us)", "32-bit VM heap bytes per data segment",
]
NUM = r"(-?[0-9.]+(?:e[+-]?[0-9]+)?|nan)"


def test_quick_run_prints_every_row_with_its_reference_and_ratio(tmp_path):
    out_json = tmp_path / "rows.json"
    p = subprocess.run([sys.executable, BENCH, "--quick", "--json", str(out_json)],
                       capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    rows = json.loads(out_json.read_text())
    assert [r["figure"] for r in rows] == FIGURES
    for r in rows:
        assert r["value"] >= 0 and r["ref"] >= 0 and r["target"], r
        if r["ref"]:
            assert r["ratio"] == pytest.approx(r["value"] / r["ref"], rel=1e-9), r
        else:
            assert math.isnan(r["ratio"]), r
        assert r["met"] in (True, False, None), r
        # the printed row: figure, value, reference name, its value, ratio, target, verdict
        line = re.search(r"^%s\s+%s\s+%s\s+%s\s+%s\s+%s\s+(met|NOT met|-)" % (
            re.escape(r["figure"]), NUM, re.escape(r["reference"]), NUM, NUM,
            re.escape(r["target"])), p.stdout, re.M)
        assert line, (r["figure"], p.stdout[-3000:])
        assert line.group(4) == {True: "met", False: "NOT met", None: "-"}[r["met"]]


def test_plot_draws_one_transfer_captured_on_the_kernel_side(tmp_path):
    """--plot: the named PNG is drawn from the kernel-side capture of one chargen transfer,
    with its data and ACK lines in it."""
    png = str(tmp_path / "tsg.png")
    p = subprocess.run([sys.executable, BENCH, "--plot", png, "--plot-mb", "1"],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    # the connection is the kernel's (192.0.2.1) with barenet's chargen (192.0.2.2:19)
    assert re.match(r"barenet: wrote %s: 192\.0\.2\.1:\d+ <-> 192\.0\.2\.2:19, \d+ data "
                    r"segments" % re.escape(png), p.stdout), p.stdout
    img = pngcheck.load(png)
    for key in ("data", "ack"):
        assert pngcheck.near(img, plot.COLOURS[key]) >= 100, key
