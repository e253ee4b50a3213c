"""packetdrill-style helpers: a scripted peer talks TCP to a system under test (SUT).

A test is a timeline of segments in and out, with the SUT's calls inline:

    s = Script(isn=2000)                      # barenet's ISN is injected
    lst = s.tcp.listen(80)
    s.inject("S", seq=1000, win=65535, mss=1460)
    syn_ack = s.expect("SA", seq=2000, ack=1001)
    s.inject("A", seq=1001, ack=2001)
    s.expect_nothing()
    s.wait(200)                               # move the clock; timers fire

Two targets play the SUT (packetdrill runs its scripts against a real kernel; so do we):

- barenet (`BarenetTarget`): a real barenet Stack on the virtual wire with a virtual clock, so
  `at=` times are exact and `s.tcp` is barenet's own TCP.
- linux (`LinuxTarget`, root only): the kernel in a fresh network namespace behind a TAP whose
  fd this process holds. The peer's frames are written to the TAP; a thread reads the kernel's
  frames from it and stamps their arrival. `s.tcp` is a proxy with the same verbs (listen,
  accept, connect, send, recv, close, shutdown_write, abort, keepalive, nodelay, oobinline,
  MSG_OOB) carried out by a small agent process inside the namespace. Time is real: timing is
  checked as a window (`within=(lo, hi)` ms after the previous packet), never exactly.

Sequence numbers are relative to the ISNs, as in packetdrill: the SUT's ISN is learned from its
SYN or SYN-ACK, and the script speaks in terms of the nominal `isn` (what barenet is told to
use, 2000 by default), so `expect("SA", seq=2000, ack=1001)` holds against Linux's random ISN
too. The peer's numbers are its own and are sent as written.

The peer's frames are built with scapy and the SUT's are decoded with scapy (an independent
codec). ARP is answered automatically (and the kernel gets a static neighbour entry), so only
TCP/IP shows up in the timeline.
"""

import json
import os
import select
import socket
import subprocess
import sys
import threading
import time

import pytest
from scapy.layers.inet import IP, TCP as ScapyTCP, ICMP
from scapy.layers.l2 import ARP, Ether

from barenet_host.vwire import Sim

US_MAC, US_IP = "02:00:00:00:00:02", "192.0.2.2"
PEER_MAC, PEER_IP = "02:00:00:00:00:01", "192.0.2.1"
US_PORT, PEER_PORT = 80, 40000

# How long the Linux target waits for a segment nobody gave a time for, and how long "nothing
# was sent" is watched for. The kernel answers a frame written to a TAP inside the write()
# (tun_get_user -> netif_receive_skb), so a reply is normally there within a millisecond.
LINUX_EXPECT_MS = 1000
LINUX_QUIET_MS = 60
# packetdrill's tolerance idea: a real clock, a loaded 2-core machine and jiffies-based kernel
# timers make every time a window. at=X on Linux passes within [X - early, X + late].
# A frame is stamped when the reader thread gets to it, so a stamp can be late by a scheduling
# delay; an interval measured from a late stamp then looks short, hence the early allowance.
LINUX_EARLY_MS, LINUX_LATE_MS = 20, 80
AGENT_TIMEOUT_S = 10


def _flagset(s):
    return frozenset(s.replace(".", "A"))


def _arp_reply(frame, peer_ip):
    """The peer's answer to an ARP request for peer_ip, or None."""
    f = Ether(frame)
    if ARP in f and f[ARP].op == 1 and f[ARP].pdst == peer_ip:
        a = f[ARP]
        return bytes(Ether(dst=f.src, src=PEER_MAC) /
                     ARP(op=2, hwsrc=PEER_MAC, psrc=peer_ip, hwdst=a.hwsrc, pdst=a.psrc))
    return None


# -- barenet on the virtual wire ------------------------------------------------------------------

class _Recorder:
    """Stands where a stack would on the peer's NIC: keeps (time, frame bytes) pairs."""

    def __init__(self, target):
        self.target = target

    def input(self, frame, now):
        frame = bytes(frame)
        if frame[6:12] == bytes.fromhex(PEER_MAC.replace(":", "")):
            return              # our own frame echoed by the hub
        if frame[12:14] == b"\x08\x06":
            reply = _arp_reply(frame, self.target.peer_ip)
            if reply is not None:
                self.target.nic.send(reply)
            return
        if frame[12:14] == b"\x08\x00":
            self.target.out.append((now, frame))


class BarenetTarget:
    """barenet on a virtual wire with a virtual clock: every time is exact."""

    name = "barenet"

    def __init__(self, isn=2000, start_ms=0, mtu=1500, peer_ip=PEER_IP, faults=None,
                 **tcp_kwargs):
        self.sim = Sim(start_ms)
        self.start = start_ms
        self.wire = self.sim.wire(faults=faults)
        if isn is not None:
            tcp_kwargs["isn"] = lambda *a: isn
        self.stack, self.iface = self.sim.host(self.wire, US_MAC, US_IP + "/24", mtu=mtu,
                                               **tcp_kwargs)
        self.tcp = self.stack.tcp
        self.peer_ip = peer_ip
        self.nic = self.wire.nic()
        self.nic.on_frame = _Recorder(self).input
        self.out = []
        self.settle()
        self.out.clear()

    @property
    def now(self):
        return self.sim._abs - self.start

    def settle(self):
        """Run every step due at the current instant (frames, their replies, ARP)."""
        self.sim.settle()
        err = self.stack.last_error
        if err is not None:
            self.stack.last_error = None
            raise AssertionError("barenet raised inside input()") from err

    def wait(self, ms):
        """Advance the virtual clock by ms; timers due meanwhile fire at their own times."""
        self.sim.advance(ms)
        self.settle()

    def send(self, frame):
        self.nic.send(frame)
        self.settle()

    def take(self, n=0, until_ms=None):
        """Frames sent so far: with until_ms, first let virtual time run (up to until_ms)
        until at least n are out, as a packet expected by then would be."""
        self.settle()
        if until_ms is not None and len(self.out) < n and until_ms > self.now:
            self.sim.run(until=lambda: len(self.out) >= n, max_ms=until_ms - self.now)
            self.settle()
        out = [((t - self.start) % 2**30, f) for t, f in self.out]
        self.out.clear()
        return out

    def push_back(self, frames):
        pass

    def acted(self):
        return 0    # user calls take no time on the virtual clock

    def quiet(self, ms):
        if ms:
            self.wait(ms)
        else:
            self.settle()

    def close(self):
        pass


# -- the Linux kernel in a namespace behind a TAP ---------------------------------------------------

# The agent runs inside the namespace and makes the SUT's socket calls, one JSON request per
# line on stdin, one JSON answer per line on stdout. Sockets are nonblocking, so every call
# returns at once, as barenet's do: recv gives None for "nothing yet", send gives 0 for "full".
_AGENT = r'''
import errno, json, socket, struct, subprocess, sys, fcntl, termios
socks = {}
def put(s):
    socks[len(socks) + 1] = s
    return len(socks)
def op_listen(ip, port, backlog):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((ip, port)); s.listen(backlog); s.setblocking(False)
    return put(s)
def op_accept(h):
    try:
        c, a = socks[h].accept()
    except BlockingIOError:
        return None
    c.setblocking(False)
    return [put(c), a[1]]
def op_connect(ip, port, src_ip, src_port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((src_ip, src_port)); s.setblocking(False)
    try:
        s.connect((ip, port))
    except BlockingIOError:
        pass
    return [put(s), s.getsockname()[1]]
def op_send(h, data, oob):
    try:
        return socks[h].send(bytes.fromhex(data), socket.MSG_OOB if oob else 0)
    except BlockingIOError:
        return 0
def op_recv(h, n, oob):
    try:
        d = socks[h].recv(n, socket.MSG_OOB if oob else 0)
    except BlockingIOError:
        return None
    except OSError as e:
        if oob and e.errno == errno.EINVAL:
            return None                       # no urgent byte waiting (tcp_recv_urg)
        raise
    return d.hex()
def op_setsockopt(h, level, opt, value):
    socks[h].setsockopt(level, opt, value.encode() if isinstance(value, str) else value)
def op_shutdown(h, how):
    socks[h].shutdown(how)
def op_close(h):
    socks[h].close()
def op_abort(h):
    socks[h].setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    socks[h].close()
def op_readable(h):
    return struct.unpack("i", fcntl.ioctl(socks[h].fileno(), termios.FIONREAD, b"\0" * 4))[0]
def op_ss(info=False):
    out = subprocess.run(["ss", "-tanH"] + (["-i"] if info else []), capture_output=True,
                         text=True, timeout=5).stdout
    return [ln.split() for ln in out.splitlines() if ln.strip()]
import time
for line in sys.stdin:
    req = json.loads(line)
    t = time.monotonic()
    try:
        r = {"r": globals()["op_" + req[0]](*req[1:]), "t": t}
    except OSError as e:
        r = {"e": e.errno or 0, "m": str(e)}
    sys.stdout.write(json.dumps(r) + "\n")
    sys.stdout.flush()
'''

# ss -tan state names -> barenet's STATE_NAMES
_SS_STATES = {"ESTAB": "ESTABLISHED", "SYN-SENT": "SYN_SENT", "SYN-RECV": "SYN_RECEIVED",
              "FIN-WAIT-1": "FIN_WAIT_1", "FIN-WAIT-2": "FIN_WAIT_2", "TIME-WAIT": "TIME_WAIT",
              "CLOSE-WAIT": "CLOSE_WAIT", "LAST-ACK": "LAST_ACK", "CLOSING": "CLOSING",
              "LISTEN": "LISTEN", "UNCONN": "CLOSED"}


class _Agent:
    def __init__(self, ns):
        self.proc = ns.popen([sys.executable, "-c", _AGENT], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
        self.acted = None      # time.monotonic() when the agent last made a socket call

    def call(self, op, *args):
        self.proc.stdin.write(json.dumps([op] + list(args)) + "\n")
        self.proc.stdin.flush()
        ready, _, _ = select.select([self.proc.stdout], [], [], AGENT_TIMEOUT_S)
        line = self.proc.stdout.readline() if ready else ""
        if not line:
            raise AssertionError("the Linux agent did not answer %s%r" % (op, args))
        r = json.loads(line)
        self.acted = r.get("t", self.acted)
        if "e" in r:
            raise OSError(r["e"], r["m"])
        return r["r"]

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=AGENT_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=AGENT_TIMEOUT_S)


class LinuxConn:
    """A kernel socket seen through the agent, with barenet's connection verbs."""

    def __init__(self, agent, h, lport, rport):
        self.agent = agent
        self.h = h
        self.lport = lport
        self.rport = rport
        self.closed = False

    def send(self, data, oob=False):
        return self.agent.call("send", self.h, bytes(data).hex(), oob)

    def recv(self, n, oob=False):
        r = self.agent.call("recv", self.h, n, oob)
        return None if r is None else bytes.fromhex(r)

    def readable(self):
        return self.agent.call("readable", self.h)

    def setsockopt(self, level, opt, value):
        self.agent.call("setsockopt", self.h, level, opt, value)

    def _set_nodelay(self, on):
        self.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, int(on))

    def _set_oobinline(self, on):
        self.setsockopt(socket.SOL_SOCKET, socket.SO_OOBINLINE, int(on))

    # write-only, as the scripts use them: `c.nodelay = True`
    nodelay = property(None, _set_nodelay)
    oobinline = property(None, _set_oobinline)

    def keepalive(self, idle_ms, interval_ms, count):
        # The kernel counts keep-alive times in whole seconds (TCP_KEEPIDLE/TCP_KEEPINTVL).
        assert idle_ms % 1000 == 0 and interval_ms % 1000 == 0, "whole seconds on Linux"
        self.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, idle_ms // 1000)
        self.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, interval_ms // 1000)
        self.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, count)
        self.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)

    def set_user_timeout(self, ms):
        self.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, ms)

    def shutdown_write(self):
        self.agent.call("shutdown", self.h, socket.SHUT_WR)

    def close(self):
        self.closed = True
        self.agent.call("close", self.h)

    def abort(self):
        """SO_LINGER {on, 0} then close: the kernel's abort (RST)."""
        self.closed = True
        self.agent.call("abort", self.h)

    def info(self):
        """The state, from ss by the 4-tuple: it follows the connection after close() and
        into TIME_WAIT (where the socket behind an open fd already says CLOSE); and srtt_ms,
        named as barenet's info() names it, from ss -i's line after it; likewise cc (the
        algorithm's name), cwnd and ssthresh in bytes (ss counts segments of its mss)."""
        rows = self.agent.call("ss", True)
        for i, row in enumerate(rows):
            if len(row) > 4 and row[3].endswith(":%d" % self.lport) and \
                    row[4].endswith(":%d" % self.rport):
                d = {"state": _SS_STATES.get(row[0], row[0])}
                more = rows[i + 1] if i + 1 < len(rows) else []
                d["ssthresh"] = None
                for w in more:
                    if w.startswith("rtt:"):
                        d["srtt_ms"] = float(w[4:].split("/")[0])
                    elif w in ("reno", "cubic", "bbr"):
                        d["cc"] = w
                segs = dict(w.split(":", 1) for w in more
                            if w.split(":")[0] in ("mss", "cwnd", "ssthresh"))
                if "mss" in segs:
                    for k in ("cwnd", "ssthresh"):
                        if k in segs:
                            d[k] = int(segs[k]) * int(segs["mss"])
                return d
        return {"state": "CLOSED"}


class LinuxListener:
    def __init__(self, agent, h, port):
        self.agent = agent
        self.h = h
        self.port = port

    def accept(self):
        r = self.agent.call("accept", self.h)
        return None if r is None else LinuxConn(self.agent, r[0], self.port, r[1])


class LinuxTCP:
    """The kernel's TCP behind barenet's TCP verbs (listen, connect, connections)."""

    def __init__(self, agent):
        self.agent = agent

    def listen(self, port, backlog=8):
        return LinuxListener(self.agent, self.agent.call("listen", US_IP, port, backlog), port)

    def connect(self, dst, port, src_port=0):
        h, lport = self.agent.call("connect", dst, port, US_IP, src_port)
        return LinuxConn(self.agent, h, lport, port)

    def connections(self):
        """States of every socket but listeners (orphans included: they are still the SUT's)."""
        return [_SS_STATES.get(r[0], r[0]) for r in self.agent.call("ss") if r[0] != "LISTEN"]


class LinuxTarget:
    """The kernel in a fresh namespace as 192.0.2.2 behind a TAP; frames stamped in real time."""

    name = "linux"
    # Per-namespace knobs for deterministic scripts (each says why):
    SYSCTLS = (
        # IPv6 off: no router solicitations or MLD reports on the TAP.
        ("net.ipv6.conf.all.disable_ipv6", 1), ("net.ipv6.conf.default.disable_ipv6", 1),
        # Out-of-window ACKs and challenge ACKs are rate-limited per socket to one per 500 ms
        # (tcp_oow_rate_limited); scripts send several invalid segments in a row.
        ("net.ipv4.tcp_invalid_ratelimit", 0),
        # No tail loss probe (RFC 8985 7): a lone lost segment is resent by the RTO, which is
        # what RFC 6298 scripts check.
        ("net.ipv4.tcp_early_retrans", 0),
        # No autocorking: each send() call goes out as the scripts' Nagle rules say, not held
        # back while an earlier segment still sits in the TAP's queue.
        ("net.ipv4.tcp_autocorking", 0),
        # Linux >= 6.17 resends the first SYNs at a linear 1 s instead of backing off as
        # RFC 6298 (5.5) says; absent on older kernels (skipped).
        ("net.ipv4.tcp_syn_linear_timeouts", 0),
    )
    # barenet TCP tunables with a kernel counterpart, applied as namespace sysctls.
    TUNABLES = {
        "syn_retries": lambda v: [("net.ipv4.tcp_syn_retries", v)],
        "synack_retries": lambda v: [("net.ipv4.tcp_synack_retries", v)],
        "fin_wait2_ms": lambda v: [("net.ipv4.tcp_fin_timeout", v // 1000)],
        "sack": lambda v: [("net.ipv4.tcp_sack", int(v))],
        # RFC 3168: 1 offers ECN on the SYNs and answers an offer (2, the default, answers)
        "ecn": lambda v: [("net.ipv4.tcp_ecn", int(v))],
    }

    def __init__(self, isn=2000, mtu=1500, peer_ip=PEER_IP, linux_cc=None, **tcp_kwargs):
        # tcp_kwargs are barenet's TCP tunables: those in TUNABLES become sysctls, the others
        # (buffer sizes, delayed-ACK time...) the kernel keeps its own way. linux_cc: the
        # namespace's congestion control (this machine's default is bbr, which neither halves
        # cwnd on an ECE nor undoes one; "reno" is barenet's NewReno's counterpart).
        from barenet_host.netns import NetNS, unique_name
        from barenet_host.devices.tap import TapDevice

        self.peer_ip = peer_ip
        self.ns = NetNS()
        self.ns.__enter__()
        self.tap = self.agent = None
        self._stop = threading.Event()
        self._cond = threading.Condition()
        self._out = []
        self._thread = None
        try:
            knobs = list(self.SYSCTLS)
            if linux_cc is not None:
                knobs.append(("net.ipv4.tcp_congestion_control", linux_cc))
            for k, v in tcp_kwargs.items():
                if k in self.TUNABLES:
                    knobs += self.TUNABLES[k](v)
            for k, v in knobs:
                if os.path.exists("/proc/sys/" + k.replace(".", "/")):
                    self.ns.sysctl(k, v)
            self.tap = TapDevice(unique_name("k"))
            dev = self.tap.name
            self.ns.move(dev)
            self.ns.ip("link", "set", "dev", dev, "address", US_MAC, "mtu", str(mtu))
            self.ns.addr(dev, US_IP + "/24")
            self.ns.up(dev)
            # The peer's MAC is fixed: no ARP exchange in the timeline (the reader would still
            # answer one).
            self.ns.ip("neigh", "replace", peer_ip, "lladdr", PEER_MAC, "dev", dev,
                       "nud", "permanent")
            self.agent = _Agent(self.ns)
            self.tcp = LinuxTCP(self.agent)
            self.agent.call("ss")               # the agent is up and answering
            self.t0 = time.monotonic()
            self._thread = threading.Thread(target=self._reader, daemon=True)
            self._thread.start()
        except BaseException:
            self.close()
            raise

    @property
    def now(self):
        return (time.monotonic() - self.t0) * 1000.0

    def acted(self):
        """ms since start when the kernel was last asked to act (a socket call), or 0."""
        t = self.agent.acted
        return 0.0 if t is None else (t - self.t0) * 1000.0

    def _reader(self):
        fd = self.tap.fileno()
        while not self._stop.is_set():
            r, _, _ = select.select([fd], [], [], 0.02)
            if not r:
                continue
            while True:
                try:
                    frame = os.read(fd, 65536)
                except BlockingIOError:
                    break
                t = self.now
                if frame[12:14] == b"\x08\x06":
                    reply = _arp_reply(frame, self.peer_ip)
                    if reply is not None:
                        self.tap.send(reply)
                elif frame[12:14] == b"\x08\x00":
                    with self._cond:
                        self._out.append((t, frame))
                        self._cond.notify_all()

    def settle(self):
        pass

    def wait(self, ms):
        """Real time passes; the reader keeps stamping whatever the kernel sends."""
        end = time.monotonic() + ms / 1000.0
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return
            self._stop.wait(left)

    def send(self, frame):
        self.tap.send(frame)

    def take(self, n=0, until_ms=None):
        with self._cond:
            if until_ms is not None:
                while len(self._out) < n:
                    left = (until_ms - self.now) / 1000.0
                    if left <= 0:
                        break
                    self._cond.wait(left)
            out, self._out = self._out, []
        return out

    def push_back(self, frames):
        """Return frames taken too early: they are the next expectation's business."""
        with self._cond:
            self._out[0:0] = frames

    def quiet(self, ms):
        self.wait(LINUX_QUIET_MS if ms is None else ms)

    def close(self):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self.agent is not None:
            self.agent.close()
        if self.tap is not None:
            self.tap.close()
        self.ns.delete()


TARGETS = {"barenet": BarenetTarget, "linux": LinuxTarget}


class Script:
    """One timeline against one target ("barenet" or "linux"). kw go to the target: start_ms,
    mtu, peer_ip, faults and barenet's TCP tunables (see each target for what it honours);
    linux_cc only to Linux (LinuxTarget)."""

    def __init__(self, isn=2000, target="barenet", linux_cc=None, **kw):
        if target == "linux":
            kw["linux_cc"] = linux_cc
        self.target = TARGETS[target](isn=isn, **kw)
        self.linux = target == "linux"
        self.isn = isn
        self.tcp = self.target.tcp
        self.peer_ip = self.target.peer_ip
        # (SUT port, peer port) -> the SUT's real ISN minus the nominal one
        self.offsets = {}
        self.last = 0.0
        # extra time to let pass where barenet's clock is exact and the kernel's is not
        self.slack = LINUX_LATE_MS if self.linux else 0
        # barenet's own objects, for the scripts that only make sense on barenet
        for name in ("sim", "stack", "iface", "wire", "nic"):
            if hasattr(self.target, name):
                setattr(self, name, getattr(self.target, name))

    def close(self):
        self.target.close()

    # -- time ----------------------------------------------------------------------------

    @property
    def now(self):
        """ms since the script started (virtual on barenet, real on Linux)."""
        return self.target.now

    def settle(self):
        self.target.settle()

    def wait(self, ms):
        """Let ms pass; the SUT's timers due meanwhile fire at their own times."""
        self.target.wait(ms)

    def mark(self):
        """Make now the reference for the next within=."""
        self.last = self.now

    # -- the peer's side -------------------------------------------------------------------

    def segment(self, flags, seq=0, ack=0, win=65535, data=b"", sport=PEER_PORT, dport=US_PORT,
                urg=0, options=None, tos=0, **opts):
        """A scapy frame from the peer (tos: its IP TOS byte, the ECN field in its low two
        bits). opts: mss=, wscale=, sack_perm=True, sack=[(l, r)].
        ack and sack edges are in the SUT's sequence space and are written relative to the
        nominal ISN: they are moved onto the SUT's real one."""
        off = self.offsets.get((dport, sport), 0)
        o = list(options or [])
        if "mss" in opts:
            o.append(("MSS", opts["mss"]))
        if "wscale" in opts:
            o.append(("WScale", opts["wscale"]))
        if opts.get("sack_perm"):
            o.append(("SAckOK", b""))
        if opts.get("sack"):
            o.append(("SAck", tuple((x + off) % 2**32 for b in opts["sack"] for x in b)))
        if "A" not in flags.replace(".", "A") and ack == 0:
            off = 0
        return (Ether(dst=US_MAC, src=PEER_MAC) / IP(src=self.peer_ip, dst=US_IP, tos=tos) /
                ScapyTCP(sport=sport, dport=dport, flags=flags.replace(".", "A"), seq=seq % 2**32,
                         ack=(ack + off) % 2**32, window=win, urgptr=urg, options=o) / data)

    def inject(self, flags, **kw):
        """The peer sends one segment now."""
        self.inject_frame(self.segment(flags, **kw))

    def inject_frame(self, frame):
        self.last = self.now
        self.target.send(bytes(frame))

    def inject_icmp(self, icmp_type, code, quoted_frame, nexthop_mtu=0):
        """An ICMP error from a router about a frame the SUT sent (quotes its IP header + 8)."""
        q = bytes(quoted_frame[IP])[:quoted_frame[IP].ihl * 4 + 8]
        icmp = ICMP(type=icmp_type, code=code, nexthopmtu=nexthop_mtu) if nexthop_mtu else \
            ICMP(type=icmp_type, code=code)
        self.inject_frame(Ether(dst=US_MAC, src=PEER_MAC) / IP(src=self.peer_ip, dst=US_IP) /
                          icmp / q)

    # -- the SUT's side --------------------------------------------------------------------

    def take(self, n=0, until_ms=None):
        """Every (time since start, scapy frame) the SUT sent since the last call (raw
        sequence numbers); with until_ms, first wait (up to that time) for n of them."""
        return [(t, Ether(f)) for t, f in self.target.take(n, until_ms)]

    def _late_ref(self):
        # How late a segment is counts from the last packet or from the last user call made
        # after it, whichever is later: on Linux a call goes through the agent process, and on
        # a loaded machine reaching the kernel took 100 ms more than the lateness allowed.
        return max(self.last, self.target.acted())

    def _deadline(self, at, within, timeout):
        if timeout is not None:
            return self.now + timeout
        if at is not None:
            return at + (LINUX_LATE_MS if self.linux else 0)
        if within is not None:
            return self._late_ref() + within[1] + (LINUX_LATE_MS if self.linux else 0)
        return self.now + LINUX_EXPECT_MS if self.linux else None

    def expect(self, flags, seq=None, ack=None, win=None, data=None, at=None, within=None,
               timeout=None, **opts):
        """Exactly one segment was sent, matching every given field; returns its scapy TCP
        (its seq moved back onto the nominal ISN). flags may list alternatives: "R|RA".

        at: the time (ms since start) it must have left at (a window on Linux). within=(lo, hi):
        it left lo..hi ms after the previous packet (or mark()). The script waits for it up to
        the latest time allowed. opts: mss=, wscale=, sack_perm=, sack=[(l, r)], urg= (the
        urgent pointer), no_options=True, ect= (the IP header's ECN field, RFC 3168 5).
        """
        ref = self.last
        late_ref = self._late_ref()
        got = self.take(1, self._deadline(at, within, timeout))
        if self.linux and len(got) > 1:
            # Real time: what came after the first one is the next expectation's business.
            self.target.push_back([(t, bytes(f)) for t, f in got[1:]])
            got = got[:1]
        assert len(got) == 1, "expected one %s segment, got %s" % (flags, _show(got))
        t, f = got[0]
        t_ = self._check(t, f, flags, seq, ack, win, data, at, opts)
        if within is not None:
            lo, hi = within
            if self.linux:
                lo, hi = lo - LINUX_EARLY_MS, hi + LINUX_LATE_MS
            assert lo <= t - ref and t - late_ref <= hi, \
                "time: want %s..%s ms after %d, got %s" % (lo, hi, ref, _show(got))
        return t_

    def expect_many(self, n, timeout=None):
        """Exactly n segments were sent; returns their scapy TCP layers."""
        got = self.take(n, self._deadline(None, None, timeout))
        if self.linux:
            self.target.quiet(None)                       # anything more on its way?
            got += self.take()
        assert len(got) == n, "expected %d segments, got %s" % (n, _show(got))
        out = [self._check(t, f, "", None, None, None, None, None, {}, flags_any=True)
               for t, f in got]
        return out

    def expect_nothing(self, ms=None):
        """Nothing is sent during the next ms (by default: nothing is due now on barenet,
        nothing within a short quiet period on Linux)."""
        self.target.quiet(ms)
        got = self.take()
        assert not got, "expected nothing, got %s" % _show(got)

    def quickack(self, ack):
        """The SUT may ACK the data just sent at once, or delay it (RFC 5681 4.2 allows both):
        Linux ACKs at once in its quick-ACK mode, the first segments of a connection
        (tcp_incr_quickack); barenet delays. Take Linux's ACK so the script goes on alike."""
        if self.linux:
            self.expect("A", ack=ack, within=(0, 0))

    def _check(self, t, f, flags, sq, ak, win, data, at, opts, flags_any=False):
        assert ScapyTCP in f, "not TCP: %r" % f
        t_ = f[ScapyTCP]
        key = (t_.sport, t_.dport)
        if "S" in str(t_.flags) and self.isn is not None:
            self.offsets[key] = (t_.seq - self.isn) % 2**32
        what = _show([(t, f)])
        # IP and TCP checksums must verify in scapy (before the seq is made relative)
        ip = f[IP].copy()
        del ip.chksum
        del ip[ScapyTCP].chksum
        redo = IP(bytes(ip))
        assert redo.chksum == f[IP].chksum and redo[ScapyTCP].chksum == t_.chksum, "checksum"
        t_.seq = (t_.seq - self.offsets.get(key, 0)) % 2**32
        self.last = t
        if flags_any:
            return t_
        assert _flagset(str(t_.flags)) in [_flagset(f) for f in flags.split("|")], \
            "flags: want %s, got %s" % (flags, what)
        if sq is not None:
            assert t_.seq == sq % 2**32, "seq: want %d, got %s (relative %d)" % (
                sq % 2**32, what, t_.seq)
        if ak is not None:
            assert t_.ack == ak % 2**32, "ack: want %d, got %s" % (ak % 2**32, what)
        if win is not None:
            assert t_.window == win, "win: want %d, got %s" % (win, what)
        if data is not None:
            assert bytes(t_.payload) == data, "data: want %r, got %r" % (data, bytes(t_.payload))
        if at is not None:
            if self.linux:
                assert at - LINUX_EARLY_MS <= t <= at + LINUX_LATE_MS, \
                    "time: want %d (-%d/+%d), got %s" % (at, LINUX_EARLY_MS, LINUX_LATE_MS, what)
            else:
                assert t == at, "time: want %d, got %s" % (at, what)
        o = dict((k, v) for k, v in t_.options if k not in ("NOP", "EOL"))
        if opts.get("no_options"):
            assert not o, "options: want none, got %r" % (o,)
        for k, name in (("mss", "MSS"), ("wscale", "WScale")):
            if k in opts:
                assert o.get(name) == opts[k], "%s: want %r, got %r" % (k, opts[k], o)
        if "sack_perm" in opts:
            assert ("SAckOK" in o) == opts["sack_perm"], "sack_perm: got %r" % (o,)
        if "sack" in opts:
            want = tuple(x for b in opts["sack"] for x in b)
            assert o.get("SAck", ()) == want, "sack: want %r, got %r" % (want, o)
        if "urg" in opts:
            assert t_.urgptr == opts["urg"], "urg: want %d, got %s" % (opts["urg"], what)
        if "ect" in opts:
            assert f[IP].tos & 3 == opts["ect"], "ECN field: want %d, got %d in %s" % (
                opts["ect"], f[IP].tos & 3, what)
        return t_

    # -- common openings -----------------------------------------------------------------

    def established_passive(self, peer_isn=1000, win=65535, mss=1460, **opts):
        """Listen on US_PORT and complete a handshake from the peer; returns the connection.
        The peer's next sequence number is peer_isn + 1, ours is isn + 1."""
        self.listener = self.tcp.listen(US_PORT)
        self.inject("S", seq=peer_isn, win=win, mss=mss, **opts)
        sa = self.expect("SA", ack=peer_isn + 1)
        self.inject("A", seq=peer_isn + 1, ack=sa.seq + 1, win=win)
        self.expect_nothing()
        conn = self.listener.accept()
        assert conn is not None and conn.info()["state"] == "ESTABLISHED"
        return conn

    def established_active(self, peer_isn=1000, win=65535, mss=1460, **opts):
        """The SUT connects to the peer, which answers; returns the connection."""
        conn = self.tcp.connect(self.peer_ip, PEER_PORT, src_port=US_PORT)
        self.settle()
        syn = self.expect("S")
        self.inject("SA", seq=peer_isn, ack=syn.seq + 1, win=win, mss=mss, **opts)
        self.expect("A", seq=syn.seq + 1, ack=peer_isn + 1)
        assert conn.info()["state"] == "ESTABLISHED"
        return conn

    # The closing states, one opening each as smoltcp's socket_fin_wait_1() & co., but built
    # from real segments so they hold on Linux too. Each starts from established_passive()
    # (kw go to it) and asserts the state it reached. The SUT closes with close(), which
    # orphans the socket on Linux, or with half_close=True with shutdown(SHUT_WR), after which
    # the application still reads.

    def fin_wait_1(self, peer_isn=1000, half_close=False, **kw):
        """The SUT's FIN (seq isn + 1) is out and not acked; the peer's next seq is
        peer_isn + 1."""
        conn = self.established_passive(peer_isn=peer_isn, **kw)
        conn.shutdown_write() if half_close else conn.close()
        self.expect("FA", seq=self.isn + 1, ack=peer_isn + 1, within=(0, 0))
        _assert_state(conn, "FIN_WAIT_1")
        return conn

    def fin_wait_2(self, peer_isn=1000, half_close=False, **kw):
        """The peer acked the SUT's FIN (ack isn + 2) and has not closed yet."""
        conn = self.fin_wait_1(peer_isn, half_close, **kw)
        self.inject("A", seq=peer_isn + 1, ack=self.isn + 2)
        self.expect_nothing()
        _assert_state(conn, "FIN_WAIT_2")
        return conn

    def closing(self, peer_isn=1000, half_close=False, **kw):
        """The FINs crossed (RFC 9293 3.6 case 2): the SUT acked the peer's FIN (ack
        peer_isn + 2), its own FIN is still unacked (its retransmission timer runs)."""
        conn = self.fin_wait_1(peer_isn, half_close, **kw)
        self.inject("FA", seq=peer_isn + 1, ack=self.isn + 1)
        self.expect("A", seq=self.isn + 2, ack=peer_isn + 2, within=(0, 0))
        _assert_state(conn, "CLOSING")
        return conn

    def time_wait(self, peer_isn=1000, half_close=False, from_closing=False, **kw):
        """Both FINs sent and acked: from FIN_WAIT_2 by the peer's FIN (which the SUT acks),
        or with from_closing=True from CLOSING by the peer's ACK of the SUT's FIN. The 2*MSL
        timer starts now (now, on barenet, is still time 0)."""
        if from_closing:
            conn = self.closing(peer_isn, half_close, **kw)
            self.inject("A", seq=peer_isn + 2, ack=self.isn + 2)
            self.expect_nothing()
        else:
            conn = self.fin_wait_2(peer_isn, half_close, **kw)
            self.inject("FA", seq=peer_isn + 1, ack=self.isn + 2)
            self.expect("A", seq=self.isn + 2, ack=peer_isn + 2, within=(0, 0))
        _assert_state(conn, "TIME_WAIT")
        return conn


def _assert_state(conn, want):
    got = conn.info()["state"]
    assert got == want, "state: want %s, got %s" % (want, got)


def _show(got):
    out = []
    for t, f in got:
        if ScapyTCP in f:
            x = f[ScapyTCP]
            out.append("@%d %s seq=%d ack=%d win=%d len=%d %r" % (
                t, x.flags, x.seq, x.ack, x.window, len(bytes(x.payload)),
                [o for o in x.options if o[0] != "NOP"]))
        else:
            out.append("@%d %s" % (t, f.summary()))
    return "[" + "; ".join(out) + "]"


# -- running a script on both targets ---------------------------------------------------------------

def _param(name, xfail):
    marks = [pytest.mark.root] if name == "linux" else []
    if xfail:
        marks.append(pytest.mark.xfail(strict=True, reason=xfail))
    return pytest.param(name, marks=marks, id=name)


def on_both(barenet_xfail=None, linux_xfail=None):
    """Run the test's `script` fixture on barenet and on Linux; a reason marks that variant
    xfail(strict=True) (a known difference, reported, that must not silently go away)."""
    return pytest.mark.parametrize("script", [_param("barenet", barenet_xfail),
                                              _param("linux", linux_xfail)], indirect=True)


@pytest.fixture(params=[_param("barenet", None), _param("linux", None)])
def script(request):
    """script(**kw) -> Script on this test's target; the Linux one is torn down afterwards
    (namespace, TAP, agent), also after a failure."""
    if request.param == "linux":
        request.getfixturevalue("require_root")
    made = []

    def make(**kw):
        s = Script(target=request.param, **kw)
        made.append(s)
        return s

    yield make
    for s in made:
        s.close()
