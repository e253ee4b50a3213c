"""Fixtures for barenet against the real Linux kernel, each test in a fresh network namespace.

Layout (NETWORK-RULES.md): the kernel side of a TAP lives in a namespace made for the test and
is addressed 192.0.2.1/24; barenet is 192.0.2.2/24. Either the test process holds the TAP fd
(`tap_ns`, `barenet`: a Stack and Runner in-process), or `barenet serve` runs as a subprocess
inside the namespace on a TAP made there with `ip tuntap add` (`serve`). Teardown stops what it
started by pid and deletes the namespace, also after a failure.
"""

import json
import os
import select
import signal
import subprocess
import sys
import time

import pytest

from barenet.stack import Stack
from barenet_host.netns import NetNS, unique_name
from barenet_host.runner import Runner, now_ms
from barenet_host.devices.tap import TapDevice

import procs

KERNEL_IP = "192.0.2.1"
KERNEL_CIDR = KERNEL_IP + "/24"
BARENET_IP = "192.0.2.2"
BARENET_CIDR = BARENET_IP + "/24"
BARENET_MAC = b"\x02\x00\xc0\x00\x02\x02"
STARTUP_TIMEOUT_S = 15
STOP_TIMEOUT_S = 10


@pytest.fixture
def netns(require_root):
    with NetNS() as ns:
        yield ns


class TapPeer:
    """A TAP whose fd this process holds, its kernel side up in `ns` as 192.0.2.1/24."""

    def __init__(self, ns, tap):
        self.ns = ns
        self.tap = tap
        self.name = tap.name


@pytest.fixture
def tap_ns(netns):
    # Created in the root namespace only for the instant before the move (NETWORK-RULES.md 3):
    # the open fd stays attached, and nothing is configured until it is inside the namespace.
    tap = TapDevice(unique_name("t"))
    try:
        netns.move(tap.name)
        netns.addr(tap.name, KERNEL_CIDR)
        netns.up(tap.name)
        yield TapPeer(netns, tap)
    finally:
        tap.close()


class InProcess:
    """barenet in the test process on the TAP fd: drive it with `run(until, timeout_s)`.
    The host profile by default, as `barenet serve` runs (barenet/config.py)."""

    def __init__(self, peer, profile="host", **limits):
        self.peer = peer
        self.stack = Stack(profile, **limits)
        self.iface = self.stack.add_interface(peer.tap, mac=BARENET_MAC, ip=BARENET_CIDR,
                                              now_ms=now_ms())
        self.runner = Runner(self.stack)

    def run(self, until, timeout_s=5):
        return self.runner.run(until=until, timeout_s=timeout_s)


@pytest.fixture
def barenet(tap_ns):
    b = InProcess(tap_ns)
    yield b
    b.runner.close()


def _barenet_cmd():
    # The installed console script, so the `barenet_host.cli:main` entry point is what runs.
    script = os.path.join(os.path.dirname(sys.executable), "barenet")
    if os.path.exists(script):
        return [script]
    return [sys.executable, "-m", "barenet_host.cli"]


def readline(stream, timeout_s):
    """One line from a subprocess pipe, or '' if none arrives in time."""
    ready, _, _ = select.select([stream], [], [], timeout_s)
    return stream.readline() if ready else ""


def first_line(stream, timeout_s):
    """The first line of a subprocess's text pipe, or '' if none arrives in time. Read from
    the fd a byte at a time: a buffered readline() would keep what follows the line (a
    --verbose log) where a later communicate(), which reads the fd, never sees it."""
    fd, line, end = stream.fileno(), b"", time.monotonic() + timeout_s
    while not line.endswith(b"\n"):
        left = end - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            return ""
        byte = os.read(fd, 1)
        if not byte:
            break
        line += byte
    return line.decode()


class Served:
    """A `barenet serve` subprocess inside the namespace."""

    def __init__(self, ns, tap, proc, banner):
        self.ns = ns
        self.tap = tap
        self.proc = proc
        self.banner = banner

    def stop(self, sig=signal.SIGTERM):
        """Signal it by pid and wait; -> (exit status, rest of stdout, stderr)."""
        return procs.stop(self.proc, sig)


@pytest.fixture
def serve(netns):
    """serve(*args, tap=None, make_tap=True, mode="tap"): start `barenet serve --tap T --ip
    192.0.2.2/24 ...` (mode "tun": --tun T) inside the namespace. With make_tap the device is
    made first with `ip tuntap add` and its kernel side configured (attach mode, as QEMU users
    work); without it barenet creates it."""
    started = []

    def start(*args, tap=None, make_tap=True, mode="tap"):
        tap = tap or unique_name("s")
        if make_tap:
            netns.tuntap_add(tap, mode)
            netns.addr(tap, KERNEL_CIDR)
            netns.up(tap)
        cmd = _barenet_cmd() + ["serve", "--" + mode, tap, "--ip", BARENET_CIDR] + list(args)
        proc = netns.popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        started.append(proc)
        banner = first_line(proc.stdout, STARTUP_TIMEOUT_S)
        if not banner.startswith("barenet: serving"):
            proc.kill()
            out, err = proc.communicate(timeout=STOP_TIMEOUT_S)
            pytest.fail("barenet serve did not start: %r %r %r" % (banner, out, err))
        return Served(netns, tap, proc, banner)

    yield start
    for proc in started:
        procs.stop(proc)


# argv: host, port, nbytes, seconds. Sends nbytes of seeded random data to an echo service
# while reading the echo back, then reports both digests as JSON.
ECHO_CLIENT = r"""
import hashlib, json, random, select, socket, sys, time
host, port, n, limit = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
data = random.Random(n).randbytes(n)
s = socket.create_connection((host, port), timeout=10)
s.setblocking(False)
got, sent, end = bytearray(), 0, time.monotonic() + limit
while len(got) < n and time.monotonic() < end:
    r, w, _ = select.select([s], [s] if sent < n else [], [], 1)
    if w:
        sent += s.send(data[sent:sent + 65536])
    if r:
        d = s.recv(65536)
        if not d:
            break
        got += d
s.close()
print(json.dumps({"sent": sent, "got": len(got), "ok": bytes(got) == data,
                  "sha": hashlib.sha256(data).hexdigest(), "got_sha": hashlib.sha256(got).hexdigest()}))
"""


class Kernel:
    """The Linux side inside the namespace: its addresses, Python sockets and counters."""

    ip = KERNEL_IP
    barenet_ip = BARENET_IP
    barenet_mac = BARENET_MAC

    def __init__(self, ns):
        self.ns = ns

    def py(self, source, *argv, timeout=20):
        """Run a Python snippet inside the namespace; -> CompletedProcess (text)."""
        return self.ns.run([sys.executable, "-c", source] + list(argv), timeout=timeout)

    def popen_py(self, source, *argv):
        """Start a Python snippet inside the namespace; the caller waits with a timeout."""
        return self.ns.popen([sys.executable, "-c", source] + list(argv), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)

    def echo(self, nbytes, port=7, limit_s=60):
        """nbytes through barenet's TCP echo and back; -> the ECHO_CLIENT report (a dict)."""
        r = self.py(ECHO_CLIENT, self.barenet_ip, str(port), str(nbytes), str(limit_s),
                    timeout=limit_s + 20)
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)

    def ping(self, *args, timeout=30):
        return self.ns.run(["ping"] + [str(a) for a in args] + [BARENET_IP], timeout=timeout)

    def ip_counters(self):
        """The namespace's `Ip:` counters from /proc/net/snmp (ReasmOKs, FragCreates, ...)."""
        text = self.ns.run(["cat", "/proc/net/snmp"], check=True).stdout
        rows = [ln.split() for ln in text.splitlines() if ln.startswith("Ip:")]
        return dict(zip(rows[0][1:], (int(v) for v in rows[1][1:])))

    def neigh(self, dev):
        """`ip neigh` entry for barenet's address on dev (empty string if none)."""
        return self.ns.ip("neigh", "show", BARENET_IP, "dev", dev).stdout.strip()


@pytest.fixture
def kernel(netns):
    return Kernel(netns)


# -- TCP interop (test_kernel_tcp*.py) ------------------------------------------------------------

class WrappedPeer:
    """A TapPeer whose NIC is a wrapper around the TAP (a FaultyNIC, say): same name and ns."""

    def __init__(self, peer, nic):
        self.ns = peer.ns
        self.name = peer.name
        self.tap = nic


@pytest.fixture
def barenet_with(tap_ns):
    """barenet_with(wrap=None, **limits): an InProcess like `barenet`, but with Stack limits
    (a profile and tunables, barenet/config.py) and, with wrap, the TAP wrapped as
    wrap(tap) -> NIC."""
    made = []

    def make(wrap=None, **limits):
        peer = tap_ns if wrap is None else WrappedPeer(tap_ns, wrap(tap_ns.tap))
        b = InProcess(peer, **limits)
        made.append(b)
        return b

    yield make
    for b in made:
        b.runner.close()


class Capture:
    """tcpdump writing a pcap inside the namespace, kept in the test's tmp_path (post-mortems)."""

    def __init__(self, ns, dev, path, snaplen):
        self.path = path
        # --immediate-mode: with TPACKET_V3 a few large frames may otherwise sit in a ring block
        # that is never handed over before the SIGTERM ("0 packets captured").
        self.proc = ns.popen(["tcpdump", "-i", dev, "-n", "-U", "--immediate-mode", "-s",
                              str(snaplen), "-w", path],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        # tcpdump says "listening on ..." once the capture is open: nothing before it is lost.
        line = readline(self.proc.stderr, STARTUP_TIMEOUT_S)
        if "listening on" not in line:
            self.stop()
            pytest.fail("tcpdump did not start: %r" % line)

    def stop(self):
        procs.stop(self.proc)

    def read(self, bpf=""):
        """The capture (stopped first) decoded by tcpdump -r, one line per packet."""
        self.stop()
        cmd = ["tcpdump", "-r", self.path, "-n", "-v"] + ([bpf] if bpf else [])
        return subprocess.run(cmd, capture_output=True, text=True, timeout=STOP_TIMEOUT_S).stdout


@pytest.fixture
def capture(netns, tmp_path):
    """capture(dev, name="tap.pcap", snaplen=128) -> Capture: tcpdump on dev in the namespace."""
    started = []

    def start(dev, name="tap.pcap", snaplen=128):
        c = Capture(netns, dev, str(tmp_path / name), snaplen)
        started.append(c)
        return c

    yield start
    for c in started:
        c.stop()
