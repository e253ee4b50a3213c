"""IPv4 reassembly (RFC 791 3.2, RFC 815) under pressure: fragments held per datagram until it
is whole, within a byte budget and a datagram count for all senders and a share of both per
sender; the oldest incomplete datagram makes room for a newcomer, as Linux's inet_frag evictor
does (ipfrag_high_thresh), instead of the newcomer being refused."""

from . import ticks
from .compat import const
from .stats import inc
from .wire import icmp as icmpw, ipv4

_IP_HLEN = const(20)
_MAX_DATAGRAM = const(65535)
# What holding a fragment costs besides its data, charged to the budget so that it bounds the
# memory really held (Linux charges each fragment's skb truesize, not its length). Measured on
# CPython 3.11 with tracemalloc (tests/unit/test_reasm.py keeps the charge an upper bound): a
# fragment's (offset, bytes) tuple, bytes header, offset int and list slot come to about 130
# bytes; a datagram's record, its key (two addresses, protocol, ident), fragment list and slots
# in the tables to about 560. MicroPython's objects are smaller, so a board is charged more.
FRAG_COST = const(144)
DATAGRAM_COST = const(576)


class _Datagram:
    def __init__(self, deadline, bcast):
        self.frags = []  # (offset, bytes) sorted by offset, never overlapping
        self.size = 0    # data bytes held
        self.cost = 0    # what is charged to the budget for it (data and overhead)
        self.total = None
        self.deadline = deadline
        self.bcast = bcast  # sent to a broadcast address (IP.input decided it)
        self.first = None  # header + 8 bytes of fragment zero, for ICMP time exceeded


class Reassembler:
    """Bounded reassembly: at most `max_datagrams` in progress costing `max_bytes` in all (data
    and overhead, see FRAG_COST), each freed after `timeout_ms`. One source may hold at most
    `share_pct` percent of both, so a sender that floods never-completed fragments only evicts
    its own oldest datagrams; when the whole budget is full, the oldest datagram of any sender
    goes. An overlapping fragment kills its whole datagram (as Linux does since CVE-2018-5391's
    fix); an exact duplicate is ignored."""

    def __init__(self, ip, max_datagrams, max_bytes, timeout_ms, share_pct):
        self.ip = ip
        self.max_datagrams = max_datagrams
        self.max_bytes = max_bytes
        self.src_datagrams = max(1, max_datagrams * share_pct // 100)
        self.src_bytes = max_bytes * share_pct // 100
        self.timeout_ms = timeout_ms
        self.pending = {}   # (src, dst, proto, ident) -> _Datagram
        # Keys oldest first. The timeout is the same for all, so this is also deadline order:
        # poll() and eviction look at the front only, never scan every datagram held.
        self.order = []
        self.sources = {}   # src -> [bytes charged, its keys oldest first]
        self.bytes = 0
        self.stats = ip.stats

    def _kill(self, key, reason):
        d = self.pending.pop(key)
        self.order.remove(key)
        s = self.sources[key[0]]
        s[1].remove(key)
        s[0] -= d.cost
        if not s[1]:
            del self.sources[key[0]]
        self.bytes -= d.cost
        if reason is not None:
            inc(self.stats, "reasm_" + reason)

    def _make_room(self, key, held, cost, new):
        """Evict until cost more bytes (and one more datagram if new) fit within key's
        source's share and the whole budget: the source's own oldest first, then the oldest
        of all; never key's own datagram, which holds `held`. False if it cannot fit at all."""
        if held + cost > self.src_bytes:
            return False
        n = 1 if new else 0
        src = key[0]
        s = self.sources.get(src)
        while s is not None and (s[0] + cost > self.src_bytes or
                                 len(s[1]) + n > self.src_datagrams):
            if not self._evict(s[1], key, "evict_share"):
                return False
            s = self.sources.get(src)
        while self.bytes + cost > self.max_bytes or len(self.pending) + n > self.max_datagrams:
            if not self._evict(self.order, key, "evict_oldest"):
                return False
        return True

    def _evict(self, keys, key, reason):
        # The oldest datagram in keys (arrival order) that is not key's; False if none is.
        for k in keys:
            if k != key:
                self._kill(k, reason)
                return True
        return False

    def add(self, h, payload, now):
        """Add one fragment; -> (header, payload) of the whole datagram, or None for now."""
        off = h.frag_off
        n = len(payload)
        end = off + n
        if (h.mf and (n & 7 or n == 0)) or end + h.hlen > _MAX_DATAGRAM:
            inc(self.stats, "reasm_bad_fragment")
            return None
        key = (h.src, h.dst, h.proto, h.ident)
        d = self.pending.get(key)
        new = d is None
        if new:
            d = _Datagram(ticks.add(now, self.timeout_ms), h.bcast)
        frags = d.frags
        if not h.mf:
            if (d.total is not None and d.total != end) or \
                    (frags and frags[-1][0] + len(frags[-1][1]) > end):
                self._kill(key, "overlap")
                return None
        elif d.total is not None and end > d.total:
            self._kill(key, "overlap")
            return None
        i = 0
        while i < len(frags) and frags[i][0] < off:
            i += 1
        if i < len(frags) and frags[i][0] == off and len(frags[i][1]) == n:
            inc(self.stats, "reasm_duplicate")
            return None
        if (i > 0 and frags[i - 1][0] + len(frags[i - 1][1]) > off) or \
                (i < len(frags) and frags[i][0] < end):
            self._kill(key, "overlap")
            return None
        # Charged only now: a duplicate or a rejected fragment must not cost the budget.
        cost = FRAG_COST + n
        if off == 0:
            cost += h.hlen + 8
        if new:
            cost += DATAGRAM_COST
        if not self._make_room(key, d.cost, cost, new):
            if new:
                inc(self.stats, "reasm_drop_memory")
            else:
                self._kill(key, "drop_memory")
            return None
        if new:
            self.pending[key] = d
            self.order.append(key)
            s = self.sources.get(key[0])
            if s is None:
                s = self.sources[key[0]] = [0, []]
            s[1].append(key)
        else:
            s = self.sources[key[0]]
        if not h.mf:
            d.total = end
        frags.insert(i, (off, bytes(payload)))
        d.size += n
        d.cost += cost
        s[0] += cost
        self.bytes += cost
        if off == 0:
            d.first = bytes(h.datagram[0:h.hlen + 8])
        if d.total is None or d.size != d.total:
            return None
        # No overlaps and size == total: the fragments tile [0, total) exactly.
        self._kill(key, None)
        whole = bytearray(_IP_HLEN + d.total)
        ipv4.emit(whole, 0, h.src, h.dst, h.proto, d.total, h.ident, h.ttl, h.tos)
        for o, b in frags:
            whole[_IP_HLEN + o:_IP_HLEN + o + len(b)] = b
        inc(self.stats, "reasm_ok")
        wh, payload = ipv4.parse(memoryview(whole), False)
        wh.bcast = d.bcast
        return wh, payload

    def poll(self, now):
        order = self.order
        while order:
            d = self.pending[order[0]]
            if not ticks.due(d.deadline, now):
                return ticks.until(d.deadline, now)
            self._kill(order[0], "timeout")
            if d.first is not None:
                # RFC 1122 3.3.2: report a timeout only when fragment zero arrived.
                self.ip.stack.icmp.send_error(
                    icmpw.TIME_EXCEEDED, icmpw.REASSEMBLY_EXCEEDED, d.first, d.bcast, now)
        return None
