"""Memory per TCP connection, its buffers excluded, in the states a server holds many of:
half-open (SYN_RECEIVED), idle ESTABLISHED and TIME_WAIT; on both profiles ("board", "host"),
on CPython (tracemalloc), the x64 unix MicroPython VM and the 32-bit MicroPython VM
(gc.mem_alloc deltas after gc.collect()).

    .venv/bin/python bench/conn_memory.py [--n 50]

The in-VM script is tests/micropython/vm_conn_memory.py, the same file on every runtime: two
stacks on a virtual wire, N connections brought into each state (limits raised to hold them;
the per-connection structures stay the profile's). The buffers a connection holds
(info()["buffer_bytes"]) are subtracted and shown beside the figure.
"""

import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
TESTS_MP = os.path.join(REPO, "tests", "micropython")
sys.path.insert(0, TESTS_MP)

import mpy32  # noqa: E402

SCRIPT = os.path.join(TESTS_MP, "vm_conn_memory.py")
STATES = ("half_open", "established", "time_wait")


def roots(tree):
    """The core of tree (a revision's checkout, default this one) and this tree's harness."""
    return [os.path.join(tree or REPO, "shared"), os.path.join(REPO, "host")]


def cpython(profile, n, tree=None):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(roots(tree)))
    p = subprocess.run([sys.executable, SCRIPT, profile, str(n)], env=env, capture_output=True,
                       text=True, timeout=300, check=True)
    return p.stdout


def measure(runtime, profile, n, tree=None):
    if runtime == "CPython":
        out = cpython(profile, n, tree)
    elif runtime == "MicroPython x64":
        out = mpy32.run_unix(SCRIPT, roots(tree), heapsize=16 << 20, timeout=300,
                             args=(profile, n))
    else:
        out = mpy32.run(SCRIPT, roots(tree), heapsize=16 << 20, timeout=300, args=(profile, n))
    return json.loads(out.strip().splitlines()[-1])


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=50, help="connections per state (default 50)")
    args = p.parse_args()
    rows = []
    for runtime in ("CPython", "MicroPython x64", "MicroPython 32-bit"):
        for profile in ("board", "host"):
            r = measure(runtime, profile, args.n)
            rows.append((runtime, profile, r))
    print("bytes per connection, buffers excluded (buffers held, in brackets); N = %d" % args.n)
    print("| runtime | profile | half-open | idle established | TIME_WAIT |")
    print("|---|---|---:|---:|---:|")
    for runtime, profile, r in rows:
        print("| %s | %s | %s |" % (runtime, profile, " | ".join(
            "%d (%d)" % (r[s], r[s + "_buffers"]) for s in STATES)))


if __name__ == "__main__":
    main()
