"""Every row of issue 13's table, each with a reference measured in the same run, the ratio,
the target and whether it is met: what `make bench` runs.

    sudo .venv/bin/python bench/run_all.py [--quick] [--only GROUP,...]

Groups (in this order):
  tap      TCP both ways (offload off and on), echo, UDP echo and ping against the kernel
           behind a Python TAP relay (bench/tcp_tap.py);
  path     the in-process TCP path, us CPU per segment (bench/twostack.py under CPython),
           against the core at this issue's start (BASE_REV, from `git archive`);
  start    `barenet serve` start to the first echo reply to a kernel ping, against a bare
           interpreter's start in the same run;
  idle     CPU and RSS of `serve` holding 1 000 idle kernel connections, against the same
           `serve` holding none;
  vm       MicroPython (x64 unix VM): the two stacks of `path` in the VM (.mpy as `barenet
           flash` makes them, and with the hot modules compiled to machine code) against the
           same stacks under CPython; the viper checksum against CPython's; heap bytes allocated
           per data segment on the 32-bit (WebAssembly) VM against the x64 VM's figure.
Root is needed for tap, start and idle (network namespaces and TAPs, 192.0.2.0/24 only).
--quick runs tiny sizes and short waits, for the test that keeps this driver working: its
figures are too small to mean anything.
"""

import argparse
import json
import os
import resource
import select
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "host"))
sys.path.insert(0, os.path.join(REPO, "tests", "micropython"))

import alloc_per_segment  # noqa: E402
import mpy32  # noqa: E402
import tcp_tap  # noqa: E402
from barenet_host.netns import NetNS, unique_name  # noqa: E402

# This start: the last commit before its first (0816ede, the relay references).
BASE_REV = "a2026fd"
KERNEL, PEER = tcp_tap.KERNEL, tcp_tap.PEER
PEER_MAC = "02:00:c0:00:02:02"
GROUPS = ("tap", "path", "start", "idle", "vm")
IDLE_CONNS = 1000

# Sizes: (full, quick).
SIZES = {
    "tap_mb": (50, 1), "tap_seconds": (3.0, 0.2), "tap_runs": (3, 1),
    "path_mb": (20, 1), "path_pairs": (3, 1),
    "start_runs": (5, 1),
    "idle_conns": (IDLE_CONNS, 20), "idle_seconds": (10.0, 1.0),
    "vm_mb_lo": (2, 1), "vm_mb": (10, 2), "vm_pairs": (3, 1), "alloc_segments": (1000, 100),
}


def ratio(got, ref):
    """got / ref; NaN (printed "nan") when the reference measured nothing at all."""
    return got / ref if ref else float("nan")


def serve_argv(tap, *extra):
    return [sys.executable, "-m", "barenet_host.cli", "serve", "--tap", tap, "--ip",
            PEER + "/24", "--mac", PEER_MAC] + list(extra)


def tap_ns(ns):
    """A TAP in ns with the kernel's address; -> its name."""
    tap = unique_name("bt")
    ns.tuntap_add(tap)
    ns.addr(tap, KERNEL + "/24")
    ns.up(tap)
    return tap


def rows_tap(size):
    ref, rates, costs, _ = tcp_tap.run(size("tap_mb"), size("tap_seconds"), size("tap_runs"))
    return tcp_tap.table_rows(ref, rates, costs)


def path_cpu(tree, mb):
    """us CPU per data segment of bench/tcp_path.py's transfer, with the core at tree/shared
    (None: this one)."""
    env = dict(os.environ)
    if tree is not None:
        env["PYTHONPATH"] = os.path.join(tree, "shared")
    out = subprocess.run([sys.executable, os.path.join(HERE, "tcp_path.py"), "--mb", str(mb),
                          "--runs", "1"], env=env, capture_output=True, text=True, check=True,
                         timeout=600).stdout
    return float(out.split(" us CPU")[0].rsplit(" ", 1)[1])


def rows_path(size):
    figure = "in-process TCP path (us CPU per segment)"
    with tempfile.TemporaryDirectory() as base:
        try:
            archive = subprocess.run(["git", "-C", REPO, "archive", BASE_REV, "shared"],
                                     capture_output=True, check=True, timeout=60).stdout
        except (OSError, subprocess.CalledProcessError) as e:
            return [{"figure": figure, "note": "no git history for %s: %s" % (BASE_REV, e)}]
        subprocess.run(["tar", "-x", "-C", base], input=archive, check=True, timeout=60)
        new, old = [], []
        for _ in range(size("path_pairs")):      # interleaved pairs
            old.append(path_cpu(base, size("path_mb")))
            new.append(path_cpu(None, size("path_mb")))
    got, ref = tcp_tap.median(new), tcp_tap.median(old)
    return [{"figure": figure, "value": got, "reference": "core at " + BASE_REV, "ref": ref,
             "ratio": got / ref, "target": "<= 0.5", "met": got / ref <= 0.5,
             "note": "median of %d interleaved pairs, %d MB" % (size("path_pairs"),
                                                                size("path_mb"))}]


def first_reply_s(ns, argv):
    """Seconds from starting argv (in ns) to the first echo reply to a kernel ping that runs
    every 2 ms from before the start; -> (seconds, the started process, stopped)."""
    # stdbuf: ping block-buffers a pipe, and each reply is wanted as it comes.
    ping = ns.popen(["stdbuf", "-oL", "ping", "-D", "-n", "-i", "0.002", "-w", "20", PEER],
                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        ping.stdout.readline()                  # "PING ...": it is sending
        t0 = time.time()
        proc = ns.popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for line in ping.stdout:            # "[1764700000.123456] 64 bytes from ..."
                if "bytes from" in line:
                    return float(line[1:line.index("]")]) - t0
            raise SystemExit("no ping reply from `barenet serve` in 20 s")
        finally:
            tcp_tap.stop(proc)
    finally:
        ping.kill()
        ping.wait(10)


def interpreter_start_s():
    """Wall seconds for the bare interpreter to start and exit (`python -c pass`)."""
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True, timeout=60)
    return time.perf_counter() - t0


def rows_start(size):
    runs = size("start_runs")
    got, ref = [], []
    with NetNS() as ns:
        tap = tap_ns(ns)
        # A permanent neighbour entry: the kernel sends its echo requests at once instead of
        # waiting on ARP (an unanswered ARP request is only retried after a second).
        ns.ip("neigh", "replace", PEER, "lladdr", PEER_MAC, "dev", tap, "nud", "permanent")
        for _ in range(runs):
            ref.append(interpreter_start_s())
            got.append(first_reply_s(ns, serve_argv(tap, "--offload", "off")))
    g, r = tcp_tap.median(got), tcp_tap.median(ref)
    return [{"figure": "serve start to first ping reply (s)", "value": g,
             "reference": "python -c pass", "ref": r, "ratio": g / r, "target": "< 0.3 s",
             "met": g < 0.3, "note": "median of %d; ping every 2 ms" % runs}]


# Holds n kernel connections to barenet's discard service open, sending nothing, until its
# stdin closes. Prints "ready" once all are established.
HOLDER = r"""
import resource, socket, sys
n = int(sys.argv[2])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, n + 64)), hard))
conns = [socket.create_connection((sys.argv[1], 9), timeout=30) for _ in range(n)]
print("ready", flush=True)
sys.stdin.read()
"""


def proc_status(pid):
    """/proc/PID/status as a dict of its first field per line."""
    with open("/proc/%d/status" % pid) as f:
        return dict((k, v.split()[0]) for k, v in (ln.split(":", 1) for ln in f) if v.split())


def run_ns(pid):
    """Nanoseconds pid's threads have run on a CPU (the first field of each thread's
    /proc/PID/task/TID/schedstat): finer than /proc/PID/stat's clock ticks, which count an
    idle process's few wake-ups as 0 or 10 ms."""
    total = 0
    for tid in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
            total += int(f.read().split()[0])
    return total


def idle_figures(ns, tap, conns, seconds):
    """`serve` with conns idle kernel connections: -> (CPU %, RSS MiB, wake-ups per second)
    over `seconds`, after a second to settle."""
    srv = ns.popen(serve_argv(tap, "--apps", "discard", "--offload", "off",
                              "--app-max-conns", str(max(conns, 4)),
                              "--app-max-per-peer", str(max(conns, 4)), "--app-idle-ms", "0"),
                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    holder = None
    try:
        tcp_tap.wait_line(srv, "barenet: serving")
        if conns:
            holder = ns.popen([sys.executable, "-c", HOLDER, PEER, str(conns)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            ready, _, _ = select.select([holder.stdout], [], [], 120)
            if not ready or holder.stdout.readline().strip() != "ready":
                raise SystemExit("the idle connections were not all established")
        time.sleep(1.0)
        st0, cpu0, t0 = proc_status(srv.pid), run_ns(srv.pid), time.monotonic()
        time.sleep(seconds)
        st1, cpu1, t1 = proc_status(srv.pid), run_ns(srv.pid), time.monotonic()
        wakes = (int(st1["voluntary_ctxt_switches"]) - int(st0["voluntary_ctxt_switches"]))
        return ((cpu1 - cpu0) / 1e9 / (t1 - t0) * 100, int(st1["VmRSS"]) / 1024.0,
                wakes / (t1 - t0))
    finally:
        if holder is not None:
            holder.stdin.close()
            holder.wait(30)
        tcp_tap.stop(srv)


def rows_idle(size):
    n, secs = size("idle_conns"), size("idle_seconds")
    with NetNS() as ns:
        tap = tap_ns(ns)
        cpu0, rss0, wake0 = idle_figures(ns, tap, 0, secs)
        cpu, rss, wake = idle_figures(ns, tap, n, secs)
    note = "over %g s; wake-ups/s %.1f (with none: %.1f)" % (secs, wake, wake0)
    return [{"figure": "serve idle CPU, %d idle conns (%%)" % n, "value": cpu,
             "reference": "serve, no connections", "ref": cpu0,
             "ratio": ratio(cpu, cpu0),
             "target": "< 1 %", "met": cpu < 1.0, "note": note},
            {"figure": "serve RSS, %d idle conns (MiB)" % n, "value": rss,
             "reference": "serve, no connections", "ref": rss0, "ratio": rss / rss0,
             "target": "< 64 MiB", "met": rss < 64, "note": ""}]


# The core's modules on the TCP data path, for the row that compiles them to machine code
# (mpy32.compile_tree's native; the rest stays bytecode).
NATIVE_HOT = ("tcp/", "wire/", "ip.py", "iface.py", "stack.py")


def twostack_cpu_s(root, mb):
    """CPU seconds (user + system, from the child's rusage) of bench/twostack.py moving mb MB
    once, under the x64 MicroPython VM with the core from root, or (root None) CPython."""
    script = os.path.join(HERE, "twostack.py")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    if root is not None:
        mpy32.run_unix(script, [root, HERE], 64 << 20, 600, [mb, 1])
    else:
        subprocess.run([sys.executable, script, str(mb), "1"], capture_output=True, check=True,
                       timeout=600)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def twostack_mbps(root, lo, hi):
    """MB/s of CPU of the transfer alone: the CPU of moving hi MB less that of lo MB, so the
    interpreter's start and the imports cancel out."""
    return (hi - lo) / (twostack_cpu_s(root, hi) - twostack_cpu_s(root, lo))


def vm_csum_us():
    """us per 1460-byte checksum: (the VM's viper, CPython's int.from_bytes)."""
    out = subprocess.run([sys.executable, os.path.join(HERE, "checksum.py")],
                         capture_output=True, text=True, check=True, timeout=300).stdout
    us = dict((ln[:28].strip(), float(ln[28:].split()[0])) for ln in out.splitlines()[1:])
    return us["MicroPython viper"], us["CPython int.from_bytes"]


def alloc_core_per_segment(vm, segments, tmp):
    """Heap bytes the core allocates per data segment (both stacks) on vm ("unix" x64 or
    "wasm" 32-bit), with the core's defaults (16 KB buffers, ISNs near 2**32), from .mpy."""
    label, buf, isn_kind, swaps = alloc_per_segment.CONFIGS[0]
    root, _ = alloc_per_segment.build_tree("mpy", vm, tmp)
    r = alloc_per_segment.measure(vm, root, label, buf, isn_kind, swaps, segments)
    return alloc_per_segment.per_seg(r, "core")


def rows_vm(size):
    lo, hi, pairs = size("vm_mb_lo"), size("vm_mb"), size("vm_pairs")
    core = os.path.join(REPO, "shared", "barenet")
    with tempfile.TemporaryDirectory() as tmp:
        # .mpy for x64 as `barenet flash` makes them (bytecode, the viper csum in machine
        # code), and the same with the hot modules compiled to machine code.
        trees = {"mpy": os.path.join(tmp, "mpy"), "native": os.path.join(tmp, "native")}
        mpy32.compile_tree(core, trees["mpy"], march="x64")
        mpy32.compile_tree(core, trees["native"], march="x64", native=NATIVE_HOT)
        got = dict((k, []) for k in ("cpython", "mpy", "native"))
        for _ in range(pairs):                  # interleaved
            got["cpython"].append(twostack_mbps(None, lo, hi))
            for k in trees:
                got[k].append(twostack_mbps(trees[k], lo, hi))
    med = dict((k, tcp_tap.median(v)) for k, v in got.items())
    note = "MB/s of CPU, %d MB less %d MB, median of %d" % (hi, lo, pairs)
    rows = [{"figure": figure, "value": med[k], "reference": "same stacks on CPython",
             "ref": med["cpython"], "ratio": med[k] / med["cpython"], "target": ">= 1.0",
             "met": med[k] >= med["cpython"], "note": note}
            for k, figure in (("mpy", "MicroPython x64 VM, two stacks, TCP (MB/s)"),
                              ("native", "the same, hot modules emit=native (MB/s)"))]
    viper, cpython = vm_csum_us()
    rows.append({"figure": "MicroPython viper csum, 1460 B (us)", "value": viper,
                 "reference": "CPython int.from_bytes", "ref": cpython,
                 "ratio": viper / cpython, "target": "(none)", "met": None,
                 "note": "ratio of times"})
    with tempfile.TemporaryDirectory() as tmp:
        segs = size("alloc_segments")
        wasm = alloc_core_per_segment("wasm", segs, tmp)
        x64 = alloc_core_per_segment("unix", segs, tmp)
    rows.append({"figure": "32-bit VM heap bytes per data segment", "value": wasm,
                 "reference": "x64 unix VM", "ref": x64,
                 "ratio": ratio(wasm, x64),
                 "target": "0 B", "met": wasm == 0,
                 "note": "core only, 16 KB buffers, %d segments" % segs})
    return rows


def plot_transfer(png, mb):
    """A time-sequence graph of one transfer: `serve --offload off` sending mb MB from chargen
    to the kernel, captured by tcpdump on the kernel's side of the TAP and drawn by `barenet
    plot`; -> plot's one-line summary. Not barenet's own --pcap: it stamps every frame of a
    loop step with the step's millisecond clock and flushes per frame, which draws gaps that
    are not on the wire."""
    with NetNS() as ns, tempfile.TemporaryDirectory() as tmp:
        tap = tap_ns(ns)
        pcap = os.path.join(tmp, "transfer.pcap")
        dump = ns.popen(["tcpdump", "-i", tap, "-U", "-w", pcap, "tcp"],
                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        srv = ns.popen(serve_argv(tap, "--apps", "chargen", "--offload", "off"),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            ready, _, _ = select.select([dump.stderr], [], [], 20)
            if not ready or "listening on" not in dump.stderr.readline():
                raise SystemExit("tcpdump did not start")
            tcp_tap.wait_line(srv, "barenet: serving")
            r = ns.run([sys.executable, "-c", tcp_tap.CLIENT, PEER, "from_peer", str(mb), "0"],
                       timeout=tcp_tap.TIMEOUT_S)
            if r.returncode != 0:
                raise SystemExit("client failed: " + r.stderr)
        finally:
            tcp_tap.stop(srv)
            tcp_tap.stop(dump)
        p = subprocess.run([sys.executable, "-m", "barenet_host.cli", "plot", pcap, "-o", png],
                           capture_output=True, text=True, timeout=300)
        if p.returncode != 0:
            raise SystemExit(p.stderr.strip())
        return (p.stdout + p.stderr).strip()


ROWS = {"tap": rows_tap, "path": rows_path, "start": rows_start, "idle": rows_idle,
        "vm": rows_vm}
NEEDS_ROOT = ("tap", "start", "idle")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true",
                   help="tiny sizes: checks that every row runs, measures nothing useful")
    p.add_argument("--only", default=",".join(GROUPS),
                   help="comma-separated groups to run, of: " + ",".join(GROUPS))
    p.add_argument("--json", metavar="FILE", help="also write the rows to FILE (a JSON list)")
    p.add_argument("--plot", metavar="PNG", help="instead of the rows, draw a time-sequence "
                   "graph of one barenet -> kernel transfer (--plot-mb MB) to PNG")
    p.add_argument("--plot-mb", type=int, default=2, help="MB for --plot (default 2)")
    args = p.parse_args()
    groups = [g for g in args.only.split(",") if g]
    unknown = [g for g in groups if g not in ROWS]
    if unknown:
        raise SystemExit("bench/run_all.py: unknown group %s (known: %s)"
                         % (",".join(unknown), ",".join(GROUPS)))
    if os.geteuid() != 0 and any(g in NEEDS_ROOT for g in groups):
        raise SystemExit("bench/run_all.py: %s need root (TAPs, network namespaces); "
                         "--only path,vm runs without" % ",".join(NEEDS_ROOT))
    if args.plot:
        if os.geteuid() != 0:
            raise SystemExit("bench/run_all.py: --plot needs root (a TAP in a namespace)")
        print(plot_transfer(args.plot, args.plot_mb))
        return
    size = lambda key: SIZES[key][args.quick]  # noqa: E731
    rows = []
    t0 = time.monotonic()
    for g in groups:
        print("== %s" % g, flush=True)
        t = time.monotonic()
        rows += ROWS[g](size)
        print("   (%s: %.0f s)" % (g, time.monotonic() - t), flush=True)
    print("\nbarenet issue 13, %s, %s%s, %.0f s" % (
        time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "--quick " if args.quick else "",
        "--only " + ",".join(groups), time.monotonic() - t0))
    tcp_tap.print_rows(rows)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
