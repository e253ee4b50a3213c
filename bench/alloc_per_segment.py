"""Heap bytes barenet allocates per TCP data segment, on the x64 unix MicroPython VM and on the
32-bit MicroPython VM (WebAssembly under Node.js), with the harness's own share split out.

    .venv/bin/python bench/alloc_per_segment.py [--segments 1000] [--source mpy] [--json FILE]

The in-VM script is tests/micropython/vm_alloc.py (the same file on both VMs): two stacks back
to back, A sending to B, frames handed over a burst at a time on a virtual clock; after the
warm-up (past slow start) gc.collect(); gc.disable() and gc.mem_alloc() deltas over at least
--segments data segments. The harness's allocations (its copy of every frame, the bytes object
each recv() returns) are measured and subtracted, so "core" is barenet's own figure. It is
split by phase of the runner's pass (A's send() calls, B's input() of the burst, ...).

Configurations: the core's default 16 KB buffers and bench/tcp_path.py's 256 KB; the sender's
ISN placed so that the whole measured window lies in [2**30, 2**32), the three quarters of
sequence space where a 32-bit port keeps sequence numbers as heap ints (an ISN of 2**32 - 5000
would wrap during the warm-up and measure small ints), or small ISNs that keep the whole run
below 2**30; the core's checksum as the VM picks it (viper on x64, int.from_bytes on the
WebAssembly VM, which has no native emitter) or a non-allocating plain word loop swapped in,
which is what a 32-bit board with viper gets; and, with small ISNs, tcp.seq's helpers swapped
for plain int arithmetic, which is what sequence numbers kept as small offsets would cost.
The swaps replace module bindings in the VM's memory only (vm_alloc.py SWAPS), never the
core's files; the differences between rows are what each part costs.

Then the pieces of a segment's path, per call in each VM: bytes allocated (gc off) and
microseconds (gc off, and gc on with a collection every 16 KB allocated).

--source mpy (the default) runs .mpy files from mpy-cross, as a board gets them (x64:
-march=x64, so viper is native code; WebAssembly: bytecode only, _csum_viper left out since it
cannot be compiled without a native arch); --source py runs the .py sources (the VMs compile
them; allocation figures are the same, only the import costs more heap).
"""

import argparse
import datetime
import json
import os
import platform
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
TESTS_MP = os.path.join(REPO, "tests", "micropython")
sys.path.insert(0, TESTS_MP)

import mpy32  # noqa: E402

SCRIPT = os.path.join(TESTS_MP, "vm_alloc.py")
CORE = os.path.join(REPO, "shared", "barenet")
WORDS = 2 ** 30
MSS = 1460

# (label, buffer bytes, ISNs "high" or "low", parts swapped in the VM's memory: see vm_alloc.py)
CONFIGS = [
    ("16 KB buffers (core default), ISNs near 2**32", 16384, "high", "-"),
    ("16 KB buffers, ISNs near 2**32, non-allocating csum (a board's viper)", 16384, "high",
     "csum"),
    ("16 KB buffers, small ISNs (run below 2**30)", 16384, "low", "-"),
    ("16 KB buffers, small ISNs, non-allocating csum", 16384, "low", "csum"),
    ("16 KB buffers, small ISNs, non-allocating csum, plain-int tcp.seq", 16384, "low",
     "csum,seq"),
    ("256 KB buffers (bench/tcp_path.py), ISNs near 2**32", 262144, "high", "-"),
]
# Data segments before measuring. One coalesced ACK per burst grows cwnd by at most 2 MSS a
# round trip in slow start (RFC 3465 L=2), so 256 KB buffers need ~8 000 segments to get there;
# the run checks that cwnd no longer mattered during the window (steady()).
WARMUP = {16384: 1000, 262144: 10000}
VMS = ("unix", "wasm")
VM_TITLES = {"unix": "x64 unix VM", "wasm": "32-bit wasm VM"}
# With gc disabled the window's garbage stays: the unix VM's heap is fixed, the WebAssembly
# VM's grows. Every gc.mem_alloc() walks the heap, so bigger is slower.
HEAP = {"unix": 16 << 20, "wasm": 16 << 20}
# The pieces run imports the whole core from source on the x64 VM: 1 MB stopped being enough
# when issue 8's modules (SYN cookies, TIME_WAIT records, reassembly, app limits) came in.
PIECES_HEAP = 2 << 20


def isns(kind, warmup, segments, buf):
    """-> (ISN of A, ISN of B). High: A's sequence numbers stay in [2**30, 2**32) until the
    window's end (a burst can overshoot the window by a send buffer's worth); B sends no data,
    so its sequence number stays at its ISN + 1."""
    if kind == "low":
        return 1000, 5000
    span = (warmup + segments) * MSS + 4 * buf + 65536
    isn_a = 2 ** 32 - span
    assert isn_a >= WORDS, "too many segments for one pass below the wrap"
    return isn_a, 2 ** 32 - 5000


def build_tree(source, vm, tmp):
    """The directory put on the VM's path: a copy of the core as .mpy files, or the sources."""
    if source == "py":
        return os.path.join(REPO, "shared"), []
    out = os.path.join(tmp, vm)
    left_out = mpy32.compile_tree(CORE, out, march="x64" if vm == "unix" else None)
    return out, left_out


def run_vm(vm, root, args, heap, timeout):
    if vm == "unix":
        return mpy32.run_unix(SCRIPT, root, heap, timeout, args)
    return mpy32.run(SCRIPT, root, heap, timeout, args)


def measure(vm, root, label, buf, isn_kind, swaps, segments, timeout=600):
    warmup = WARMUP[buf]
    isn_a, isn_b = isns(isn_kind, warmup, segments, buf)
    assert "seq" not in swaps or isn_kind == "low", "plain-int seq is only valid below 2**30"
    out = run_vm(vm, root, ["segments", segments, warmup, isn_a, isn_b, buf, swaps],
                 HEAP[vm], timeout)
    r = json.loads(out.strip().splitlines()[-1])
    check(r, isn_kind)
    r["label"] = label
    return r


def check(r, isn_kind):
    """What makes a run's figure mean what the table says; raises otherwise."""
    assert not r["errors"], "drops, retransmissions or internal errors: %r" % r["errors"]
    assert r["unattributed"] == 0, "the runner allocated outside its brackets: %r" % r
    assert r["received"] > 0 and r["segments"] > 0
    assert steady(r), "cwnd still moving, not in steady state: %r" % r
    lo, hi = r["snd_nxt_start"], r["snd_nxt_end"]
    if isn_kind == "high":
        assert WORDS <= lo < hi and r["isn_b"] >= WORDS, "window not in [2**30, 2**32)"
    else:
        assert hi < WORDS


def steady(r):
    """Past slow start: cwnd did not move during the window, or it was already above the
    buffers, which then bound the flight (with 256 KB buffers cwnd keeps creeping up)."""
    return r["cwnd_start"] == r["cwnd_end"] or r["cwnd_start"] >= r["buf"]


def per_seg(r, key):
    return r[key] / r["segments"]


def pieces(vm, root, timeout=600):
    out = run_vm(vm, root, ["pieces"], PIECES_HEAP, timeout)
    return json.loads(out.strip().splitlines()[-1])


def segment_table(results):
    lines = ["Heap bytes allocated per TCP data segment (both stacks), gc disabled, steady state",
             "", "%-58s %14s %16s" % ("", VM_TITLES["unix"], VM_TITLES["wasm"])]

    def row(name, vals, fmt="%14.0f %16.0f"):
        lines.append("%-58s " % name + fmt % tuple(vals))

    for i, (label, *_rest) in enumerate(CONFIGS):
        rs = [results[vm][i] for vm in VMS]
        lines.append(label)
        row("  total", [per_seg(r, "total") for r in rs])
        row("  harness: frame copies (bytes(frame) per frame)", [per_seg(r, "frame_copies")
                                                                  for r in rs])
        row("  harness: bytes objects recv() returned", [per_seg(r, "recv_returned")
                                                         for r in rs])
        row("  core", [per_seg(r, "core") for r in rs])
        for ph in PHASE_LABELS:
            row("    " + PHASE_LABELS[ph], [r["phases"][ph]["core"] / r["segments"] for r in rs])
        row("  data segments measured / ACK frames per data segment",
            [x for r in rs for x in (r["segments"], r["frames_ba"] / r["segments"])],
            "%8d / %4.2f %10d / %4.2f")
        lines.append("")
    lines.append("csum as picked: x64 %s, wasm %s. Harness payload: one preallocated view "
                 "passed to every send(), 0 B." % (results["unix"][0]["csum"],
                                                   results["wasm"][0]["csum"]))
    return lines


PHASE_LABELS = {
    "a_send": "A send() calls (segments out)",
    "b_input": "B input() of the data burst",
    "b_poll": "B poll() (ACKs, window updates)",
    "b_recv": "B recv() (less the returned bytes)",
    "a_input": "A input() of the ACKs (+ data sent there)",
    "a_poll": "A poll()",
}


def pieces_table(pc):
    lines = ["Pieces, per call in the VM: heap bytes (gc off); us with gc off / gc on",
             "", "%-44s %7s %7s %7s   %7s %7s %7s" % ("", "x64 B", "us", "us gc", "wasm B", "us",
                                                     "us gc")]
    for ru, rw in zip(pc["unix"]["rows"], pc["wasm"]["rows"]):
        assert ru[0] == rw[0]
        lines.append("%-44s %7.0f %7.2f %7.2f   %7.0f %7.2f %7.2f"
                     % (ru[0], ru[1], ru[2], ru[3], rw[1], rw[2], rw[3]))
    lines.append("")
    lines.append("csum as picked: x64 %s, wasm %s" % (pc["unix"]["csum_picked"],
                                                     pc["wasm"]["csum_picked"]))
    return lines


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--segments", type=int, default=1000, help="data segments measured")
    p.add_argument("--source", choices=("mpy", "py"), default="mpy")
    p.add_argument("--json", help="also write every figure to this file")
    args = p.parse_args()
    results = {vm: [] for vm in VMS}
    pc = {}
    with tempfile.TemporaryDirectory() as tmp:
        for vm in VMS:
            root, left_out = build_tree(args.source, vm, tmp)
            for label, buf, isn_kind, swaps in CONFIGS:
                results[vm].append(measure(vm, root, label, buf, isn_kind, swaps,
                                           args.segments))
            pc[vm] = pieces(vm, root)
            pc[vm]["left_out"] = left_out
    print("barenet %s, %s, %s files, %d data segments measured after a warm-up of %s"
          % (datetime.date.today().isoformat(), platform.machine(), args.source,
             args.segments, " / ".join("%d (%d KB buffers)" % (w, b // 1024)
                                       for b, w in sorted(WARMUP.items()))))
    print()
    print("\n".join(segment_table(results)))
    print()
    print("\n".join(pieces_table(pc)))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"segments": results, "pieces": pc, "args": vars(args)}, f, indent=1)


if __name__ == "__main__":
    main()
