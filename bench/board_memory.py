"""RAM the code costs a board, on the x64 unix MicroPython VM and the 32-bit one (WebAssembly,
tests/micropython/mpy32.py), from .mpy files as mpremote copies them to /lib: the heap held
after importing each core module a firmware imports (tests/micropython/vm_board_memory.py), an
idle ESTABLISHED TCP connection beyond its buffers (bench/conn_memory.py), and firmware/main.py
booted on the unix VM with a 192 KB heap: heap held and free.

    .venv/bin/python bench/board_memory.py [--baseline DIR] [--heap KB]

--baseline DIR: a tree of an older revision with shared/ and firmware/ (`git archive REV shared
firmware | tar -x -C DIR`), measured in the same run; the ratio is printed. gc.mem_alloc()
after gc.collect() is exact, so the figures repeat run to run.
"""

import argparse
import json
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "micropython"))
sys.path.insert(0, HERE)

import conn_memory  # noqa: E402
import mpy32  # noqa: E402

SCRIPT = os.path.join(REPO, "tests", "micropython", "vm_board_memory.py")
VMS = ("unix", "wasm")
MEASURE_HEAP = 4 << 20     # import costs are measured where they fit; the boot on --heap
# A board's firmware config: boards/virtual.json's apps, a static address, and the UDP tunnel
# NIC (the only one with a real peer in the unix VM: its own sockets) sending into the void.
BOOT_CONFIG = {"hostname": "barenet-mem", "net": {"mode": "static", "address": "192.0.2.2/24"},
               "link": {"driver": "udp_tunnel", "mac": "auto", "host": "127.0.0.1",
                        "port": 9},
               "apps": {"echo": 7, "discard": 9, "chargen": 19, "status": 80,
                        "discovery": 48879, "mdns": True},
               "log": "warning"}


def last_line(e):
    lines = [x for x in str(e).splitlines() if x.strip() and x.strip() != "stderr:"]
    return " / ".join(x.strip() for x in lines[-2:])


def build(tree, vm, tmp):
    """-> the VM's roots: the core and the firmware of tree as .mpy files for vm."""
    march = "x64" if vm == "unix" else None
    out = os.path.join(tmp, vm)
    mpy32.compile_tree(os.path.join(tree, "shared", "barenet"), out, march=march)
    roots = [out]
    fw = os.path.join(tree, "firmware")
    if os.path.exists(os.path.join(fw, "main.py")):
        mpy32.compile_tree(fw, out, march=march)
        roots.insert(0, os.path.join(out, "firmware"))
    return roots


def run(vm, roots, heap, args, timeout=300, romfs=False):
    if vm == "unix":
        out = mpy32.run_unix(SCRIPT, roots, heap, timeout, args, romfs=romfs)
    else:
        out = mpy32.run(SCRIPT, roots, heap, timeout, args)
    return json.loads(out.strip().splitlines()[-1])


def boot(roots, heap, cfg, romfs):
    try:
        return run("unix", roots, heap, ["firmware", cfg], romfs=romfs)
    except mpy32.VMError as e:      # the boot did not fit: say where
        return {"error": last_line(e)}


def measure(tree, heap_kb=192, conn=True, rom_heap_kb=None):
    """-> {"core": {vm: ...}, "core_rom": ..., "conn": {vm: bytes}, "boot": {...} or None,
    "boot_rom": ...} for the tree: "core" and "boot" from .mpy files in a file system (loaded
    into the heap), "core_rom" and "boot_rom" from a ROMFS (the x64 VM; bytecode in place,
    host/barenet_host/romfs.py). A boot is None without a firmware/main.py, {"error": where}
    if it did not fit; the ROMFS boot on rom_heap_kb (default heap_kb); conn False: no
    "conn"."""
    heap = heap_kb * 1024
    r = {"core": {}, "conn": {}, "boot": None, "boot_rom": None}
    with tempfile.TemporaryDirectory() as tmp:
        roots = {vm: build(tree, vm, tmp) for vm in VMS}
        for vm in VMS:
            r["core"][vm] = run(vm, roots[vm], MEASURE_HEAP, ["core"])
        r["core_rom"] = run("unix", roots["unix"], MEASURE_HEAP, ["core"], romfs=True)
        if len(roots["unix"]) > 1:
            cfg = os.path.join(tmp, "config.json")
            with open(cfg, "w") as f:
                json.dump(BOOT_CONFIG, f)
            r["boot"] = boot(roots["unix"], heap, cfg, False)
            r["boot_rom"] = boot(roots["unix"], (rom_heap_kb or heap_kb) * 1024, cfg, True)
    if conn:
        for vm, runtime in (("unix", "MicroPython x64"), ("wasm", "MicroPython 32-bit")):
            r["conn"][vm] = conn_memory.measure(runtime, "board", 20, tree)["established"]
    return r


def table(now, base):
    cols = ["x64 VM", "x64 VM, ROMFS", "32-bit VM"] + (["32-bit baseline", "ratio"] if base
                                                        else [])
    print("| module (in import order) | " + " | ".join(cols) + " | modules it loaded too |")
    print("|---|" + "---:|" * len(cols) + "---|")
    rows = [(m, n) for m, n, _ in now["core"]["unix"]["modules"]]
    pulled = {m: " ".join(x.replace("barenet.", "") for x in p)
              for m, _, p in now["core"]["wasm"]["modules"]}
    wasm = {m: n for m, n, _ in now["core"]["wasm"]["modules"]}
    rom = {m: n for m, n, _ in now["core_rom"]["modules"]}
    old = {m: n for m, n, _ in base["core"]["wasm"]["modules"]} if base else {}
    for m, n in rows + [("**core total**", None)]:
        u = now["core"]["unix"]["core"] if n is None else n
        w = now["core"]["wasm"]["core"] if n is None else wasm[m]
        cells = [u, now["core_rom"]["core"] if n is None else rom[m], w]
        if base:
            b = base["core"]["wasm"]["core"] if n is None else old[m]
            cells += [b, "%.2f" % (w / b) if b else "-"]
        print("| %s | %s | %s |" % (m, " | ".join(str(c) for c in cells), pulled.get(m, "")))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--baseline", metavar="DIR", help="a tree of an older revision")
    p.add_argument("--heap", type=int, default=192, metavar="KB",
                   help="the heap the firmware boots on (default 192 KB, an RP2040's)")
    args = p.parse_args()
    now = measure(REPO, args.heap)
    base = measure(args.baseline, args.heap) if args.baseline else None
    print("heap held after gc.collect(), bytes, modules as .mpy files (in a file system, or "
          "in a ROMFS)")
    table(now, base)
    print()
    for vm, name in (("unix", "x64 VM"), ("wasm", "32-bit VM")):
        print("idle ESTABLISHED connection beyond its buffers, %s: %d B%s" % (
            name, now["conn"][vm], " (baseline %d)" % base["conn"][vm] if base else ""))
    for key, where in (("boot", "files"), ("boot_rom", "a ROMFS")):
        b = now[key]
        if b and "error" in b:
            print("firmware on the x64 VM from %s, %d KB heap: does not boot: %s" % (
                where, args.heap, b["error"]))
        elif b:
            print("firmware booted on the x64 VM from %s, %d KB heap (%s): %d B held by the "
                  "boot, %d B held in all, %d B free" % (where, args.heap, " ".join(b["apps"]),
                                                         b["boot"], b["held"], b["free"]))


if __name__ == "__main__":
    main()
