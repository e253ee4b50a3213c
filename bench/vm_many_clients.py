"""How many kernel chat clients a board heap holds (issue 9 item 8, root): examples/chat_poll.py
in the x64 MicroPython VM with the board profile and `-X heapsize=H`, over the UDP tunnel to
a TAP in a netns (tests/interop/vm_many.py). For each heap, max_connections is raised step by
step (a Stack override; as many clients as it allows, each sending LINES lines every other one
gets, and one more refused) until a run fails; prints the largest that passed, the heap free
at its peak, and what broke beyond.

    sudo .venv/bin/python bench/vm_many_clients.py [--heaps 192,512,640,768] [--step 4]

Bounded: each run ends in 25 s at most, the whole below 2 minutes when nothing hangs.
"""

import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "interop"))

from barenet_host.devices.tap import TapDevice  # noqa: E402
from barenet_host.netns import NetNS, unique_name  # noqa: E402
from conftest import KERNEL_CIDR  # noqa: E402
from vm_many import serve_many  # noqa: E402

LINES = 3
BUDGET_S = 110


def _broke(n, vm, rc, err, clients, c_err):
    if rc != 0 or vm is None:
        lines = [ln.strip() for ln in err.strip().splitlines() if ln.strip()]
        where = [ln for ln in lines if ln.startswith("File")]
        return "VM exit %s: %s (%s)" % (rc, lines[-1] if lines else "?",
                                        where[-1].replace(REPO + "/", "") if where else "?")
    if clients is None:
        last = c_err.strip().splitlines()
        return "VM alive (refused_nomem %d), the clients failed: %s" % (
            vm["tcp"].get("refused_nomem", 0), last[-1] if last else "no output")
    return "%d of %d joined, %d reset for want of heap (refused_nomem), heap free %s" % (
        clients["joined"], n, vm["tcp"].get("refused_nomem", 0), vm["free_at_peak"])


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--heaps", default="192,512,640,768", help="heap sizes in KB")
    p.add_argument("--step", type=int, default=4, help="max_connections step (from 8)")
    args = p.parse_args()
    start = time.monotonic()
    rows = []
    with NetNS() as ns:
        tap = TapDevice(unique_name("t"))
        try:
            ns.move(tap.name)
            ns.addr(tap.name, KERNEL_CIDR)
            ns.up(tap.name)
            for kb in [int(x) for x in args.heaps.split(",")]:
                best, broke, n = None, None, 8
                while time.monotonic() - start < BUDGET_S:
                    vm, rc, err, clients, c_err = serve_many(ns, tap, kb * 1024, n, n, LINES,
                                                         timeout_s=25)
                    ok = (rc == 0 and vm is not None and clients is not None
                          and clients["missing"] == 0 and not clients["errors"]
                          and clients["joined"] == n and clients["extra"] == "ECONNREFUSED")
                    if not ok:
                        broke = "%d: %s" % (n, _broke(n, vm, rc, err, clients, c_err))
                        break
                    best = (n, vm["free_at_peak"], vm["heap"])
                    n += args.step
                rows.append((kb, best, broke))
        finally:
            tap.close()
    print("x64 MicroPython VM, board profile, chat_poll, %d lines per client" % LINES)
    print("| heap | most connections that all exchanged | heap free at that peak | beyond |")
    print("|---:|---:|---:|---|")
    for kb, best, broke in rows:
        print("| %d KB | %s | %s | %s |" % (kb, best[0] if best else "none",
                                          best[1] if best else "-", broke or "(time budget)"))
    print("%.0f s" % (time.monotonic() - start))


if __name__ == "__main__":
    main()
