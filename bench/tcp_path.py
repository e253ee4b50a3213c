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

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from twostack import transfer  # noqa: E402


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
    results = sorted(transfer(total, time.process_time) for _ in range(args.runs))
    cpu, segs = results[len(results) // 2]
    print("%d MB, %d segments, median of %d: %.2f us CPU per segment (both stacks), "
          "%.1f MB/s of CPU" % (args.mb, segs, args.runs, cpu / segs * 1e6, args.mb / cpu))


if __name__ == "__main__":
    main()
