"""Shared pieces of the fuzz tests: a stack under test that records what it sends, and
hypothesis strategies for frames that reach the deep parsers.

Random bytes alone mostly die at the Ethernet destination check or the IPv4 checksum, so most
frames here are structured: addressed to the stack, with valid checksums computed over random
field values, and only sometimes truncated or bit-flipped afterwards.

Field values come from a `Knobs` reader over one hypothesis byte string per frame rather than
one hypothesis draw per field: per-field draws made the generator 30x slower than the stack it
feeds. Exhausted knobs read as zero and every choice lists its common case first, so
hypothesis shrinks a failure towards a plain, valid frame.

The wire parsers are fuzzed one by one as well (test_fuzz_wire.py), from the list in
parsers.py. A new parser (SLIP, DHCP, DNS, mDNS) plugs in there with one `Parser` entry: a
function from Knobs to (fields, well-formed bytes built by its emitter), its parse call, the
fields of its result and scapy's reading of the bytes; every test there then covers it, and
atheris_stack.py gets a `--target=` for it. A new protocol the stack answers belongs in
`structured` too (a generator beside udp_segment and icmp_message), so that the stack tests
and the soak (bench/fuzz_soak.py) send it.
"""

import os
import struct
import traceback

from hypothesis import HealthCheck, settings, strategies as st

from barenet import ticks
from barenet.stack import Stack
from barenet.wire import arp, ethernet, icmp, ipv4, udp
from barenet.wire.checksum import checksum, csum, finish, pseudo

# >= 10 000 examples per fuzz test in CI; BARENET_FUZZ_EXAMPLES overrides for a deep run.
EXAMPLES = int(os.environ.get("BARENET_FUZZ_EXAMPLES") or
               (10000 if os.environ.get("HYPOTHESIS_PROFILE") == "ci" else 400))
FUZZ = settings(max_examples=EXAMPLES, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.filter_too_much])

OUR_MAC = bytes.fromhex("020000000002")
PEER_MAC = bytes.fromhex("020000000001")
BCAST_MAC = b"\xff" * 6


def _ip(s):
    return bytes(int(x) for x in s.split("."))


OUR_IP = _ip("192.0.2.2")
PEER_IP = _ip("192.0.2.1")  # also the gateway, and the address left waiting for ARP
OTHER_IP = _ip("192.0.2.77")
SUBNET_BCAST = _ip("192.0.2.255")
LIMITED_BCAST = _ip("255.255.255.255")
SPECIAL = [_ip("0.0.0.0"), _ip("224.0.0.1"), _ip("127.0.0.1"), _ip("198.51.100.9")]
UDP_PORT = 7
ECHO_IDENT = 0x4242
# Small limits, so the fuzzer reaches them. One source may use the whole reassembly budget: the
# per-source share has a property test of its own (tests/unit/test_reasm.py).
LIMITS = dict(arp_size=3, arp_pending=2, arp_queue_bytes=3000, reasm_datagrams=3, reasm_bytes=3000,
              reasm_timeout_ms=5000, reasm_share_pct=100, icmp_error_burst=3, udp_queue=2,
              echo_queue=2, raw_queue=2)
# Start just before the tick counter wraps, so timers run across it.
START_MS = ticks.PERIOD - 3000


class CaptureNIC:
    def __init__(self):
        self.frames = []

    def send(self, frame):
        self.frames.append(bytes(frame))  # frame is only valid during the call


class Target:
    """One stack on a capturing NIC, with a bound UDP port, an echo client, and a datagram
    waiting for ARP (so ARP replies and resolution failures have something to do). link "ip":
    the NIC carries bare datagrams (TUN, SLIP); frames fed to it lose their Ethernet header."""

    def __init__(self, now=START_MS, link="ethernet"):
        self.now = now
        self.link = link
        self.nic = CaptureNIC()
        self.stack = Stack(**LIMITS)
        self.iface = self.stack.add_interface(self.nic, mac=OUR_MAC, ip="192.0.2.2/24",
                                              gateway="192.0.2.1", now_ms=now, link=link)
        self.ep = self.stack.udp.bind(UDP_PORT)
        self.echo = self.stack.icmp.echo_endpoint(ECHO_IDENT)
        self.ep.sendto(b"waiting for ARP", ("192.0.2.1", 9))
        # Raw copies of what the layers see, and of a protocol none speaks; one connected, so
        # that ICMP errors quoting it are reported to it.
        self.raws = [self.stack.raw.open(p) for p in (1, 6, 17, 253)]
        self.raws[3].connect("192.0.2.1")
        self.received = []

    def feed(self, frame):
        if self.link == "ip":
            frame = frame[14:]
        self.stack.input(self.iface, frame, self.now)
        self.stack.poll(self.now)
        self.check()

    def advance(self, ms):
        self.now = ticks.add(self.now, ms)
        self.stack.poll(self.now)
        self.check()

    def run(self, events):
        for kind, value in events:
            if kind == "frame":
                self.feed(value)
            else:
                self.advance(value)

    def drain(self):
        while True:
            try:
                d = self.ep.recvfrom()
            except OSError:
                continue  # a reported ICMP error: the queue is still there
            if d is None:
                break
            self.received.append(d)
        while self.echo.recv() is not None:
            pass
        for ep in self.raws:
            assert ep.pending() <= ep.queue_len
            while ep.pending():
                try:
                    d, _ = ep.recvfrom()
                except OSError:
                    continue  # a reported ICMP error, raised once
                h, _ = ipv4.parse(memoryview(d))  # a whole, valid datagram with its header
                assert h.proto == ep.proto and h.total_len == len(d)

    def check(self):
        st_ = self.stack.stats
        if st_["stack"].get("drop_internal_error", 0):
            e = self.stack.last_error
            raise AssertionError("exception inside stack.input()/poll():\n" + "".join(
                traceback.format_exception(type(e), e, e.__traceback__)))
        self.drain()
        for f in self.nic.frames:
            if self.link == "ip":
                check_datagram(f)
            else:
                check_sent(f)
        self.nic.frames.clear()
        r = self.stack.ip.reasm
        assert len(r.pending) <= r.max_datagrams and 0 <= r.bytes <= r.max_bytes
        assert r.bytes == sum(d.cost for d in r.pending.values())
        for d in r.pending.values():
            assert d.size == sum(len(b) for _, b in d.frags)
            ends = [(o, o + len(b)) for o, b in d.frags]
            assert all(ends[i][1] <= ends[i + 1][0] for i in range(len(ends) - 1)), ends
        if self.link == "ip":
            return
        a = self.iface.arp
        assert len(a.entries) <= a.size and len(a.pending) <= a.pending_addrs
        assert all(sum(len(d) for d in p.queue) <= a.pending_bytes for p in a.pending.values())


def check_sent(frame):
    """Whatever came in, what goes out must be well formed (parsed by the golden-tested codecs)."""
    assert len(frame) <= 14 + 1500, len(frame)
    dst, src, etype, payload = ethernet.parse(memoryview(frame))
    assert bytes(src) == OUR_MAC
    if etype == ethernet.TYPE_ARP:
        op, sha, spa, _, _ = arp.parse(payload)
        assert sha == OUR_MAC and spa == OUR_IP
        return
    assert etype == ethernet.TYPE_IPV4, etype
    check_datagram(payload)


def check_datagram(payload):
    """An IPv4 datagram we sent must be well formed too."""
    h, seg = ipv4.parse(memoryview(payload))
    assert h.src == OUR_IP, h.src
    if h.mf or h.frag_off:
        return
    if h.proto == 1:
        icmp.parse(seg)
    elif h.proto == 17:
        udp.parse(seg, h.src, h.dst)


# -- generation ------------------------------------------------------------------------------

class Knobs:
    """Choices read from a byte string (like libFuzzer's FuzzedDataProvider)."""

    def __init__(self, data, pool=b""):
        self.d = data
        self.i = 0
        self.pool = pool or b"\x00"

    def byte(self):
        i = self.i
        self.i += 1
        return self.d[i] if i < len(self.d) else 0

    def int(self, nbytes):
        v = 0
        for _ in range(nbytes):
            v = (v << 8) | self.byte()
        return v

    def below(self, n):
        return self.int(2) % n if n > 0 else 0

    def pick(self, options):
        return options[self.byte() % len(options)]

    def rarely(self):
        return self.byte() >= 224  # about one in eight

    def often(self, common, others):
        """common seven times in eight, else one of others: deep layers see mostly-valid input."""
        return common if not self.rarely() else self.pick(others)

    def blob(self, n):
        """n bytes of content (the pool repeated: what matters is length and checksums)."""
        p = self.pool
        return (p * (n // len(p) + 1))[:n]

    def payload(self):
        return self.blob(self.pick([self.below(65), self.below(65), self.below(1501), 0]))

    def ip(self, common):
        return self.often(common[0], common[1:] + [bytes(self.byte() for _ in range(4))])

    def shuffle(self, items):
        items = list(items)
        for i in range(len(items) - 1, 0, -1):
            j = self.below(i + 1)
            items[i], items[j] = items[j], items[i]
        return items


SRC_IPS = [PEER_IP, OTHER_IP, OUR_IP, SUBNET_BCAST, LIMITED_BCAST] + SPECIAL
DST_IPS = [OUR_IP, SUBNET_BCAST, LIMITED_BCAST, PEER_IP] + SPECIAL  # first: the common case


def _port(k):
    return k.often(UDP_PORT, [9, 0, k.int(2)])


def _sum(k, good):
    """The right checksum, usually; sometimes zero ("none" for UDP) or anything."""
    return k.often(good, [0, k.int(2)])


def udp_segment(k, src, dst):
    data = k.payload()
    n = 8 + len(data)
    b = bytearray(struct.pack("!HHHH", _port(k), _port(k), k.often(n, [n - 1, n + 1, k.int(2)]), 0)
                  + data)
    b[6:8] = struct.pack("!H", _sum(k, finish(csum(b, pseudo(src, dst, 17, len(b)))) or 0xFFFF))
    return bytes(b)


def quoted_datagram(k):
    """What an ICMP error quotes: an IPv4 header (from us) and the start of its payload."""
    proto = k.pick([17, 1, 6, k.byte()])
    ihl = k.often(5, [6, 15, 0, 4])
    q = bytearray(struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, k.int(2), k.int(2), 0, 64, proto,
                              0, OUR_IP, k.ip(DST_IPS)))
    q += k.blob(max(0, ihl * 4 - 20))
    if proto == 17:
        q += struct.pack("!HHHH", UDP_PORT, _port(k), k.int(2), k.int(2))
    elif proto == 1:
        q += struct.pack("!BBHI", k.pick([8, 0, 3, k.byte()]), 0, 0, (ECHO_IDENT << 16) | k.int(2))
    elif proto == 6:
        q += struct.pack("!HHI", k.int(2), k.int(2), k.int(4))
    q += k.blob(k.below(24))
    if k.rarely():
        del q[k.below(len(q) + 1):]
    return bytes(q)


ERROR_TYPES = (3, 4, 5, 11, 12)


def icmp_message(k):
    typ = k.pick([8, 3, 3, 11, 0, 4, 5, 12, 13, k.byte()])
    if typ == 3:  # port / host / net / protocol unreachable, fragmentation needed
        code = k.pick([3, 4, 1, 0, 2, 4, k.byte()])
    else:
        code = k.often(0, [1, k.byte()])
    if typ == 3 and code == 4:  # RFC 1191: next-hop MTU in the low 16 bits
        rest = k.pick([576, 1400, 68, 0, 1500, 65535, k.int(4)])
    else:
        rest = k.pick([(ECHO_IDENT << 16) | 1, 0, k.int(4)])
    body = quoted_datagram(k) if typ in ERROR_TYPES and not k.rarely() else k.payload()
    b = bytearray(struct.pack("!BBHI", typ, code, 0, rest) + body)
    b[2:4] = struct.pack("!H", _sum(k, checksum(b)))
    return bytes(b)


def tcp_segment(k, src, dst):
    doff = k.pick([5, 5, 6, 8, 15, k.byte() & 15])
    b = bytearray(struct.pack("!HHIIBBHHH", _port(k), _port(k), k.int(4), k.int(4), doff << 4,
                              k.byte(), k.int(2), 0, k.int(2)))
    b += bytes(k.byte() for _ in range(max(0, doff * 4 - 20))) + k.blob(k.below(65))
    b[16:18] = struct.pack("!H", _sum(k, finish(csum(b, pseudo(src, dst, 6, len(b))))))
    return bytes(b)


def ipv4_header(src, dst, proto, payload_len, ident, df=False, mf=False, frag_off=0, ttl=64,
                version=4, ihl=5, options=b"", total=None, fix_sum=True):
    if total is None:
        total = ihl * 4 + payload_len
    flags = (0x4000 if df else 0) | (0x2000 if mf else 0) | ((frag_off >> 3) & 0x1FFF)
    h = bytearray(struct.pack("!BBHHHBBH4s4s", (version << 4) | ihl, 0, total & 0xFFFF, ident,
                              flags, ttl, proto, 0, src, dst) + options)
    if fix_sum:
        h[10:12] = struct.pack("!H", checksum(h[:ihl * 4]))
    return bytes(h)


def tcp_datagram(src, dst, sport, dport, sq, ak, flags, wnd, opts=b"", payload=b"", urp=0,
                 bad_sum=False):
    """An IPv4 datagram carrying one TCP segment; opts a multiple of 4 bytes long."""
    hlen = 20 + len(opts)
    b = bytearray(struct.pack("!HHIIBBHHH", sport, dport, sq, ak, (hlen >> 2) << 4, flags, wnd,
                              0, urp) + opts + payload)
    good = finish(csum(b, pseudo(src, dst, 6, len(b))))
    b[16:18] = struct.pack("!H", good ^ 1 if bad_sum else good)
    return ipv4_header(src, dst, 6, len(b), 1) + bytes(b)


def ipv4_datagram(k):
    src, dst = k.ip(SRC_IPS), k.ip(DST_IPS)
    proto = k.pick([17, 1, 6, 17, 1, 17, 1, k.byte()])
    if proto == 17:
        payload = udp_segment(k, src, dst)
    elif proto == 1:
        payload = icmp_message(k)
    elif proto == 6:
        payload = tcp_segment(k, src, dst)
    else:
        payload = k.payload()
    version = 4 if not k.rarely() else k.byte() & 15
    ihl = k.often(5, [6, 15, 0, 4, 3])
    options = bytes(k.byte() for _ in range(max(0, ihl * 4 - 20)))
    total = None if not k.rarely() else k.int(2)
    mf, off = k.often((False, 0), [(True, 0), (True, 8), (False, 8),
                                   (bool(k.byte() & 1), (k.int(2) & 0x1FFF) * 8)])
    return ipv4_header(src, dst, proto, len(payload), k.pick([1, 2, k.int(2)]), k.byte() & 1 == 1,
                       mf, off, k.byte(), version, ihl, options, total, not k.rarely()) + payload


def arp_packet(k):
    head = (1, 0x0800, 6, 4) if not k.rarely() else (k.int(2), k.int(2), k.byte(), k.byte())
    op = k.often(k.pick([1, 2]), [3, 0, k.int(2)])
    sha = k.often(PEER_MAC, [OUR_MAC, BCAST_MAC, bytes(k.byte() for _ in range(6))])
    spa = k.ip(SRC_IPS)
    tha = k.pick([bytes(6), OUR_MAC, PEER_MAC])
    tpa = k.ip(DST_IPS)
    return struct.pack("!HHBBH", *(head + (op,))) + sha + spa + tha + tpa


def mutate(k, b):
    """Mostly unchanged; sometimes truncated, bit-flipped, or padded like a short Ethernet frame."""
    b = bytearray(b)
    how = k.often("none", ["cut", "flip", "pad"])
    if how == "cut":
        del b[k.below(len(b) + 1):]
    elif how == "flip" and b:
        for _ in range(1 + k.byte() % 3):
            b[k.below(len(b))] ^= 1 + k.byte() % 255
    elif how == "pad":
        b += k.blob(k.below(47))
    return bytes(b)


def eth(dst, etype, payload, src=PEER_MAC):
    return dst + src + struct.pack("!H", etype) + payload


def structured(k):
    kind = k.often("ip", ["arp", "arp", "other"])
    if kind == "ip":
        etype, payload = ethernet.TYPE_IPV4, ipv4_datagram(k)
    elif kind == "arp":
        etype, payload = ethernet.TYPE_ARP, arp_packet(k)
    else:
        etype, payload = k.int(2), k.payload()
    dst = k.often(OUR_MAC, [BCAST_MAC, bytes(k.byte() for _ in range(6))])
    src = k.often(PEER_MAC, [OUR_MAC, bytes(k.byte() for _ in range(6))])
    return mutate(k, eth(dst, etype, payload, src))


# One frame's knobs and content pool. min_size: hypothesis' average byte string is a few
# bytes long, too few for the choices a frame makes.
knobs = st.builds(Knobs, st.binary(min_size=40, max_size=120), st.binary(max_size=64))
structured_frame = knobs.map(structured)
# Virtual time between frames: mostly none, sometimes past the ARP retry and reassembly timeouts.
time_steps = st.sampled_from([0, 0, 1, 999, 1000, 5000, 30001]) | st.integers(0, 70000)


# -- fragments -------------------------------------------------------------------------------

def fragmentable(k, max_len=2500):
    """(proto, transport bytes, src) of a valid datagram for the stack: UDP to the bound port,
    an echo request, or an unknown protocol (answered with protocol unreachable)."""
    src = k.pick([PEER_IP, OTHER_IP])
    proto = k.pick([17, 1, 99])
    data = k.blob(9 + k.below(max_len - 8))  # >= 2 fragments
    if proto == 17:
        b = bytearray(struct.pack("!HHHH", 5000, UDP_PORT, 8 + len(data), 0) + data)
        b[6:8] = struct.pack("!H", finish(csum(b, pseudo(src, OUR_IP, 17, len(b)))) or 0xFFFF)
    elif proto == 1:
        b = bytearray(struct.pack("!BBHI", 8, 0, 0, 0x12340001) + data)
        b[2:4] = struct.pack("!H", checksum(b))
    else:
        b = data
    return proto, bytes(b), src


def fragments(k, b):
    """[(offset, bytes, more_fragments)] cutting b at 1..6 multiples of 8 strictly inside it."""
    top = (len(b) - 1) // 8
    cuts = sorted(set(8 * (1 + k.below(top)) for _ in range(1 + k.byte() % 6)))
    pts = [0] + cuts + [len(b)]
    return [(pts[i], b[pts[i]:pts[i + 1]], i + 2 < len(pts)) for i in range(len(pts) - 1)]


def fragment_frame(src, proto, ident, off, chunk, mf, ttl=64):
    return eth(OUR_MAC, ethernet.TYPE_IPV4,
               ipv4_header(src, OUR_IP, proto, len(chunk), ident, mf=mf, frag_off=off, ttl=ttl)
               + chunk)


def fragment_events(k):
    """Fragments of one or two datagrams, shuffled, duplicated, with overlapping and bogus
    extra fragments and time passing in between."""
    events = []
    for ident in k.pick([[1], [1, 2], [1, 1]]):
        proto, b, src = fragmentable(k)
        frags = fragments(k, b)
        for _ in range(k.byte() % 4):
            off = k.pick([8 * k.below(len(b) // 8 + 3), k.int(2)])
            frags.append((off, k.blob(k.below(81)), k.byte() & 1 == 1))
        frags = k.shuffle(frags)
        frags += [k.pick(frags) for _ in range(k.byte() % 3)]
        for off, chunk, mf in frags:
            events.append(("frame", fragment_frame(src, proto, ident, off, chunk, mf)))
            if k.byte() % 6 == 0:
                events.append(("time", k.pick([0, 1, 999, 4999, 5000, 30001, k.int(2)])))
    return events


fragment_scenario = st.builds(Knobs, st.binary(min_size=100, max_size=300),
                              st.binary(max_size=64)).map(fragment_events)
