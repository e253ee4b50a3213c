# Runs inside a MicroPython VM: the x64 unix one and the 32-bit WebAssembly one (mpy32.py).
# Heap bytes allocated (gc.mem_alloc deltas, gc disabled) by barenet's TCP data path.
# Driven by bench/alloc_per_segment.py and tests/micropython/test_mpy32.py.
#
#   vm_alloc.py segments N WARMUP ISN_A ISN_B BUF [SWAPS]
#       Two stacks back to back (as bench/tcp_path.py): A sends to B over a virtual wire, frames
#       handed over a burst at a time, virtual clock; send and receive buffers of BUF bytes.
#       After WARMUP data segments (past slow start), gc.collect(); gc.disable(), then at
#       least N more data segments. One JSON line: the window's total, what of it the harness
#       allocated, and the rest (the core's) split by phase of the runner's pass (PHASES).
#       SWAPS, a comma-separated list (default "-", none), replaces parts of the core in memory
#       (never its files) to show what they cost: "csum" a non-allocating word loop for the
#       checksum sum (what a board's viper csum gives), "seq" plain small-int arithmetic for
#       tcp.seq (what sequence numbers kept as small offsets would give; small ISNs only),
#       "leak" a known allocation per segment parsed (the tests' proof that one is seen).
#   vm_alloc.py pieces [--no-time]
#       One JSON line: bytes allocated and microseconds per call of the pieces a data segment
#       goes through (parsers, checksum variants, sequence arithmetic, struct, memoryview).
#
# The harness's own allocations (its frame copies, the bytes objects recv() hands it) are
# measured too, by copying one object of each length seen (Link, hist_cost), so the core's
# figure is the window's total less them, not an estimate. A read of gc.mem_alloc() allocates
# nothing while the heap is below 2**30 bytes.
import gc
import json
import struct
import sys
import time

from barenet import ticks
from barenet.stack import Stack
from barenet.tcp import seq
from barenet.wire import checksum, ethernet, ipv4
from barenet.wire import tcp as wtcp

mem_alloc = gc.mem_alloc


def _no_probe():
    return 0


_probe = _no_probe   # the runner's phase brackets: gc.mem_alloc while measuring (segments())
_SLOTS = 1024       # frames one link direction can hold between two deliveries
_CHUNK = 65536      # what the sender offers per send() call, and the recv() size
_CHECKED = 64       # warm-up data segments whose copies are measured one by one
_ESTABLISHED = 4
MAC_A = b"\x02\x00\x00\x00\x00\x01"
MAC_B = b"\x02\x00\x00\x00\x00\x02"


class Link:
    """One direction of the cable. The frame is only valid during send(), so it is copied
    (bytes(frame), as bench/tcp_path.py does); that copy is the harness's, and counted.

    Reading gc.mem_alloc() walks the heap's allocation table, which takes long enough to
    dominate a run if done per frame. So inside the measured window the copies are only
    counted by length (`hist`, preallocated: no allocation; the runner points it at the
    current phase's histogram) and costed afterwards by copying one frame of each length.
    For the last data segments of the warm-up every copy is also measured on its own
    (`exact`), and segments() checks that the two agree."""

    def __init__(self):
        self.q = [None] * _SLOTS    # preallocated: queueing allocates nothing
        self.n = 0
        self.hist = None            # frames copied, by length
        self.exact = False
        self.measured = 0           # heap bytes the copies took, while exact
        self.frames = 0
        self.data_frames = 0        # TCP segments with payload
        self.payload = 0            # their payload bytes

    def send(self, frame):
        if self.exact:
            a = mem_alloc()
            f = bytes(frame)
            self.measured += mem_alloc() - a
        else:
            f = bytes(frame)
        self.hist[len(f)] += 1
        self.q[self.n] = f
        self.n += 1
        self.frames += 1
        # Ethernet + IPv4 + TCP header lengths, read as small ints (no allocation).
        if len(f) > 54 and f[12] == 8 and f[13] == 0 and f[23] == 6:
            ihl = (f[14] & 15) * 4
            plen = ((f[16] << 8) | f[17]) - ihl - (f[14 + ihl + 12] >> 4) * 4
            if plen > 0:
                self.data_frames += 1
                self.payload += plen


def copy_cost(n):
    """Heap bytes bytes(x) takes for a memoryview x of n bytes: what Link.send's copy of an
    n-byte frame takes, and what a bytes object of n bytes (a recv() result) takes."""
    x = memoryview(bytearray(n))
    gc.collect()
    a = mem_alloc()
    y = bytes(x)
    a = mem_alloc() - a
    y = None
    return a


def hist_cost(hist):
    return sum(c * copy_cost(n) for n, c in enumerate(hist) if c)


# Where the window's allocations happen: each pass of the runner, in this order.
PHASES = (
    "a_send",    # A: send() calls (data into the send buffer) and the poll that sends it
    "b_input",   # B: input() of the burst of data segments
    "b_poll",    # B: poll() after the burst (its coalesced ACK) and after the reads
    "b_recv",    # B: recv() calls, less the bytes objects they return (the harness's)
    "a_input",   # A: input() of the ACKs (and the data segments it sends from there)
    "a_poll",    # A: poll()
)
_A_SEND, _B_INPUT, _B_POLL, _B_RECV, _A_INPUT, _A_POLL = range(6)


class Pair:
    """Stack A connected to stack B, A the sender; each pass of the runner is split into
    PHASES, each bracketed by gc.mem_alloc() reads (12 per pass, not per frame) while
    segments() measures; during the warm-up _probe is a stub, as each read walks the heap."""

    def __init__(self, isn_a, isn_b, buf, now):
        self.ab, self.ba = Link(), Link()
        self.hists = [[0] * 2048 for _ in PHASES]     # frame copies per phase, by length
        self.spent = [0] * len(PHASES)                 # heap bytes per phase
        self.recv_hist = [0] * (_CHUNK + 1)            # recv() results, by length
        self.phase(_A_SEND)
        tcp_a = {"sndbuf": buf, "rcvbuf": buf, "isn": lambda *a: isn_a}
        tcp_b = {"sndbuf": buf, "rcvbuf": buf, "isn": lambda *a: isn_b}
        self.a, self.b = Stack(seed=1, **tcp_a), Stack(seed=2, **tcp_b)
        self.ia = self.a.add_interface(self.ab, mac=MAC_A, ip="192.0.2.1/24", now_ms=now)
        self.ib = self.b.add_interface(self.ba, mac=MAC_B, ip="192.0.2.2/24", now_ms=now)
        lst = self.b.tcp.listen(9)
        self.conn = self.a.tcp.connect("192.0.2.2", 9)
        self.now = now
        self.peer = None
        for _ in range(100):               # ARP and the handshake
            self.input(self.ab, self.b, self.ib)
            self.b.poll(now)
            self.input(self.ba, self.a, self.ia)
            self.a.poll(now)
            self.peer = self.peer or lst.accept()
            if self.peer is not None and self.conn.state == _ESTABLISHED:
                break
        assert self.peer is not None and self.conn.state == _ESTABLISHED, "no connection"
        self.data = memoryview(bytearray((i * 7 + 3) & 0xFF for i in range(_CHUNK)))
        self.got = 0
        self.bursts = 0

    def phase(self, k):
        self.ab.hist = self.ba.hist = self.hists[k]

    def reset(self, exact):
        for h in self.hists:
            for i in range(len(h)):
                h[i] = 0
        for i in range(len(self.spent)):
            self.spent[i] = 0
        self.recv_hist = [0] * len(self.recv_hist)
        for link in (self.ab, self.ba):
            link.exact = exact
            link.measured = 0

    def input(self, link, stack, iface):
        # A stack's input never sends on the link it reads from (A sends on ab, B on ba).
        q = link.q
        n = link.n
        i = 0
        while i < n:
            f = q[i]
            q[i] = None
            stack.input(iface, f, self.now)
            i += 1
        link.n = 0

    def burst(self):
        """One pass of the runner (as bench/tcp_path.py): A fills its send buffer and polls (the
        segments leave), B takes the burst, polls (its ACK goes out), reads all of it, polls
        again, A takes the ACKs."""
        self.now = now = ticks.add(self.now, 1)
        self.bursts += 1
        # One name per assignment: unpacking a tuple of more than three would allocate it.
        conn = self.conn
        peer = self.peer
        a = self.a
        b = self.b
        spent = self.spent
        probe = _probe
        self.phase(_A_SEND)
        t0 = probe()
        # The whole preallocated view every time: the stream's content does not matter here,
        # and a slice of it would be one more harness allocation per call.
        while conn.send(self.data):
            pass
        a.poll(now)            # user calls queue: the poll sends the segments cwnd allows
        t1 = probe()
        spent[_A_SEND] += t1 - t0
        self.phase(_B_INPUT)
        self.input(self.ab, b, self.ib)
        t2 = probe()
        spent[_B_INPUT] += t2 - t1
        self.phase(_B_POLL)
        b.poll(now)
        t3 = probe()
        spent[_B_POLL] += t3 - t2
        self.phase(_B_RECV)
        while True:
            d = peer.recv(_CHUNK)
            if not d:
                break
            n = len(d)
            self.got += n
            # recv() returns a new bytes object: the harness's cost, not the core's. What one
            # of that length costs is measured after the window (hist_cost).
            self.recv_hist[n] += 1
        d = None
        t4 = probe()
        spent[_B_RECV] += t4 - t3
        self.phase(_B_POLL)
        b.poll(now)
        t5 = probe()
        spent[_B_POLL] += t5 - t4
        self.phase(_A_INPUT)
        self.input(self.ba, a, self.ia)
        t6 = probe()
        spent[_A_INPUT] += t6 - t5
        self.phase(_A_POLL)
        a.poll(now)
        spent[_A_POLL] += probe() - t6

    def errors(self):
        out = {}
        for name, s in (("a", self.a), ("b", self.b)):
            st = s.stats
            bad = st["stack"].get("drop_internal_error", 0)
            if bad:
                out[name + "_internal_error"] = repr(s.last_error)
            for layer in ("eth", "ip", "tcp"):
                for k in st[layer]:
                    if k.startswith("drop") or k in ("rto", "rtx_segs", "rx_dupack"):
                        out[name + "_" + layer + "_" + k] = st[layer][k]
        return out


def use_csum_loop():
    """Swap the core's checksum word sums for csum_loop and csum_at_loop, which allocate
    nothing: what a board gets from the viper csum. Only the modules' bindings change, not
    their files."""
    checksum.csum = csum_loop      # what checksum.checksum() calls
    wtcp.csum = csum_loop          # wire.tcp imported it by name
    checksum.csum_at = csum_at_loop
    ipv4.csum_at = csum_at_loop    # IPv4 headers, in place


def use_plain_seq():
    """Swap tcp.seq's helpers for plain small-int arithmetic: what sequence numbers kept as
    small offsets would cost (nothing). Only valid while no sequence number reaches 2**30 and
    none wraps: the driver uses it only with small ISNs."""
    seq.add = lambda a, n: a + n
    seq.sub = lambda a, b: a - b
    seq.lt = lambda a, b: a < b
    seq.le = lambda a, b: a <= b
    seq.gt = lambda a, b: a > b
    seq.ge = lambda a, b: a >= b


def use_leak():
    """Make wire.tcp.parse allocate a 1000-byte bytearray per segment parsed: the tests' proof
    that the measurement sees an allocation inside the core and puts it in the right phase."""
    parse = wtcp.parse

    def leaky(data, src=None, dst=None, seg=None, asum=None):
        _LEAKED.append(bytearray(1000))
        return parse(data, src, dst, seg, asum)

    wtcp.parse = leaky     # barenet.tcp calls it as wire.parse, a module attribute


_LEAKED = []
SWAPS = {"csum": use_csum_loop, "seq": use_plain_seq, "leak": use_leak}


def segments(n, warmup, isn_a, isn_b, buf, swaps):
    global _probe
    for name in swaps:
        SWAPS[name]()
    now = ticks.PERIOD - 5000   # just before the tick wrap, as the other VM tests
    pair = Pair(isn_a, isn_b, buf, now)
    ab, ba, conn = pair.ab, pair.ba, pair.conn
    while ab.data_frames < warmup - _CHECKED:
        pair.burst()
    pair.reset(True)
    while ab.data_frames < warmup:
        pair.burst()
    # The histogram costing agrees with the copies measured one by one at the warm-up's end.
    costed = sum(hist_cost(h) for h in pair.hists)
    measured = ab.measured + ba.measured
    assert costed == measured, ("frame copies costed %d, measured %d" % (costed, measured))
    pair.reset(False)
    _probe = mem_alloc
    cwnd0 = conn.cc.cwnd
    snd_nxt0 = conn.info()["snd_nxt"]       # 32-bit, as on the wire (the TCB keeps offsets)
    frames0, data0, payload0, acks0 = ab.frames, ab.data_frames, ab.payload, ba.frames
    bursts0, got0 = pair.bursts, pair.got
    gc.collect()
    gc.disable()
    start = mem_alloc()
    while ab.data_frames - data0 < n:
        pair.burst()
    total = mem_alloc() - start
    gc.enable()
    snd_nxt1 = conn.info()["snd_nxt"]
    copies = [hist_cost(h) for h in pair.hists]
    recv_bytes = hist_cost(pair.recv_hist)
    phases = {}
    for k, name in enumerate(PHASES):
        core = pair.spent[k] - copies[k] - (recv_bytes if k == _B_RECV else 0)
        phases[name] = {"total": pair.spent[k], "frame_copies": copies[k], "core": core}
    out = {
        "vm": vm_name(), "maxsize_bits": maxsize_bits(), "csum": csum_kind(),
        "swaps": swaps, "segments": ab.data_frames - data0, "payload": ab.payload - payload0,
        "frames_ab": ab.frames - frames0, "frames_ba": ba.frames - acks0,
        "bursts": pair.bursts - bursts0, "received": pair.got - got0, "buf": buf,
        "isn_a": isn_a, "isn_b": isn_b, "snd_nxt_start": snd_nxt0, "snd_nxt_end": snd_nxt1,
        "cwnd_start": cwnd0, "cwnd_end": conn.cc.cwnd,
        "total": total, "frame_copies": sum(copies), "recv_returned": recv_bytes,
        "harness": sum(copies) + recv_bytes, "core": total - sum(copies) - recv_bytes,
        # allocations outside every phase bracket (the runner's own glue): should be none
        "unattributed": total - sum(pair.spent),
        "phases": phases, "errors": pair.errors(),
    }
    print(json.dumps(out))


# -- pieces ------------------------------------------------------------------------------

def csum_from_bytes(data, acc=0):
    # wire/checksum.py's portable csum, what the core runs where viper is missing.
    if len(data) & 1:
        return acc + (int.from_bytes(data, "big") << 8)
    return acc + int.from_bytes(data, "big")


def csum_loop(data, acc=0):
    # The viper csum's contract in plain Python: the words are summed in a local small int
    # (730 words of at most 0xFFFF stay far below 2**30; a fold every 8192 words keeps longer
    # data there) and added to acc once, as _csum_viper.csum does per 64 KB chunk. acc itself
    # is a heap int on 32-bit ports when it holds a pseudo-header with addresses >= 64.0.0.0.
    n = len(data)
    s = 0
    i = 0
    end = n - 1
    while i < end:
        s += (data[i] << 8) | data[i + 1]
        i += 2
        if not i & 0x3FFF:
            s = (s & 0xFFFF) + (s >> 16)
    if n & 1:
        s += data[n - 1] << 8
    return acc + s


def csum_at_loop(buf, start, end, acc=0):
    # The viper csum_at's contract in plain Python (an IPv4 header: ten words, a small int).
    s = 0
    i = start
    while i < end:
        s += (buf[i] << 8) | buf[i + 1]
        i += 2
    return acc + s


if "Emscripten" in getattr(sys.implementation, "_machine", ""):
    import js   # the WebAssembly VM: its time.ticks_us() moves in millisecond steps

    _perf = js.performance

    def _clock():
        return _perf.now() * 1000.0

    def _since(t):
        return _perf.now() * 1000.0 - t
else:
    _clock = time.ticks_us

    def _since(t):
        return time.ticks_diff(time.ticks_us(), t)


def per_call(fn, k):
    """-> (heap bytes per call over k calls, gc disabled; microseconds per call with gc
    disabled; with gc enabled). gc off: batches of 100 calls from a freshly collected heap
    (MicroPython's allocator gets slower for multi-block objects as they pile up uncollected,
    so longer batches would time the allocator, not the piece). gc on: a collection every
    16 KB allocated (gc.threshold, the WebAssembly VM's default), so an allocating piece pays
    its share of collections as on a small board. Each time is the best of three."""
    return (alloc_per_call(fn, k), min(_time_gc_off(fn) for _ in range(3)),
            min(_time_gc_on(fn) for _ in range(3)))


def alloc_per_call(fn, k):
    fn()
    gc.collect()
    gc.disable()
    a = mem_alloc()
    for _ in range(k):
        fn()
    b = mem_alloc() - a
    gc.enable()
    return b / k


def _time_gc_off(fn):
    total = 0.0
    n = 0
    while total < 20000:
        gc.collect()
        gc.disable()
        t = _clock()
        for _ in range(100):
            fn()
        total += _since(t)
        gc.enable()
        n += 100
    return total / n


def _time_gc_on(fn):
    gc.threshold(16384)
    gc.collect()
    reps = 100
    while True:
        t = _clock()
        for _ in range(reps):
            fn()
        us = _since(t)
        if us >= 20000:
            return us / reps
        reps *= 2 if us < 2000 else 3


def first_data_frame():
    """A real full-sized data frame from A to B, its sequence number near 2**32."""
    pair = Pair(2**32 - 100000, 2**32 - 5000, 16384, ticks.PERIOD - 5000)
    pair.phase(_A_SEND)
    pair.conn.send(pair.data)
    pair.a.poll(pair.now)
    q = pair.ab.q
    for i in range(pair.ab.n):
        if len(q[i]) == 1514:
            return q[i]
    raise AssertionError("no full-sized data frame")


def pieces(timed=True):
    frame = first_data_frame()
    fmv = memoryview(frame)
    _, _, _, ipmv = ethernet.parse(fmv)
    iph, tcpmv = ipv4.parse(ipmv)
    src, dst = iph.src, iph.dst
    seg = wtcp.Segment()
    wtcp.parse(tcpmv, src, dst, seg)
    # 1460 less the timestamp option (RFC 7323)
    assert len(seg.payload) == 1448 and seg.seq >= 2**30, (len(seg.payload), seg.seq)
    payload = seg.payload
    data = bytearray(payload)
    big_a, big_b = 2**32 - 3000, 2**32 - 1000     # near the wrap, above 2**30
    small_a, small_b = 3000, 1000
    ubuf = bytearray(8)
    struct.pack_into("!II", ubuf, 0, 2**32 - 3000, 3000)
    hdr = bytearray(60)
    acc_big = csum_from_bytes(data)
    k = 200
    rows = [
        ("loop overhead (empty call)", lambda: None, k),
        ("memoryview(frame)", lambda: memoryview(frame), k),
        ("memoryview slice mv[14:]", lambda: fmv[14:], k),
        ("bytes(frame) copy, 1514 B (harness)", lambda: bytes(fmv), k),
        ("bytes(1460), what recv() returns", lambda: bytes(1460), k),
        ("wire.ethernet.parse", lambda: ethernet.parse(fmv), k),
        ("wire.ipv4.parse (header checksum)", lambda: ipv4.parse(ipmv), k),
        ("wire.ipv4.parse_into (header checksum)", lambda: ipv4.parse_into(ipmv, iph), k),
        ("wire.ipv4.parse_into, no checksum", lambda: ipv4.parse_into(ipmv, iph, False), k),
        ("wire.tcp.parse, checksum verified", lambda: wtcp.parse(tcpmv, src, dst, seg), k),
        ("wire.tcp.parse, no checksum", lambda: wtcp.parse(tcpmv, None, None, seg), k),
        ("wire.checksum.pseudo (192.0.2.x)", lambda: checksum.pseudo(src, dst, 6, 1480), k),
        ("wire.checksum.csum, 1460 B (as picked)", lambda: checksum.csum(data), k),
        ("csum int.from_bytes fallback, 1460 B", lambda: csum_from_bytes(data), k),
        ("csum plain loop, 1460 B", lambda: csum_loop(data), 20),
        ("wire.checksum.finish of a 1460 B sum", lambda: checksum.finish(acc_big), k),
        ("wire.tcp.emit, seq/ack near 2**32",
         lambda: wtcp.emit(hdr, 1234, 9, big_a, big_b, 0x10, 65535), k),
        ("wire.tcp.emit_halves (what the TCB calls)",
         lambda: wtcp.emit_halves(hdr, 1234, 9, 0xFFFF, 0xF448, 0xFFFF, 0xFC18, 0x10, 65535), k),
        ("tcp.seq.lt near 2**32", lambda: seq.lt(big_a, big_b), k),
        ("tcp.seq.lt small", lambda: seq.lt(small_a, small_b), k),
        ("tcp.seq.add near 2**32", lambda: seq.add(big_a, 1460), k),
        ("tcp.seq.sub near 2**32", lambda: seq.sub(big_b, big_a), k),
        # the edge: 2**32 - 4096 from a base at 2**32 - 65536, near offset 60000
        ("tcp.seq.rel near 2**32", lambda: seq.rel(0xFFFF, 0xF000, 0xFFFF, 0, 60000), k),
        ("tcp.seq.hi, lo near 2**32",
         lambda: seq.hi(0xFFFF, 0xF000, 1460000) + seq.lo(0xF000, 1460000), k),
        ('struct.unpack_from("!I"), value >= 2**30', lambda: struct.unpack_from("!I", ubuf, 0), k),
        ('struct.unpack_from("!I"), small value', lambda: struct.unpack_from("!I", ubuf, 4), k),
        ("int add, 2**32-3000 + 1460", lambda: big_a + 1460, k),
    ]
    out = {"vm": vm_name(), "maxsize_bits": maxsize_bits(),
           "csum_picked": csum_kind(), "rows": []}
    for name, fn, n in rows:
        if timed:
            b, us, us_gc = per_call(fn, n)
        else:
            b, us, us_gc = alloc_per_call(fn, n), None, None
        out["rows"].append([name, b, us, us_gc])
    # The variants agree (mod 0xFFFF), or the comparison would mean nothing.
    assert checksum.finish(csum_loop(data)) == checksum.finish(csum_from_bytes(data)) \
        == checksum.finish(checksum.csum(data))
    print(json.dumps(out))


def csum_kind():
    if checksum.csum is csum_loop:
        return "plain loop (swapped in)"
    try:
        from barenet.wire import _csum_viper
        if checksum.csum is _csum_viper.csum:
            return "viper"
    except (ImportError, SyntaxError):
        pass
    return "int.from_bytes"


def vm_name():
    m = getattr(sys.implementation, "_machine", "")
    return "%s %s" % (sys.implementation.name, m)


def maxsize_bits():
    n = 0
    m = sys.maxsize
    while m:
        m >>= 1
        n += 1
    return n + 1


if __name__ == "__main__":
    if sys.argv[1] == "segments":
        swaps = sys.argv[7].split(",") if len(sys.argv) > 7 and sys.argv[7] != "-" else []
        segments(*([int(x) for x in sys.argv[2:7]] + [swaps]))
    else:
        pieces(timed="--no-time" not in sys.argv)
