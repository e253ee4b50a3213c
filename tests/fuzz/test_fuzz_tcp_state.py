"""Stateful TCP fuzz: one barenet stack against a model peer that sends whatever it likes.

A hypothesis RuleBasedStateMachine drives a Stack ("board" and "host" profiles, one machine
each) on an IP link (a TUN: TCP's behaviour without ARP in the way) with a virtual clock that
starts just before the ticks wrap. Rules: listen and accept, connect, the peer's segments
(its own next sequence number or any other, acknowledging what the stack sent or anything,
every flag combination including SYN, RST, FIN and URG, any payload size, windows from zero
up, options from parsers.tcp_option: MSS 0, window scale over 14, SACK blocks in any shape,
unknown and malformed kinds), the user's send / recv / shutdown / close / abort, and the clock
moving by small and large steps.

Invariants after every step, from what the model peer saw on the wire:
- no exception inside input() or poll() (stats["stack"]["drop_internal_error"] stays 0) and
  none out of the user calls but OSError;
- every datagram the stack sends is a well-formed TCP/IPv4 datagram, both checksums right by
  scapy's checksum (an independent implementation);
- nothing is sent beyond the right edge the peer advertised (SND.UNA + SND.WND, RFC 9293
  3.8.6, the window scaled as RFC 7323 2.3 says, with shift counts over 14 taken as 14), but
  for the one byte of a zero-window probe (RFC 9293 3.8.6.1) and a FIN right after it;
- no ACK for a sequence number the peer did not send: an ACK is either at most the end of the
  run of sequence space the peer covered from one of its SYNs, or the end of one of its
  segments (the reset a closed port answers with, RFC 9293 3.10.7.1);
- send and receive buffers within their configured sizes, out-of-order ranges within theirs,
  the connection table within max_connections, listeners' queues within their backlogs.

Example counts: fuzzlib.EXAMPLES state-machine runs per profile (10 000 in CI), each of up to
STEPS steps. See BENCHMARKS.md ("Fuzzing") for what that costs and why STEPS is what it is.
"""

import os
import struct
import traceback

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from scapy.layers.inet import TCP
from scapy.utils import checksum as scapy_checksum

from barenet import ticks
from barenet.stack import Stack
from barenet.wire import tcp as wire
from fuzzlib import EXAMPLES, FUZZ, START_MS, Knobs, tcp_datagram
from parsers import options_bytes, tcp_options

OUR_IP = bytes([192, 0, 2, 2])
PEER_IP = bytes([192, 0, 2, 1])
LISTEN_PORT = 80
PEER_PORTS = (40000, 40001)         # the peer's ports for passive opens
PEER_SERVICE = 9000                 # where the stack connects to
M32 = 0xFFFFFFFF
KNOBS = st.binary(min_size=24, max_size=80).map(Knobs)
_SMALL_STEPS = st.sampled_from([0, 1, 40, 200, 1000, 3000])
# Steps per run. Two in three runs start established (setup), so 25 steps reach data both
# ways, zero windows, out-of-order data, closes from either side and timers firing; a run
# costs about 12 ms at 25 steps against 17 ms at 40 (mostly hypothesis' own drawing), and
# 2 x 10 000 runs must fit in CI's fuzz budget (BENCHMARKS.md, "Fuzzing").
STEPS = int(os.environ.get("BARENET_FUZZ_STEPS") or 25)
# Smaller than the profiles' own, so the fuzz reaches the limits.
BOARD = dict(max_connections=3, syn_backlog=2, listen_backlog=1, sndbuf=4000, rcvbuf=3000,
             ooo_ranges=2)
HOST = dict(max_connections=4, syn_backlog=2, listen_backlog=2, sndbuf=20000, rcvbuf=9000,
            buf_start=2048, ooo_ranges=3)


def off(a, base):
    return (a - base) & M32


class Flow:
    """What the peer knows of one 4-tuple (stack's port, peer's port), from what went by."""

    def __init__(self, lport, rport):
        self.lport = lport
        self.rport = rport
        self.conn = None            # the user's handle, once accepted or connected
        self.peer_nxt = 0x7FFFFF00  # the peer's next sequence number (its ISN before a SYN)
        self.peer_isns = []         # ISNs of every SYN the peer sent
        self.sent = []              # (seq, length in sequence space) of every peer segment
        self.ends = set()           # seq + length of each, as a closed port's RST acks them
        self.peer_ws = None         # the largest window scale the peer offered
        self.iss = None             # the stack's ISN, from its SYN
        self.stack_ws = False       # the stack's SYN carried a window scale
        self.stack_max = 0          # end of what the stack sent, as an offset from iss
        self.edge = 0               # largest right edge the peer advertised, offset from iss

    def covered_end(self, isn):
        """End of the run of sequence space the peer sent from isn on."""
        pos = isn
        moved = True
        while moved:
            moved = False
            for s, n in self.sent:
                if 0 <= off(pos, s) < n:
                    pos = (s + n) & M32
                    moved = True
        return pos


class TCPFuzz(RuleBasedStateMachine):
    profile = "board"
    limits = BOARD

    def __init__(self):
        super().__init__()
        self.now = START_MS
        self.flows = {}
        self.listener = None
        self.out = []

    # -- set-up ----------------------------------------------------------------------------

    @initialize(isn=st.sampled_from([None, M32 - 1000, 0x7FFFFFF0]), seed=st.integers(0, 3),
                opened=st.sampled_from(["passive", "active", None]))
    def setup(self, isn, seed, opened):
        kw = dict(self.limits, seed=seed)
        if isn is not None:     # ISNs that make the stack's sequence numbers wrap
            kw["isn"] = lambda *a: isn
        self.stack = Stack(self.profile, **kw)
        self.iface = self.stack.add_interface(self, ip="192.0.2.2/24", gateway="192.0.2.1",
                                              now_ms=self.now, link="ip", mtu=1500)
        self.tcp = self.stack.tcp
        # Most runs start from an established connection: random steps alone seldom get
        # past the handshake within a run's length. Zero knobs make the plain segments.
        if opened == "passive":
            self.listen()
            self.peer_syn(Knobs(b""))
            self.checked()
            self.peer_in_order(Knobs(b""))
            self.checked()
            self.accept()
        elif opened == "active":
            self.connect()
            self.checked()
            self.peer_syn_ack(Knobs(b""))
            self.checked()

    def send(self, datagram):       # the NIC: what the stack sends
        self.out.append(bytes(datagram))

    def flow(self, lport, rport):
        f = self.flows.get((lport, rport))
        if f is None:
            f = self.flows[(lport, rport)] = Flow(lport, rport)
        return f

    def pick_flow(self, k):
        """Mostly a flow with a connection behind it: segments for none only draw resets."""
        if not self.flows:
            return self.flow(LISTEN_PORT, PEER_PORTS[0])
        keys = sorted(self.flows)
        live = [key for key in keys if (OUR_IP, key[0], PEER_IP, key[1]) in self.tcp.conns]
        return self.flows[k.pick(live if live and not k.rarely() else keys)]

    # -- the user ----------------------------------------------------------------------------

    @rule()
    def listen(self):
        if self.listener is None:
            self.listener = self.tcp.listen(LISTEN_PORT)

    @precondition(lambda self: self.listener is not None)
    @rule()
    def accept(self):
        c = self.listener.accept()
        if c is not None:
            self.flow(c.lport, c.rport).conn = c

    @rule()
    def connect(self):
        try:
            c = self.tcp.connect(PEER_IP, PEER_SERVICE)
        except OSError:
            return              # ENOBUFS: the table is full
        self.flow(c.lport, c.rport).conn = c

    @precondition(lambda self: self.listener is not None)
    @rule()
    def stop_listening(self):
        self.listener.close()
        self.listener = None

    def user(self, k, call):
        f = self.pick_flow(k)
        if f.conn is not None:
            try:
                return call(f.conn)
            except OSError:
                pass

    @rule(k=KNOBS, n=st.sampled_from([1, 100, 1460, 5000]))
    def user_send(self, k, n):
        got = self.user(k, lambda c: c.send(bytes(n)))
        assert got is None or 0 <= got <= n

    @rule(k=KNOBS, n=st.sampled_from([1, 1000, 65536]))
    def user_recv(self, k, n):
        got = self.user(k, lambda c: c.recv(n))
        assert got is None or len(got) <= n

    @rule(k=KNOBS, call=st.sampled_from(["shutdown_write", "close", "abort"]))
    def user_close(self, k, call):
        self.user(k, lambda c: getattr(c, call)())

    # Mostly steps under the RTO, and sometimes past every timer: delayed ACK, RTO, persist,
    # SYN retries, TIME_WAIT, the orphaned FIN_WAIT_2 limit
    @rule(ms=st.one_of(_SMALL_STEPS, _SMALL_STEPS, _SMALL_STEPS, st.sampled_from(
        [30000, 61000, 130000]) | st.integers(0, 200000)))
    def advance(self, ms):
        self.now = ticks.add(self.now, ms)

    # -- the peer ----------------------------------------------------------------------------
    # Each segment's choices come from one byte string (fuzzlib.Knobs): a hypothesis draw per
    # field made the generator, not the stack, most of the run time.

    @rule(k=KNOBS)
    def peer_syn(self, k):
        """A SYN opening a connection to the listener, with options."""
        f = self.flow(LISTEN_PORT, k.pick(PEER_PORTS))
        self.segment(k, f, k.pick([f.peer_nxt, M32 - 10, k.int(4)]), 0, wire.SYN)

    @rule(k=KNOBS)
    def peer_syn_ack(self, k):
        """The peer's answer to a connect(): SYN-ACK for the stack's SYN."""
        f = self.pick_flow(k)
        if f.iss is not None:
            self.segment(k, f, k.often(f.peer_nxt, [k.int(4)]), (f.iss + 1) & M32,
                         wire.SYN | wire.ACK)

    @rule(k=KNOBS)
    def peer_in_order(self, k):
        """An ACK (with data, maybe FIN) at the peer's next sequence number, acking what the
        stack sent: the segments of a well-behaved peer."""
        f = self.pick_flow(k)
        base = f.iss if f.iss is not None else 0
        self.segment(k, f, f.peer_nxt, (base + f.stack_max) & M32,
                     wire.ACK | k.pick([0, 0, wire.PSH, wire.FIN]),
                     k.pick([0, 0, 1, 100, 536, 1460]))

    @rule(k=KNOBS)
    def peer_anything(self, k):
        """Any flags, sequence and acknowledgment numbers, window and payload."""
        f = self.pick_flow(k)
        base = f.iss if f.iss is not None else 0
        top = base + f.stack_max
        seq = k.pick([f.peer_nxt, f.peer_nxt - 1, f.peer_nxt + 1000, f.peer_nxt + 2**31,
                      k.int(4)]) & M32
        ack = k.pick([top, base, base + 1, top + 1, top - 1, k.int(4)]) & M32
        self.segment(k, f, seq, ack, k.byte(), k.pick([0, 1, 1460, 1461, 3000, k.below(2001)]))

    def segment(self, k, f, seq, ack, flags, size=None):
        """Send one segment from the peer on flow f (the rest chosen by k)."""
        if size is None:
            size = k.pick([0, 0, 1, 100])
        wnd = k.pick([65535, 0, 1, 1000, k.int(2)])
        # Random options one time in four: a malformed one drops the whole segment
        items = tcp_options(k, 6) if k.byte() < 64 else []
        if flags & wire.SYN and not k.rarely():
            # what a real SYN carries, before the random ones
            items = [(wire.OPT_MSS, 4, struct.pack("!H", k.often(1460, [536, 0, 1, 65535]))),
                     (wire.OPT_WSCALE, 3, bytes([k.often(7, [0, 14, 15, 255])])),
                     (wire.OPT_SACK_PERM, 2, b"")] + items
        opts = options_bytes(items)[:40]
        opts += bytes(-len(opts) % 4)
        bad_sum = k.byte() == 255
        self.stack.input(self.iface, tcp_datagram(PEER_IP, OUR_IP, f.rport, f.lport, seq, ack,
                                                  flags, wnd, opts, bytes(size),
                                                  k.often(0, [1, size, k.int(2)]), bad_sum),
                         self.now)
        if not bad_sum:
            self.peer_sent(f, seq, ack, flags, wnd, items, size)

    def peer_sent(self, f, seq, ack, flags, wnd, items, size):
        """Record what the peer put on the wire, for the invariants."""
        n = size + (1 if flags & wire.SYN else 0) + (1 if flags & wire.FIN else 0)
        if flags & wire.SYN:
            f.peer_isns.append(seq)
            for kind, length, body in items:
                if kind == wire.OPT_WSCALE and length == 3:
                    f.peer_ws = max(f.peer_ws or 0, body[0])
        if n:
            f.sent.append((seq, n))
        f.ends.add((seq + n) & M32)
        if seq == f.peer_nxt:
            f.peer_nxt = (seq + n) & M32
        if flags & wire.ACK and f.iss is not None and 1 <= off(ack, f.iss) <= f.stack_max:
            # RFC 7323 2.2: the window of a SYN is never scaled; 2.3: a shift over 14 is 14
            ws = 0 if flags & wire.SYN or not f.stack_ws or f.peer_ws is None else \
                min(f.peer_ws, 14)
            f.edge = max(f.edge, off(ack, f.iss) + (wnd << ws))

    # -- after every step --------------------------------------------------------------------

    @invariant()
    def checked(self):
        if not hasattr(self, "stack"):
            return
        self.stack.poll(self.now)
        st_ = self.stack.stats
        if st_["stack"].get("drop_internal_error", 0):
            e = self.stack.last_error
            raise AssertionError("exception inside stack.input()/poll():\n" + "".join(
                traceback.format_exception(type(e), e, e.__traceback__)))
        out, self.out = self.out, []
        for d in out:
            self.check_sent(d)
        self.check_bounds()

    def check_sent(self, d):
        # Both checksums by scapy's checksum (an independent implementation); the fields
        # read here with struct, a SYN's options by scapy's decoder
        assert len(d) >= 40 and d[0] == 0x45 and d[9] == 6 and d[12:20] == OUR_IP + PEER_IP, d
        assert struct.unpack_from("!H", d, 2)[0] == len(d) <= 1500 and scapy_checksum(d[:20]) == 0
        seg = d[20:]
        assert scapy_checksum(OUR_IP + PEER_IP + struct.pack("!BBH", 0, 6, len(seg)) + seg) == 0, \
            "TCP checksum"
        sport, dport, sq, ak, doff, flags = struct.unpack_from("!HHIIBB", seg)
        f = self.flow(sport, dport)
        n = len(seg) - (doff >> 4) * 4
        if flags & wire.SYN:
            if f.iss != sq:         # a new incarnation: forget what the old one sent
                f.iss, f.stack_max, f.edge = sq, 0, 0
            f.stack_ws = any(k == "WScale" for k, _ in TCP(seg).options)
        if flags & wire.RST or f.iss is None:
            return                  # a reset's numbers are the peer's, not the stack's
        if flags & wire.ACK:
            a = ak
            assert a in f.ends or any(1 <= off(a, i) <= off(f.covered_end(i), i)
                                      for i in f.peer_isns), \
                "ACK %d for sequence space the peer never sent (ISNs %s, sent %s)" % (
                    a, f.peer_isns, f.sent)
        start = off(sq, f.iss)
        end = start + n + (1 if flags & wire.SYN else 0)
        if n and not flags & wire.SYN:
            # RFC 9293 3.8.6.1: a zero-window probe may carry one byte past the edge
            assert end <= f.edge or (n == 1 and end == f.edge + 1), \
                "sent %d..%d beyond the peer's right edge %d" % (start, end, f.edge)
        if flags & wire.FIN:
            # The FIN takes the sequence number after the data: within the window, or right
            # after a zero-window probe's byte, in its segment or the next (as BSD sends it;
            # Linux holds it back)
            assert end <= max(f.edge + 1, f.stack_max), "FIN at %d, the peer's right edge %d" % (
                end, f.edge)
            end += 1
        if end < 2**31:
            f.stack_max = max(f.stack_max, end)

    def check_bounds(self):
        cfg = self.stack.cfg
        conns = self.tcp.conns
        assert len(conns) <= cfg.max_connections, len(conns)
        for c in conns.values():
            assert 0 <= c.sndbuf.length <= c.sndbuf.cap <= cfg.sndbuf, (c.sndbuf.length, c.sndbuf.cap)
            assert 0 <= c.rcvbuf.length <= c.rcvbuf.cap <= cfg.rcvbuf, (c.rcvbuf.length, c.rcvbuf.cap)
            assert len(c.rcvbuf.ranges) <= cfg.ooo_ranges
        for lst in self.tcp.listeners.values():
            assert len(lst.queue) <= lst.backlog and len(lst.syn_queue) <= lst.syn_backlog


class TCPFuzzHost(TCPFuzz):
    profile = "host"
    limits = HOST


def _settings():
    return FUZZ.__class__(FUZZ, max_examples=EXAMPLES, stateful_step_count=STEPS)


TestTCPFuzzBoard = TCPFuzz.TestCase
TestTCPFuzzBoard.settings = _settings()
TestTCPFuzzHost = TCPFuzzHost.TestCase
TestTCPFuzzHost.settings = _settings()
