"""RAM the stack itself costs a board: its modules loaded as .mpy files (what mpremote copies to
/lib) into the 32-bit MicroPython VM, then a "board" Stack with one Ethernet interface, the echo
service and the status page. gc.mem_alloc() after gc.collect(), before and after each step.

    .venv/bin/python bench/footprint.py [--baseline DIR] [--heap KB]

--baseline DIR: a tree with shared/barenet of an older revision (e.g. `git archive REV shared |
tar -x -C DIR`), measured in the same run; the ratio is printed. Modules frozen into a
firmware image keep their bytecode in flash instead, so this is the worst case.
"""

import argparse
import json
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "micropython"))

import mpy32  # noqa: E402

# Runs in the VM: one line of JSON, the bytes held after each step.
SCRIPT = """
import gc, json
steps = []
gc.collect()
base = gc.mem_alloc()
def mark(name):
    gc.collect()
    steps.append((name, gc.mem_alloc() - base))
from barenet.stack import Stack
mark("import barenet.stack")
from barenet.apps.echo import TCPEcho
from barenet.apps.status import StatusPage
mark("import apps (echo, status)")
class NIC:
    mtu = 1500
    mac = b"\\x02\\x00\\xc0\\x00\\x02\\x02"
    link = "ethernet"
    stats = {}
    def send(self, frame):
        pass
    def recv_into(self, buf):
        return 0
s = Stack("board")
s.add_interface(NIC(), mac=NIC.mac, ip="192.0.2.2/24", now_ms=0)
mark("Stack('board') + interface")
echo = TCPEcho(s, 7)
page = StatusPage(s, 80)
mark("echo + status page listening")
print(json.dumps(steps))
"""


def measure(shared, heap):
    with tempfile.TemporaryDirectory() as tmp:
        mpy32.compile_tree(os.path.join(shared, "barenet"), tmp)
        script = os.path.join(tmp, "footprint.py")
        with open(script, "w") as f:
            f.write(SCRIPT)
        return json.loads(mpy32.run(script, tmp, heapsize=heap, timeout=120).strip()
                          .splitlines()[-1])


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--baseline", metavar="DIR", help="a tree of an older revision (has shared/)")
    p.add_argument("--heap", type=int, default=190, metavar="KB",
                   help="the VM's heap, as an RP2040 MicroPython gives (default 190 KB)")
    args = p.parse_args()
    heap = args.heap * 1024
    now = measure(os.path.join(REPO, "shared"), heap)
    base = measure(os.path.join(args.baseline, "shared"), heap) if args.baseline else None
    print("32-bit MicroPython VM, %d KB heap, modules as .mpy in RAM: bytes held" % args.heap)
    print("| step | this tree |%s" % (" baseline | ratio |" if base else ""))
    print("|---|---:|%s" % ("---:|---:|" if base else ""))
    for i, (name, n) in enumerate(now):
        row = "| %s | %d |" % (name, n)
        if base:
            b = base[i][1]
            row += " %d | %.2f |" % (b, n / b)
        print(row)


if __name__ == "__main__":
    main()
