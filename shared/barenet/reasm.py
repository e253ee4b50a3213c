"""IPv4 reassembly (RFC 791 3.2, RFC 815): fragments held per datagram until it is whole,
bounded in datagrams and bytes, freed on timeout."""

from . import ticks
from .compat import const
from .stats import inc
from .wire import icmp as icmpw, ipv4

_IP_HLEN = const(20)
_MAX_DATAGRAM = const(65535)


class _Datagram:
    def __init__(self, deadline, bcast):
        self.frags = []  # (offset, bytes) sorted by offset, never overlapping
        self.size = 0
        self.total = None
        self.deadline = deadline
        self.bcast = bcast  # sent to a broadcast address (IP.input decided it)
        self.first = None  # header + 8 bytes of fragment zero, for ICMP time exceeded


class Reassembler:
    """Bounded reassembly (RFC 791 3.2, RFC 815): at most `max_datagrams` in progress holding
    `max_bytes` of data in all, each freed after `timeout_ms`. An overlapping fragment kills
    its whole datagram (as Linux does since CVE-2018-5391's fix); an exact duplicate is ignored."""

    def __init__(self, ip, max_datagrams, max_bytes, timeout_ms):
        self.ip = ip
        self.max_datagrams = max_datagrams
        self.max_bytes = max_bytes
        self.timeout_ms = timeout_ms
        self.pending = {}
        self.bytes = 0
        self.stats = ip.stats

    def _kill(self, key, reason):
        d = self.pending.pop(key)
        self.bytes -= d.size
        inc(self.stats, "reasm_" + reason)

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
        if d is None:
            if len(self.pending) >= self.max_datagrams:
                inc(self.stats, "reasm_drop_full")
                return None
            d = _Datagram(ticks.add(now, self.timeout_ms), h.bcast)
            self.pending[key] = d
        if not h.mf:
            if (d.total is not None and d.total != end) or (d.frags and d.frags[-1][0] + len(d.frags[-1][1]) > end):
                self._kill(key, "overlap")
                return None
            d.total = end
        elif d.total is not None and end > d.total:
            self._kill(key, "overlap")
            return None
        frags = d.frags
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
        if self.bytes + n > self.max_bytes:
            self._kill(key, "drop_memory")
            return None
        frags.insert(i, (off, bytes(payload)))
        d.size += n
        self.bytes += n
        if off == 0:
            d.first = bytes(h.datagram[0:h.hlen + 8])
        if d.total is None or d.size != d.total:
            return None
        # No overlaps and size == total: the fragments tile [0, total) exactly.
        del self.pending[key]
        self.bytes -= d.size
        whole = bytearray(_IP_HLEN + d.total)
        ipv4.emit(whole, 0, h.src, h.dst, h.proto, d.total, h.ident, h.ttl, h.tos)
        for o, b in frags:
            whole[_IP_HLEN + o:_IP_HLEN + o + len(b)] = b
        inc(self.stats, "reasm_ok")
        wh, payload = ipv4.parse(memoryview(whole), False)
        wh.bcast = d.bcast
        return wh, payload

    def poll(self, now):
        if not self.pending:
            return None                 # (list() below would be an allocation per poll)
        wait = None
        for key in list(self.pending):
            d = self.pending[key]
            if ticks.due(d.deadline, now):
                self._kill(key, "timeout")
                if d.first is not None:
                    # RFC 1122 3.3.2: report a timeout only when fragment zero arrived.
                    self.ip.stack.icmp.send_error(
                        icmpw.TIME_EXCEEDED, icmpw.REASSEMBLY_EXCEEDED, d.first, d.bcast, now)
            else:
                wait = ticks.earliest(wait, ticks.until(d.deadline, now))
        return wait
