"""TCP throughput, echo rates and ping: the Linux kernel against barenet over a TAP (MTU 1500),
with the same client against kernel references measured in the same run (issue 13's table).

Run as root: `.venv/bin/python bench/tcp_tap.py [--mb 50] [--seconds 3]`. Everything happens in
network namespaces made here and deleted at the end (../shared/NETWORK-RULES.md). Each figure is
measured by the same client script (CLIENT below, run by the kernel in a namespace) against:
  veth:      a kernel server in a second namespace, over veth (192.0.2.1 -> 192.0.2.2): the
             ceiling;
  relay:     the same kernel server behind a minimal Python relay between two TAPs
             (bench/tap_relay.py), plain frames: the fair floor barenet must beat;
  relay+off: the same relay with IFF_VNET_HDR and TUNSETOFFLOAD on both TAPs (GSO super-frames
             passed whole);
  barenet:   `barenet serve --apps discard,chargen,echo --udp-echo 7` on a TAP, once per
             `--offload` setting.
"""

import argparse
import json
import os
import select
import signal
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "host"))

from barenet_host.netns import NetNS, unique_name  # noqa: E402
from tap_relay import relay_reference  # noqa: E402

KERNEL = "192.0.2.1"
PEER = "192.0.2.2"
TIMEOUT_S = 120

# The measuring client: kernel sockets, bounded in bytes and time. Prints one JSON line.
CLIENT = r"""
import json, socket, sys, time
host, phase, mb, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
total = mb * 1000000
def conn(port):
    s = socket.create_connection((host, port), timeout=30)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s
out = {}
if phase == "to_peer":
    # send `total` bytes to discard, then wait for the peer's FIN (all consumed).
    s = conn(9); chunk = b"x" * 65536; sent = 0; t = time.perf_counter()
    while sent < total:
        sent += s.send(chunk[:min(65536, total - sent)])
    s.shutdown(socket.SHUT_WR)
    while s.recv(65536):
        pass
    out[phase] = total / (time.perf_counter() - t) / 1e6; s.close()
elif phase == "from_peer":
    # read `total` bytes from chargen.
    s = conn(19); got = 0; t = time.perf_counter()
    while got < total:
        d = s.recv(262144)
        if not d:
            raise SystemExit("chargen closed early")
        got += len(d)
    out[phase] = total / (time.perf_counter() - t) / 1e6; s.close()
elif phase == "udp_echo":
    # 64-byte datagram round trips for `seconds`; a datagram lost is sent again after 50 ms.
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.connect((host, 7)); s.settimeout(0.05)
    msg = b"u" * 64; n = 0; t = time.perf_counter(); end = t + seconds
    while time.perf_counter() < end:
        s.send(msg)
        try:
            if s.recv(2048) == msg:
                n += 1
        except socket.timeout:
            pass
    out[phase] = n / (time.perf_counter() - t); s.close()
else:
    # 64-byte round trips, one connection, for `seconds`.
    s = conn(7); msg = b"e" * 64; n = 0; t = time.perf_counter(); end = t + seconds
    while time.perf_counter() < end:
        s.sendall(msg); got = 0
        while got < 64:
            got += len(s.recv(64 - got))
        n += 1
    out[phase] = n / (time.perf_counter() - t); s.close()
print(json.dumps(out))
"""

# The reference's kernel server: discard (9), chargen-like source (19), echo (7).
SERVER = r"""
import socket, threading
def serve(port, fn):
    l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l.bind(("0.0.0.0", port)); l.listen(8)
    def loop():
        while True:
            c, _ = l.accept()
            c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=fn, args=(c,), daemon=True).start()
    threading.Thread(target=loop, daemon=True).start()
def discard(c):
    while c.recv(262144):
        pass
    c.close()
def chargen(c):
    block = bytes(range(32, 127)) * 690
    try:
        while True:
            c.sendall(block)
    except OSError:
        c.close()
def echo(c):
    while True:
        d = c.recv(65536)
        if not d:
            break
        c.sendall(d)
    c.close()
def udp_echo():
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("0.0.0.0", 7))
    while True:
        d, a = u.recvfrom(65536); u.sendto(d, a)
serve(9, discard); serve(19, chargen); serve(7, echo)
threading.Thread(target=udp_echo, daemon=True).start()
print("ready", flush=True)
threading.Event().wait(600)
"""


def wait_line(proc, prefix):
    ready, _, _ = select.select([proc.stdout], [], [], 20)
    line = proc.stdout.readline() if ready else ""
    if not line.startswith(prefix):
        proc.kill()
        raise SystemExit("server did not start: %r %r" % (line, proc.stderr.read()))
    return line


def stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        return proc.communicate(timeout=20)[0]
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.communicate()[0]


PHASES = ("to_peer", "from_peer", "echo", "udp_echo", "ping")
NAMES = {"to_peer": "TCP kernel -> peer (MB/s)", "from_peer": "TCP peer -> kernel (MB/s)",
         "echo": "TCP echo 64 B (rt/s)", "udp_echo": "UDP echo 64 B (rt/s)",
         "ping": "ping average (ms)"}
PING = ["ping", "-q", "-c", "200", "-i", "0.005", "-s", "56", PEER]
# The table: (barenet side, phase, reference side, target ratio). For ping the ratio is
# barenet's time over the reference's and must stay at or under the target; for the rest it is
# barenet's rate over the reference's and must reach the target.
ROWS = [("off", "to_peer", "relay", 1.1), ("off", "from_peer", "relay", 1.1),
        ("on", "to_peer", "relay_offload", 0.5), ("on", "from_peer", "relay_offload", 0.5),
        ("off", "echo", "relay", 1.0), ("off", "udp_echo", "relay", 1.0),
        ("off", "ping", "relay", 1.0)]
LOWER_IS_BETTER = ("ping",)


def cpu_s(pid):
    """User + system CPU seconds of process pid, all its threads (proc(5) stat fields 14, 15)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(ns, mb, seconds, server_pid=None):
    """One client run per phase; with server_pid, also the server's CPU seconds per phase."""
    out, cpu = {}, {}
    for phase in PHASES:
        before = cpu_s(server_pid) if server_pid else 0
        if phase == "ping":
            out[phase] = ping_avg_ms(ns)
            continue
        r = ns.run([sys.executable, "-c", CLIENT, PEER, phase, str(mb), str(seconds)],
                   timeout=TIMEOUT_S)
        if r.returncode != 0:
            raise SystemExit("client failed: " + r.stderr)
        out.update(json.loads(r.stdout))
        if server_pid:
            cpu[phase] = cpu_s(server_pid) - before
    return out, cpu


def ping_avg_ms(ns):
    """The average round trip of PING's echo requests from ns, from its summary line
    ("rtt min/avg/max/mdev = 0.031/0.045/0.090/0.010 ms")."""
    r = ns.run(PING, timeout=TIMEOUT_S)
    if r.returncode != 0 or "/avg/" not in r.stdout:
        raise SystemExit("ping failed: " + r.stdout + r.stderr)
    return float(r.stdout.rsplit("=", 1)[1].split("/")[1])


def relay(mb, seconds, offload):
    """The kernel behind a Python relay between two TAPs (bench/tap_relay.py)."""
    with relay_reference(KERNEL, PEER, [sys.executable, "-c", SERVER], offload,
                         wait_line) as ns:
        return measure(ns, mb, seconds)[0]


def reference(mb, seconds):
    """Kernel to kernel over a veth pair between two namespaces."""
    with NetNS() as a, NetNS() as b:
        va, vb = unique_name("va"), unique_name("vb")
        a.ip("link", "add", va, "type", "veth", "peer", "name", vb)
        a.ip("link", "set", vb, "netns", b.name)
        a.addr(va, KERNEL + "/24")
        a.up(va)
        b.addr(vb, PEER + "/24")
        b.up(vb)
        srv = b.popen([sys.executable, "-c", SERVER], stdout=subprocess.PIPE,
                      stderr=subprocess.PIPE, text=True)
        try:
            wait_line(srv, "ready")
            return measure(a, mb, seconds)[0]
        finally:
            stop(srv)


def barenet(mb, seconds, serve_args=(), quiet=False, tree=None):
    """The kernel against `barenet serve` on a TAP in the same namespace.

    With `--offload off` the TAP is plain (no IFF_VNET_HDR, no TUNSETOFFLOAD), so every frame
    either way is a real one of at most MTU + 14 bytes; with `--offload on` both sides hand
    over TSO super-frames of up to 64 KB.
    tree: run barenet from another checkout (its shared/ and host/), for A/B comparisons; one
    without `--offload` is given serve_args without it."""
    env = None
    if tree is not None:
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            os.path.join(os.path.abspath(tree), d) for d in ("shared", "host")))
    with NetNS() as ns:
        tap = unique_name("bt")
        ns.tuntap_add(tap)
        ns.addr(tap, KERNEL + "/24")
        ns.up(tap)
        srv = ns.popen([sys.executable, "-m", "barenet_host.cli", "serve", "--tap", tap,
                        "--ip", PEER + "/24", "--apps", "discard,chargen,echo", "--udp-echo", "7"] + list(serve_args),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        try:
            wait_line(srv, "barenet: serving")
            return measure(ns, mb, seconds, srv.pid)
        finally:
            summary = (stop(srv) or "").strip()
            if not quiet:
                print("  " + summary.replace("\n", "\n  "))
            # Without offloads the runner reads into an MTU + 14 byte buffer: a larger frame (a
            # GSO super-frame) would arrive truncated and be dropped by the IPv4 length check.
            # None may be, either way.
            if "drop_length" in summary or "drop_short" in summary:
                raise SystemExit("barenet dropped malformed or oversized frames: " + summary)


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def summarize(bns, cpus, mb, seconds):
    """Medians of the runs: rates, and the server's CPU per unit of work, which stays steadier
    than a wall-clock rate when other work shares the machine."""
    rate = dict((k, median([r[k] for r in bns])) for k in PHASES)
    cost = {"to_peer": median([c["to_peer"] / mb for c in cpus]) * 1e3,
            "from_peer": median([c["from_peer"] / mb for c in cpus]) * 1e3,
            "echo": median([c["echo"] / max(1.0, b["echo"] * seconds)
                            for c, b in zip(cpus, bns)]) * 1e6}
    return rate, cost


UNITS = {"to_peer": "ms/MB", "from_peer": "ms/MB", "echo": "us/rt"}


# barenet's sides: the extra `serve` arguments of each `--offload` setting the table names.
SIDES = {"off": ["--offload", "off"], "on": ["--offload", "on"]}
REFERENCES = {"veth": "kernel/veth", "relay": "kernel behind relay",
              "relay_offload": "relay, offloads"}


def table_rows(refs, sides, costs):
    """Each of the issue's rows measured here (print_rows' dicts): barenet's figure, its
    same-run reference, the ratio, the target; refs and sides map a side name to its median
    figures."""
    rows = []
    for side, k, ref, target in ROWS:
        name = "%s, offload %s" % (NAMES[k], side)
        if side not in sides or ref not in refs:
            rows.append({"figure": name, "note": "no same-run reference (--no-reference)"})
            continue
        got, base = sides[side][k], refs[ref][k]
        ratio = got / base
        low = k in LOWER_IS_BETTER
        cost = ("%.2f %s" % (costs[side][k], UNITS[k])) if k in costs[side] else ""
        rows.append({"figure": name, "value": got, "reference": REFERENCES[ref], "ref": base,
                     "ratio": ratio, "target": ("<= %g (time)" if low else ">= %g") % target,
                     "met": ratio <= target if low else ratio >= target, "note": cost})
    return rows


def print_rows(rows):
    """The table every benchmark here prints: figure, barenet's value, the reference measured
    in the same run and its value, their ratio, the target and whether it is met. A row
    without "value" was not measured; "met" None means the issue sets no target."""
    print("%-46s %10s  %-26s %10s %8s  %-14s %-8s %s" % (
        "figure", "barenet", "reference (same run)", "", "ratio", "target", "", "note"))
    for r in rows:
        if "value" not in r:
            print("%-46s %10s  (not measured: %s)" % (r["figure"], "-", r.get("note", "")))
            continue
        met = {True: "met", False: "NOT met", None: "-"}[r["met"]]
        print("%-46s %10.4g  %-26s %10.4g %8.3f  %-14s %-8s %s" % (
            r["figure"], r["value"], r["reference"], r["ref"], r["ratio"], r["target"], met,
            r.get("note", "")), flush=True)


def print_table(refs, sides, costs):
    print_rows(table_rows(refs, sides, costs))
    if "veth" in refs:
        print("ceiling, kernel/veth: " + "  ".join("%s %.2f" % (k, refs["veth"][k])
                                                   for k in PHASES))


def run(mb, seconds, runs, serve_args=(), reference_too=True, baseline=None):
    """Every side, interleaved `runs` times -> (refs, rates, costs, baseline (rates, costs)
    or None): medians."""
    quiet = runs > 1
    refs = dict((r, []) for r in REFERENCES)
    bns = dict((s, []) for s in SIDES)
    cpus = dict((s, []) for s in SIDES)
    base_bns, base_cpus = [], []
    show = lambda f: "  ".join("%s %.4g" % (k, f[k]) for k in PHASES)  # noqa: E731
    for _ in range(runs):
        # Interleaved, so a change in the machine's load hits every side alike.
        if reference_too:
            refs["veth"].append(reference(mb, seconds))
            refs["relay"].append(relay(mb, seconds, False))
            refs["relay_offload"].append(relay(mb, seconds, True))
            for r in REFERENCES:
                print("  %-14s %s" % (r + ":", show(refs[r][-1])), flush=True)
        if baseline:
            bn, cpu = barenet(mb, seconds, list(serve_args), quiet, baseline)
            base_bns.append(bn)
            base_cpus.append(cpu)
            print("  baseline:      " + show(bn), flush=True)
        for side, extra in SIDES.items():
            bn, cpu = barenet(mb, seconds, extra + list(serve_args), quiet)
            bns[side].append(bn)
            cpus[side].append(cpu)
            print("  %-14s %s" % ("offload " + side + ":", show(bn)), flush=True)
    ref = dict((r, dict((k, median([x[k] for x in refs[r]])) for k in PHASES))
               for r in REFERENCES if refs[r])
    rates, costs = {}, {}
    for side in SIDES:
        rates[side], costs[side] = summarize(bns[side], cpus[side], mb, seconds)
    base = summarize(base_bns, base_cpus, mb, seconds) if baseline else None
    return ref, rates, costs, base


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--mb", type=int, default=50, help="MB per throughput direction")
    p.add_argument("--seconds", type=float, default=3.0, help="duration of each echo test")
    p.add_argument("--runs", type=int, default=1, help="runs of each side; medians are printed")
    p.add_argument("--serve-args", default="",
                   help="extra arguments for `barenet serve` (quoted, split on spaces)")
    p.add_argument("--no-reference", action="store_true", help="skip the kernel references")
    p.add_argument("--baseline", metavar="DIR",
                   help="also measure barenet from the checkout in DIR (e.g. made by `git "
                   "archive REV shared host | tar -x -C DIR`), interleaved with this one")
    args = p.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("bench/tcp_tap.py needs root (TAP devices, network namespaces)")
    ref, rates, costs, base = run(args.mb, args.seconds, args.runs, args.serve_args.split(),
                                  not args.no_reference, args.baseline)
    print("%d run(s), median; --mb %d --seconds %g %s" % (args.runs, args.mb, args.seconds,
                                                         args.serve_args))
    if base:
        brate, bcost = base
        rate, cost = rates["off"], costs["off"]
        print("%-26s %12s %12s %8s %14s %14s" % ("", "baseline", "this tree", "gain",
                                                 "baseline CPU", "this CPU"))
        for k in UNITS:
            print("%-26s %12.1f %12.1f %8.2f %8.2f %-5s %8.2f %-5s" % (
                NAMES[k], brate[k], rate[k], rate[k] / brate[k], bcost[k], UNITS[k], cost[k],
                UNITS[k]))
    print_table(ref, rates, costs)


if __name__ == "__main__":
    main()
