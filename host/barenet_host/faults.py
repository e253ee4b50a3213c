"""Seeded link faults: a FaultModel decides what happens to each frame, FaultyNIC wraps a NIC.

Like smoltcp's FaultInjector (phy/fault_injector.rs) this is device middleware: it sits between a
stack and its NIC with the same pull interface (barenet/nic.py). The same model drives the virtual wire
(vwire.py), so this module must also run in the MicroPython VM: it imports only barenet.ticks,
barenet.compat, barenet.nic and heapq, and draws its randomness from its own xorshift32 so that one seed gives
the same faults on CPython and MicroPython.
"""

from heapq import heappop, heappush

from barenet import ticks
from barenet.compat import const
from barenet.nic import Wrapper

_M32 = const(0xFFFFFFFF)
# Probabilities become 24-bit thresholds: 24 bits survive single-precision floats (MicroPython
# boards), so a probability maps to the same threshold on every runtime.
_P_SCALE = const(1 << 24)
_PULL = const(256)  # inner frames taken per poll: a flood cannot hold the loop


class Schedule:
    """Items ordered by an unwrapped (absolute) time, first in first out among equal times.

    Wrapped ticks cannot be heap keys (order breaks at the wrap), so owners convert their
    deadlines to a monotonic count before pushing.
    """

    def __init__(self):
        self._heap = []
        self._seq = 0

    def __len__(self):
        return len(self._heap)

    def push(self, at, item):
        heappush(self._heap, (at, self._seq, item))
        self._seq += 1

    def mark(self):
        """A cut-off for pop(): items pushed after this call are not popped with it."""
        return self._seq

    def next_at(self):
        return self._heap[0][0] if self._heap else None

    def pop(self, now, before=None):
        """The oldest item due at now (pushed before `before`, if given), else None.

        With `before`, items pushed after the mark must not be earlier than `now`, or they
        would hide the older ones behind them (the Sim only ever schedules into the future).
        """
        heap = self._heap
        if not heap:
            return None
        at, seq, item = heap[0]
        if at > now or (before is not None and seq >= before):
            return None
        heappop(heap)
        return item


class FaultModel:
    """Decides the fate of each frame: dropped, duplicated, corrupted, delayed, reordered, queued.

    Probabilities are 0.0..1.0 and may be changed between frames (e.g. `model.loss = 1.0` cuts
    the link). bandwidth_bps makes the link a serialisation queue; queue_limit (bytes) tail-drops
    what would wait behind a full queue, as a router does. ce marks an ECN-capable IPv4 packet
    (ECT(0) or ECT(1)) Congestion Experienced instead, as an AQM router does (RFC 3168 5).
    """

    def __init__(self, seed=1, loss=0.0, duplicate=0.0, reorder=0.0, reorder_ms=5, corrupt=0.0,
                 delay_ms=0, jitter_ms=0, bandwidth_bps=None, queue_limit=None, ce=0.0):
        # xorshift32 has no zero state; seed 0 gets a fixed odd constant instead.
        self._x = (seed & _M32) or 0x9E3779B9
        self.loss = loss
        self.duplicate = duplicate
        self.reorder = reorder
        self.reorder_ms = reorder_ms
        self.corrupt = corrupt
        self.delay_ms = delay_ms
        self.jitter_ms = jitter_ms
        self.bandwidth_bps = bandwidth_bps
        self.queue_limit = queue_limit
        self.ce = ce
        self._free_at = None  # when the serialiser finishes the last accepted frame
        self._carry = 0  # sub-millisecond remainder of serialisation time, in bit-ms units
        self.stats = {"sent": 0, "dropped": 0, "duplicated": 0, "corrupted": 0,
                      "reordered": 0, "queue_dropped": 0}

    def _next(self):
        # xorshift32 (Marsaglia 2003, shifts 13/17/5), masked so both runtimes agree.
        x = self._x
        x ^= (x << 13) & _M32
        x ^= x >> 17
        x ^= (x << 5) & _M32
        self._x = x
        return x

    def _chance(self, p):
        # Draw only for non-zero probabilities: a model without a fault costs nothing per frame.
        return p > 0 and (self._next() >> 8) < int(p * _P_SCALE)

    def _below(self, n):
        return self._next() % n

    def _flip(self, data):
        copy = bytearray(data)
        bit = self._below(len(copy) * 8)
        copy[bit >> 3] ^= 1 << (bit & 7)
        return bytes(copy)

    def _mark_ce(self, data):
        # An Ethernet frame's IPv4 header, or a bare one (an IP link); the draw is made only
        # for ECT packets, so other traffic leaves the seed's sequence as it was
        off = 14 if data[12:14] == b"\x08\x00" else 0
        if len(data) < off + 20 or data[off] >> 4 != 4 or not data[off + 1] & 3 or \
                data[off + 1] & 3 == 3 or not self._chance(self.ce):
            return data
        b = bytearray(data)
        b[off + 1] |= 3
        hl = (b[off] & 15) * 4
        b[off + 10] = b[off + 11] = 0
        s = 0
        for i in range(off, off + hl, 2):
            s += (b[i] << 8) | b[i + 1]
        while s > 0xFFFF:
            s = (s & 0xFFFF) + (s >> 16)
        s = ~s & 0xFFFF
        b[off + 10] = s >> 8
        b[off + 11] = s & 0xFF
        self.stats["ce_marked"] = self.stats.get("ce_marked", 0) + 1   # only with ce on
        return bytes(b)

    def _serialise(self, nbytes, now):
        """When a frame of nbytes offered at now has fully left the link, or None if tail-dropped."""
        bps = self.bandwidth_bps
        if bps is None:
            return now
        bps = int(bps)
        free_at = self._free_at
        # Equal times are still busy: the carry says part of that millisecond is taken.
        if free_at is None or ticks.diff(free_at, now) < 0:
            start = now
            self._carry = 0
        else:
            start = free_at
            limit = self.queue_limit
            # An idle link always takes a frame; a busy one only while the bytes still waiting
            # to be serialised plus this frame fit in the queue.
            if limit is not None and ticks.diff(free_at, now) * bps // 8000 + nbytes > limit:
                return None
        ms, self._carry = divmod(nbytes * 8000 + self._carry, bps)
        self._free_at = ticks.add(start, ms)
        return self._free_at

    def apply(self, frame, now_ms):
        """What the link delivers for one frame sent at now_ms: a list of (deliver_at_ms, bytes).

        deliver_at_ms is on the wrapping clock. The list is empty when the frame is lost and has
        two entries when it is duplicated; each copy is corrupted, queued and delayed on its own.
        """
        st = self.stats
        st["sent"] += 1
        if self._chance(self.loss):
            st["dropped"] += 1
            return []
        data = bytes(frame)
        if self.ce:
            data = self._mark_ce(data)
        copies = 1
        if self._chance(self.duplicate):
            copies = 2
            st["duplicated"] += 1
        out = []
        for _ in range(copies):
            copy = data
            if self._chance(self.corrupt) and data:
                copy = self._flip(data)
                st["corrupted"] += 1
            at = self._serialise(len(copy), now_ms)
            if at is None:
                st["queue_dropped"] += 1
                continue
            extra = self.delay_ms
            if self.jitter_ms:
                extra += self._below(self.jitter_ms + 1)
            if self._chance(self.reorder):
                # Held back past the frames behind it, which therefore overtake it.
                extra += self.reorder_ms
                st["reordered"] += 1
            out.append((ticks.add(at, extra), copy))
        return out


class FaultyNIC(Wrapper):
    """A NIC wrapper that passes outgoing and incoming frames through fault models.

    A pull NIC like the one it wraps (barenet/nic.py): the loop step drives it through
    `poll(now_ms)`, which pulls the inner NIC's frames through the rx model, hands due outgoing
    frames to the inner NIC and says when the next held frame is due; received frames come
    out of `recv_into` once due. Held frames are copies, so callers may pass memoryviews
    valid only during the call. The link facts (link, mtu, mac, link_up, fileno) are the
    inner NIC's.
    """

    def __init__(self, nic, tx=None, rx=None):
        Wrapper.__init__(self, nic)
        self.tx_faults = tx
        self.rx_faults = rx
        self._tx = Schedule()
        self._rx = Schedule()
        self._now = None  # last wrapped now_ms seen
        self._abs = 0  # the same instant on an unwrapped count, for Schedule keys
        self._scratch = bytearray(self.frame_max())
        self._inner_poll = getattr(nic, "poll", None)

    def _clock(self, now_ms):
        if self._now is not None:
            self._abs += ticks.diff(now_ms, self._now)
        self._now = now_ms
        return self._abs

    def _hold(self, queue, model, frame, now_ms):
        if now_ms is None:
            # Nothing has told us the time yet: count from the first poll() instead.
            base, now_ms = self._abs, 0
        else:
            base = self._abs
        if model is None:
            queue.push(base, bytes(frame))
            return
        for at, data in model.apply(frame, now_ms):
            queue.push(base + ticks.diff(at, now_ms), data)

    def _release(self):
        now = self._abs if self._now is not None else None
        while now is not None:
            frame = self._tx.pop(now)
            if frame is None:
                break
            self.nic.send(frame)

    def send(self, frame):
        # A stack's send() carries no time: the step's time, from the last poll(), stands in.
        self._hold(self._tx, self.tx_faults, frame, self._now)
        self._release()  # what the model did not hold back goes out now, after older frames

    def recv_into(self, buf):
        if self._now is None:
            return 0
        frame = self._rx.pop(self._abs)
        if frame is None:
            return 0
        n = min(len(frame), len(buf))
        buf[0:n] = frame[0:n]
        return n

    def poll(self, now_ms):
        """Pull the inner NIC's frames, release what is due; ms until the next held frame
        (or the inner NIC's own wait), or None."""
        now = self._clock(now_ms)
        wait = None
        if self._inner_poll is not None:
            wait = self._inner_poll(now_ms)
        scratch = self._scratch
        for _ in range(_PULL):
            n = self.nic.recv_into(scratch)
            if not n:
                break
            self._hold(self._rx, self.rx_faults, memoryview(scratch)[0:n], now_ms)
        self._release()
        for queue in (self._tx, self._rx):
            at = queue.next_at()
            if at is not None:
                wait = ticks.earliest(wait, at - now if at > now else 0)
        return wait


# --faults SPEC (issue 10 item 6): key -> (FaultModel argument, kind of value). Units as tc
# netem's: a time is ms (the default) or s; a rate is bit (the default), kbit, mbit or gbit
# per second, decimal multiples.
_SPEC_KEYS = {"loss": ("loss", "p"), "dup": ("duplicate", "p"), "reorder": ("reorder", "p"),
              "corrupt": ("corrupt", "p"), "delay": ("delay_ms", "time"),
              "rate": ("bandwidth_bps", "rate"), "seed": ("seed", "int")}
_TIME_UNITS = (("ms", 1), ("s", 1000))
_RATE_UNITS = (("gbit", 1000000000), ("mbit", 1000000), ("kbit", 1000), ("bit", 1))
_UNITS = {"time": _TIME_UNITS, "rate": _RATE_UNITS}
_EXAMPLE = {"loss": "loss=0.05", "dup": "dup=0.01", "reorder": "reorder=0.02",
            "corrupt": "corrupt=0.01", "delay": "delay=20ms", "rate": "rate=1mbit", "seed": "seed=1"}
_DELAY_MAX_MS = 60000
_RATE_MAX = 100 * 1000000000
SPEC_USAGE = "loss=P,dup=P,reorder=P,corrupt=P,delay=MS[ms|s],rate=N[bit|kbit|mbit|gbit],seed=N"


def spread_seed(seed, stream=0):
    """A FaultModel seed for a user's seed and a stream (0: outgoing, 1: incoming frames).

    xorshift32 from a small state draws small numbers first (seed 1: 270369, 67634689, ...),
    which would lose the first frames of every run at any loss rate; murmur3's 32-bit
    finaliser (fmix32) spreads the seed over all 32 bits first, and the stream keeps the two
    directions' draws apart (one seed would lose a request and its reply together)."""
    h = (seed ^ (stream * 0x9E3779B9)) & _M32
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & _M32
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & _M32
    return h ^ (h >> 16)


def _number(text, units):
    # -> (float, multiplier); the longest unit that ends text wins (mbit before bit, ms before s)
    for unit, mult in units:
        if text.endswith(unit):
            text = text[:-len(unit)]
            break
    else:
        mult = 1
    return float(text), mult


def parse_spec(text):
    """'loss=0.05,delay=20ms,rate=1mbit,seed=1' -> the FaultModel keyword arguments (a dict).

    ValueError with a one-line reason for an unknown or repeated key, a bad number, a
    probability outside 0..1, a negative or too long delay, a zero rate."""
    kwargs = {}
    if not text:
        raise ValueError("empty faults spec: expected " + SPEC_USAGE)
    for item in text.split(","):
        key, eq, value = item.partition("=")
        if key not in _SPEC_KEYS:
            raise ValueError("faults %r: unknown item %r (expected %s)" % (text, item, SPEC_USAGE))
        if not eq or not value:
            raise ValueError("faults %r: %s needs a value, e.g. %s" % (text, key, _EXAMPLE[key]))
        name, kind = _SPEC_KEYS[key]
        if name in kwargs:
            raise ValueError("faults %r: %s is given twice" % (text, key))
        try:
            if kind == "int":
                n, mult = int(value), 1
            else:
                n, mult = _number(value, _UNITS.get(kind, ()))
        except ValueError:
            raise ValueError("faults %r: %s=%r is not a number" % (text, key, value))
        # `not lo <= n <= hi` is also true for nan
        if kind == "p" and not 0.0 <= n <= 1.0:
            raise ValueError("faults %r: %s must be a probability 0..1, not %s" % (text, key, value))
        if kind == "time" and not 0 <= n * mult <= _DELAY_MAX_MS:
            raise ValueError("faults %r: delay must be 0..%dms, not %s" % (text, _DELAY_MAX_MS, value))
        if kind == "rate" and not 1 <= n * mult <= _RATE_MAX:
            raise ValueError("faults %r: rate must be 1bit..%dgbit, not %s"
                             % (text, _RATE_MAX // 1000000000, value))
        if kind == "int" and not 0 <= n <= 0xFFFFFFFF:
            raise ValueError("faults %r: seed must be 0..%d, not %s" % (text, 0xFFFFFFFF, value))
        kwargs[name] = n if kind == "p" else int(n * mult + 0.5)
    return kwargs
