"""What barenet's socket layer costs: the same work through the BSD socket API (a blocking
socket with a 60 s timeout, so that every call is bounded; one thread;
`Sockets(stack, RunnerDriver(runner))`) and through the core API
(`stack.tcp` connections served by a task the Runner drives), against the Linux kernel over a
TAP, both paths in the same run (issue 9, "Not a timed test, but measured"; goal: the socket
layer at most 10 % below the core API).

Run as root: `.venv/bin/python bench/socket_layer.py [--mb 20] [--seconds 2] [--runs 5]`
(`--quick`: a smoke run of a few seconds; `--instructions`: each path's echo round trip and
accepted connection in CPU instructions, by callgrind, steady where timing is not). barenet runs in this process on a
TAP moved into a network namespace made here (as tests/interop/conftest.py's `tap_ns`),
192.0.2.2; the kernel peer (PEER below, 192.0.2.1) runs in the namespace, which is deleted at
the end (../shared/NETWORK-RULES.md). Every figure is measured for both paths, interleaved
run by run:
- throughput both ways: barenet sends the pattern to the kernel's sink, which checks every
  byte; the kernel's source sends it to barenet, which checks every byte;
- 64-byte echo round trips to the kernel's echo server, every reply checked;
- connections accepted per second: the kernel keeps WINDOW connects in flight to a barenet
  listener, which accepts and closes each;
- memory per idle accepted connection on both profiles (config.py), with tracemalloc: the
  connection alone (core) or the socket object with its connection (socket), buffers shown
  apart (as bench/conn_memory.py).
Rates are wall clock; "CPU" is this process's user + system time per unit of work (the TAP's
kernel work in our syscalls included), steadier than the rate on a shared machine.
"""

import argparse
import gc
import json
import os
import re
import select
import subprocess
import sys
import time
import tracemalloc

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
for _d in ("shared", "host"):
    sys.path.insert(0, os.path.join(REPO, _d))

from barenet.socket import Sockets, IPPROTO_TCP, TCP_NODELAY  # noqa: E402
from barenet.stack import Stack  # noqa: E402
from barenet.tcp.state import ESTABLISHED  # noqa: E402
from barenet_host.devices.tap import TapDevice  # noqa: E402
from barenet_host.netns import NetNS, unique_name  # noqa: E402
from barenet_host.runner import Runner, RunnerDriver, now_ms  # noqa: E402

KERNEL = "192.0.2.1"
BARENET_CIDR = "192.0.2.2/24"
BARENET_MAC = b"\x02\x00\xc0\x00\x02\x02"
SINK, SOURCE, ECHO = 9, 19, 7
TIMEOUT_S = 60          # bound on every blocking call and every phase
CHUNK = 65536           # bytes handed to one send() call, and asked of one recv()
WINDOW = 16             # kernel connects in flight in the accept phase
BACKLOG = 128

# The byte stream both ways: byte i is i % 251 (a prime, so a lost, doubled or misplaced chunk
# of any power-of-two size shows). PAT holds every CHUNK-long window of it.
PERIOD = 251
PAT = bytes(i % PERIOD for i in range(PERIOD + 4 * CHUNK))
PATV = memoryview(PAT)
MSG = bytes(range(64))

# The kernel side, in the namespace. Servers: sink (checks and counts, prints the result),
# source (sends the number of bytes asked for on a first line, then closes), echo. Commands
# on stdin, one JSON line back each: `connect PORT N W` (N connects to barenet, W in flight,
# each waits for barenet's FIN), `hold PORT N` (N idle connections), `release`.
PEER = r"""
import json, selectors, socket, sys, threading, time
BARENET, P, TIMEOUT = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
PAT = bytes(i % P for i in range(P + 262144))
lock = threading.Lock()
def say(**kw):
    with lock:
        sys.stdout.write(json.dumps(kw) + "\n")
        sys.stdout.flush()
def sink(c):
    got, ok = 0, True
    while True:
        d = c.recv(262144)
        if not d:
            break
        ok = ok and PAT.startswith(d, got % P)
        got += len(d)
    say(sink=got, ok=ok)
def source(c):
    line = b""
    while not line.endswith(b"\n"):
        d = c.recv(32)
        if not d:
            return
        line += d
    n, sent, mv = int(line), 0, memoryview(PAT)
    while sent < n:
        o = sent % P
        sent += c.send(mv[o:o + min(65536, n - sent)])
    c.shutdown(socket.SHUT_WR)
    while c.recv(4096):
        pass
    say(source=sent)
def echo(c):
    while True:
        d = c.recv(65536)
        if not d:
            break
        c.sendall(d)
def serve(port, fn):
    l = socket.socket()
    l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l.bind(("0.0.0.0", port))
    l.listen(16)
    def one(c):
        try:
            fn(c)
        except OSError as e:
            say(error="%s: %s" % (fn.__name__, e))
        finally:
            c.close()
    def loop():
        while True:
            c, _ = l.accept()
            c.settimeout(TIMEOUT)
            c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=one, args=(c,), daemon=True).start()
    threading.Thread(target=loop, daemon=True).start()
def connect(port, n, w):
    sel = selectors.DefaultSelector()
    started = done = errors = 0
    t = time.monotonic()
    while done + errors < n and time.monotonic() - t < TIMEOUT:
        while started < n and started - done - errors < w:
            s = socket.socket()
            s.setblocking(False)
            s.connect_ex((BARENET, port))
            sel.register(s, selectors.EVENT_READ)
            started += 1
        for key, _ in sel.select(1):
            s = key.fileobj
            try:
                d = s.recv(1)
            except BlockingIOError:
                continue
            except OSError:
                d = None
            sel.unregister(s)
            s.close()
            if d == b"":
                done += 1
            else:
                errors += 1
    for key in list(sel.get_map().values()):
        key.fileobj.close()
    say(connect=done, errors=errors, seconds=time.monotonic() - t)
held = []
def hold(port, n):
    for _ in range(n):
        held.append(socket.create_connection((BARENET, port), timeout=TIMEOUT))
    say(hold=len(held))
def release():
    n = len(held)
    for s in held:
        s.close()
    del held[:]
    say(release=n)
serve(9, sink); serve(19, source); serve(7, echo)
say(ready=True)
for line in sys.stdin:
    cmd = line.split()
    if cmd[0] == "connect":
        connect(int(cmd[1]), int(cmd[2]), int(cmd[3]))
    elif cmd[0] == "hold":
        hold(int(cmd[1]), int(cmd[2]))
    elif cmd[0] == "release":
        release()
"""


class Peer:
    """The kernel peer process in the namespace: commands in, JSON lines out. While waiting
    for a line, the Runner given keeps the stack going (what a socket's close() queued goes
    out only when something steps the stack)."""

    def __init__(self, ns):
        self.proc = ns.popen([sys.executable, "-c", PEER, BARENET_CIDR.split("/")[0],
                              str(PERIOD), str(TIMEOUT_S)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, bufsize=1)
        self.fd = self.proc.stdout.fileno()
        self.buf = b""
        self.eof = False
        self.expect("ready")

    def send(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def _fill(self, now=None):
        d = os.read(self.fd, 65536)
        self.eof = not d
        self.buf += d

    def _has_line(self):
        return self.eof or b"\n" in self.buf

    def expect(self, key, runner=None):
        """The peer's next line, which must carry key."""
        end = time.monotonic() + TIMEOUT_S
        if runner is not None:
            runner.add_fd(self.fd, self._fill)
            runner.run(until=self._has_line, timeout_s=TIMEOUT_S)
            runner.remove_fd(self.fd)
        while not self._has_line() and time.monotonic() < end:
            if select.select([self.fd], [], [], end - time.monotonic())[0]:
                self._fill()
        line, nl, self.buf = self.buf.partition(b"\n")
        if not nl:
            raise SystemExit("kernel peer: no %s (stderr: %r)" % (key, self._stderr()))
        r = json.loads(line)
        if key not in r:
            raise SystemExit("kernel peer: wanted %s, got %r (stderr: %r)" % (
                key, r, self._stderr()))
        return r

    def _stderr(self):
        if self.proc.poll() is None:
            self.proc.kill()
        return self.proc.communicate(timeout=10)[1]

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.communicate(timeout=10)


def checked(got, data):
    if not PAT.startswith(data, got % PERIOD):
        raise SystemExit("barenet received wrong bytes at offset %d" % got)
    return got + len(data)


# -- the socket path: what a program using barenet's sockets writes -------------------------

def sock_client(net, port):
    s = net.socket()
    s.settimeout(TIMEOUT_S)
    s.setsockopt(IPPROTO_TCP, TCP_NODELAY, 1)
    s.connect((KERNEL, port))
    return s


def sock_listener(net, port, backlog):
    lst = net.socket()
    lst.settimeout(TIMEOUT_S)
    lst.bind(("", port))
    lst.listen(backlog)
    return lst


def sock_send(net, total):
    s = sock_client(net, SINK)
    sent = 0
    while sent < total:
        o = sent % PERIOD
        k = min(CHUNK, total - sent)
        s.sendall(PATV[o:o + k])
        sent += k
    s.shutdown(net.SHUT_WR)
    if s.recv(1) != b"":       # the sink closes once it has read everything
        raise SystemExit("sink sent data")
    s.close()
    return sent


def sock_recv(net, total):
    s = sock_client(net, SOURCE)
    s.sendall(b"%d\n" % total)
    got = 0
    while True:
        d = s.recv(CHUNK)
        if not d:
            break
        got = checked(got, d)
    s.close()
    return got


def sock_echo(net, seconds, max_rounds):
    s = sock_client(net, ECHO)
    n = 0
    end = time.perf_counter() + seconds
    while n < max_rounds and time.perf_counter() < end:
        s.sendall(MSG)
        got = b""
        while len(got) < 64:
            d = s.recv(64 - len(got))
            if not d:
                raise SystemExit("echo closed")
            got += d
        if got != MSG:
            raise SystemExit("echo returned wrong bytes")
        n += 1
    s.close()
    return n


def driver_echo(stack, runner, max_rounds):
    """The echo as the socket layer runs it, without the socket objects: the core
    connection's calls, and RunnerDriver.step where a blocking call waits (--instructions
    tells the driver's share of the socket path's cost from the socket layer's own)."""
    drv = RunnerDriver(runner)
    end = time.monotonic() + TIMEOUT_S
    c = stack.tcp.connect(KERNEL, ECHO)
    c.nodelay = True
    while c.state < ESTABLISHED and not c.error and time.monotonic() < end:
        drv.step(TIMEOUT_S * 1000)
    for _ in range(max_rounds):
        c.send(MSG)
        got = b""
        while len(got) < 64:
            d = c.recv(64 - len(got))
            if d is None:
                if time.monotonic() > end:
                    raise SystemExit("driver echo timed out")
                drv.step(TIMEOUT_S * 1000)
            elif not d:
                raise SystemExit("echo closed")
            else:
                got += d
        if got != MSG:
            raise SystemExit("echo returned wrong bytes")
    c.close()
    return max_rounds


def sock_accept(net, peer, port, n):
    lst = sock_listener(net, port, BACKLOG)
    peer.send("connect %d %d %d" % (port, n, WINDOW))
    for _ in range(n):
        c, _ = lst.accept()
        c.close()
    lst.close()
    return n


def sock_hold(net, peer, port, n):
    lst = sock_listener(net, port, n)
    peer.send("hold %d %d" % (port, n))
    held = [lst.accept()[0] for _ in range(n)]
    lst.close()
    return held


# -- the core path: the same work as Runner tasks over stack.tcp ----------------------------

class Task:
    """A runner task with a done flag; run() drives the Runner until it is done."""
    done = False

    def run(self, runner):
        runner.add_task(self)
        if not runner.run(until=lambda: self.done, timeout_s=TIMEOUT_S):
            raise SystemExit("%s timed out" % type(self).__name__)
        return self.result


class Client(Task):
    def __init__(self, stack, port):
        self.c = stack.tcp.connect(KERNEL, port)
        self.c.nodelay = True

    def ready(self):
        c = self.c
        if c.error:
            raise OSError(c.error, "core connection failed")
        return c.state >= ESTABLISHED


class CoreSend(Client):
    def __init__(self, stack, total):
        Client.__init__(self, stack, SINK)
        self.total = total
        self.result = 0

    def __call__(self, now):
        if not self.ready():
            return None
        c = self.c
        sent = self.result
        while sent < self.total:
            o = sent % PERIOD
            k = c.send(PATV[o:o + min(CHUNK, self.total - sent)])
            if not k:
                break
            sent += k
        if sent == self.total and not c.fin_queued:
            c.shutdown_write()
        self.result = sent
        if c.fin_queued and c.recv(1) == b"":
            c.close()
            self.done = True
        return None


class CoreRecv(Client):
    def __init__(self, stack, total):
        Client.__init__(self, stack, SOURCE)
        self.total = total
        self.result = 0
        self.asked = False

    def __call__(self, now):
        if not self.ready():
            return None
        c = self.c
        if not self.asked:
            self.asked = c.send(b"%d\n" % self.total) > 0
        while not self.done:
            d = c.recv(CHUNK)
            if d is None:
                break
            if not d:
                c.close()
                self.done = True
                break
            self.result = checked(self.result, d)
        return None


class CoreEcho(Client):
    def __init__(self, stack, seconds, max_rounds):
        Client.__init__(self, stack, ECHO)
        self.end = time.perf_counter() + seconds
        self.max_rounds = max_rounds
        self.result = 0
        self.got = None        # None: the next message is still to send

    def __call__(self, now):
        if not self.ready():
            return None
        c = self.c
        if self.got is not None:
            d = c.recv(64 - len(self.got))
            if d is None:
                return None
            if not d:
                raise SystemExit("echo closed")
            self.got += d
            if len(self.got) < 64:
                return None
            if self.got != MSG:
                raise SystemExit("echo returned wrong bytes")
            self.result += 1
        if self.result >= self.max_rounds or time.perf_counter() >= self.end:
            c.close()
            self.done = True
            return None
        if c.send(MSG) != 64:
            raise SystemExit("echo: the send buffer took less than 64 bytes")
        self.got = b""
        return None


class CoreAccept(Task):
    def __init__(self, stack, peer, port, n):
        self.lst = stack.tcp.listen(port, BACKLOG)
        self.n = n
        self.result = 0
        peer.send("connect %d %d %d" % (port, n, WINDOW))

    def __call__(self, now):
        lst = self.lst
        while lst.queue:
            lst.accept().close()
            self.result += 1
        if self.result >= self.n:
            lst.close()
            self.done = True
        return None


class CoreHold(Task):
    def __init__(self, stack, peer, port, n):
        self.lst = stack.tcp.listen(port, n)
        self.n = n
        self.result = []
        peer.send("hold %d %d" % (port, n))

    def __call__(self, now):
        while self.lst.queue:
            self.result.append(self.lst.accept())
        if len(self.result) >= self.n:
            self.lst.close()
            self.done = True
        return None


# -- measuring ------------------------------------------------------------------------------

def timed(fn):
    """-> (fn(), wall seconds, CPU seconds of this process)."""
    t, c = time.perf_counter(), time.process_time()
    r = fn()
    return r, time.perf_counter() - t, time.process_time() - c


class Bench:
    def __init__(self, ns, tap, peer, args):
        self.ns, self.tap, self.peer, self.args = ns, tap, peer, args
        self.stack = self.new_stack("host")
        self.port = 20000
        self.bytes = {"send": [], "recv": []}    # (barenet's count, the kernel's count)

    def new_stack(self, profile, **limits):
        stack = Stack(profile, **limits)
        stack.add_interface(self.tap, mac=BARENET_MAC, ip=BARENET_CIDR, now_ms=now_ms())
        return stack

    def next_port(self):
        self.port += 1
        return self.port

    def phase(self, path, name, stack=None):
        """One measurement of phase name on path ("core" or "socket"): -> (units, wall, cpu)."""
        stack = stack or self.stack
        runner = Runner(stack)
        net = Sockets(stack, RunnerDriver(runner))
        a, peer = self.args, self.peer
        try:
            if name == "send":
                if path == "core":
                    r = timed(lambda: CoreSend(stack, a.bytes).run(runner))
                else:
                    r = timed(lambda: sock_send(net, a.bytes))
                k = peer.expect("sink", runner)
                if not k["ok"]:
                    raise SystemExit("the kernel received wrong bytes")
                self.bytes["send"].append((r[0], k["sink"]))
                return r[0] / 1e6, r[1], r[2]
            if name == "recv":
                if path == "core":
                    r = timed(lambda: CoreRecv(stack, a.bytes).run(runner))
                else:
                    r = timed(lambda: sock_recv(net, a.bytes))
                self.bytes["recv"].append((r[0], peer.expect("source", runner)["source"]))
                return r[0] / 1e6, r[1], r[2]
            if name == "echo":
                if path == "core":
                    return timed(lambda: CoreEcho(stack, a.seconds, a.rounds).run(runner))
                if path == "driver":
                    return timed(lambda: driver_echo(stack, runner, a.rounds))
                return timed(lambda: sock_echo(net, a.seconds, a.rounds))
            port = self.next_port()
            if path == "core":
                r = timed(lambda: CoreAccept(stack, peer, port, a.accepts).run(runner))
            else:
                r = timed(lambda: sock_accept(net, peer, port, a.accepts))
            k = peer.expect("connect", runner)
            if k["connect"] != a.accepts:
                raise SystemExit("kernel connects: %r" % k)
            return r
        finally:
            runner.close()

    def memory(self, path, profile):
        """Bytes per idle accepted connection (all of it, and its buffers) on a fresh stack
        of the profile, limits raised to hold n (the per-connection structures stay the
        profile's). The same number first, so that one-time allocations and the tables'
        growth are not counted."""
        n = self.args.conns
        stack = self.new_stack(profile, max_connections=2 * n + 8, syn_backlog=n,
                               listen_backlog=n)
        runner = Runner(stack)
        net = Sockets(stack, RunnerDriver(runner))
        try:
            for _ in range(2):
                gc.collect()
                m0 = tracemalloc.get_traced_memory()[0]
                if path == "core":
                    held = conns = CoreHold(stack, self.peer, self.next_port(), n).run(runner)
                else:
                    held = sock_hold(net, self.peer, self.next_port(), n)
                self.peer.expect("hold", runner)
                runner.run(timeout_s=0.1)          # the handshakes' last ACKs, timers settle
                gc.collect()
                m1 = tracemalloc.get_traced_memory()[0]
                if path == "socket":
                    conns = [h._ep for h in held]
                bufs = sum(c.info()["buffer_bytes"] for c in conns)
                self.peer.send("release")
                self.peer.expect("release", runner)
                for h in held:
                    h.close()
                held = conns = None
                runner.run(until=lambda: not stack.tcp.connections(), timeout_s=5)
            return (m1 - m0) / n, bufs / n
        finally:
            runner.close()


PHASES = ("send", "recv", "echo", "accept")
NAMES = {"send": "barenet -> kernel (MB/s)", "recv": "kernel -> barenet (MB/s)",
         "echo": "echo 64 B (round trips/s)", "accept": "accepts/s"}
UNITS = {"send": ("ms/MB", 1e3), "recv": ("ms/MB", 1e3), "echo": ("us/rt", 1e6),
         "accept": ("us/conn", 1e6)}
PATHS = ("core", "socket")


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def instructions(path, phase, counts=(200, 1200)):
    """Instructions per unit of phase ("echo": a round trip, "accept": a connection) on
    path, by callgrind: the difference between two runs of different lengths, so that
    start-up (the namespace, the peer) cancels out."""
    got = []
    for n in counts:
        p = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
                            sys.executable, os.path.abspath(__file__), "--only", phase,
                            "--path", path, "--rounds", str(n), "--accepts", str(n),
                            "--seconds", "1000"],
                           capture_output=True, text=True, timeout=600, check=True)
        if "%s %s: %d units" % (path, phase, n) not in p.stdout:
            raise SystemExit("callgrind run: %r %r" % (p.stdout, p.stderr[-2000:]))
        got.append(int(re.search(r"Collected : (\d+)", p.stderr).group(1)))
    return (got[1] - got[0]) / (counts[1] - counts[0])


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--mb", type=float, default=20, help="MB per throughput direction")
    p.add_argument("--seconds", type=float, default=2.0, help="duration of the echo test")
    p.add_argument("--rounds", type=int, default=100000, help="at most this many round trips")
    p.add_argument("--accepts", type=int, default=1000, help="connections per accept test")
    p.add_argument("--conns", type=int, default=100, help="idle connections per memory test")
    p.add_argument("--runs", type=int, default=5, help="runs of each path; medians are shown")
    p.add_argument("--only", default=",".join(PHASES + ("memory",)),
                   help="comma-separated phases (default: all)")
    p.add_argument("--quick", action="store_true",
                   help="a smoke run: 2 MB, 0.3 s, 100 accepts, 10 connections, 1 run")
    p.add_argument("--instructions", action="store_true",
                   help="count each path's instructions per echo round trip and per accepted "
                   "connection under callgrind")
    # one path alone (--instructions); "driver": driver_echo
    p.add_argument("--path", choices=PATHS + ("driver",), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.instructions:
        for k in ("echo", "accept"):
            r = dict((pth, instructions(pth, k)) for pth in PATHS)
            print("instructions per %s (callgrind, this process): core %.0f, socket %.0f, "
                  "socket/core %.3f" % ("echo round trip" if k == "echo" else
                                        "accepted connection", r["core"], r["socket"],
                                        r["socket"] / r["core"]), flush=True)
            if k == "echo":
                d = instructions("driver", k)
                print("  of the difference: the driver's steps %.0f (the core connection's "
                      "calls with RunnerDriver.step, %.0f a round trip), the socket objects "
                      "%.0f" % (d - r["core"], d, r["socket"] - d), flush=True)
        return
    if args.quick:
        args.mb, args.seconds, args.accepts, args.conns, args.runs = 2, 0.3, 100, 10, 1
    args.bytes = int(args.mb * 1e6)
    only = args.only.split(",")
    if os.geteuid() != 0:
        raise SystemExit("bench/socket_layer.py needs root (a TAP, a network namespace)")
    with NetNS() as ns:
        # As tests/interop/conftest.py's tap_ns: made in the root namespace only for the
        # instant before the move; the open fd stays attached.
        tap = TapDevice(unique_name("sl"))
        peer = None
        try:
            ns.move(tap.name)
            ns.addr(tap.name, KERNEL + "/24")
            ns.up(tap.name)
            peer = Peer(ns)
            report(Bench(ns, tap, peer, args), args, only)
        finally:
            if peer is not None:
                peer.close()
            tap.close()


def report(b, args, only):
    res = dict((k, {"core": [], "socket": []}) for k in PHASES)
    if args.path:
        # one path alone, for --instructions: the units done, nothing else
        for k in PHASES:
            if k in only:
                print("%s %s: %d units" % (args.path, k, b.phase(args.path, k)[0]))
        return
    for run in range(args.runs):
        # Interleaved, each path first in every other run, so load changes hit both alike.
        order = PATHS if run % 2 == 0 else PATHS[::-1]
        line = []
        for k in PHASES:
            if k not in only:
                continue
            for path in order:
                res[k][path].append(b.phase(path, k))
            line.append("%s %s" % (k, " / ".join("%.1f" % (res[k][pth][-1][0] /
                                                         res[k][pth][-1][1]) for pth in PATHS)))
        print("  run %d (core / socket): %s" % (run + 1, "  ".join(line)), flush=True)
    print("%d run(s), medians; --mb %g --seconds %g --accepts %d --conns %d" % (
        args.runs, args.mb, args.seconds, args.accepts, args.conns))
    print("%-28s %9s %9s %6s | %-7s %9s %9s %6s | %s" % (
        "", "core API", "socket", "s/c", "CPU", "core", "socket", "c/s", "busy core/socket"))
    for k in PHASES:
        if k not in only:
            continue
        unit, scale = UNITS[k]
        rate = dict((pth, median([u / w for u, w, c in res[k][pth]])) for pth in PATHS)
        cpu = dict((pth, median([c / u for u, w, c in res[k][pth]]) * scale) for pth in PATHS)
        busy = dict((pth, median([c / w for u, w, c in res[k][pth]])) for pth in PATHS)
        print("%-28s %9.1f %9.1f %6.3f | %-7s %9.2f %9.2f %6.3f | %.2f / %.2f" % (
            NAMES[k], rate["core"], rate["socket"], rate["socket"] / rate["core"], unit,
            cpu["core"], cpu["socket"], cpu["core"] / cpu["socket"], busy["core"],
            busy["socket"]))
    for k in ("send", "recv"):
        if k in only:
            # (barenet's count, the kernel's count) of every measurement: each is --mb
            print("bytes %s: %s" % (NAMES[k].split(" (")[0], "  ".join(
                "%d/%d" % bk for bk in b.bytes[k])))
    if "memory" in only:
        tracemalloc.start()
        try:
            for profile in ("board", "host"):
                m = dict((pth, b.memory(pth, profile)) for pth in PATHS)
                (core, buf), (sock, _) = m["core"], m["socket"]
                print("%-28s %9.0f %9.0f %6.3f | without its buffers (%d B): %.0f / %.0f, "
                      "%.3f" % ("memory per idle conn, %s (B)" % profile, core, sock,
                                sock / core, buf, core - buf, sock - buf,
                                (sock - buf) / (core - buf)))
        finally:
            tracemalloc.stop()

if __name__ == "__main__":
    main()
