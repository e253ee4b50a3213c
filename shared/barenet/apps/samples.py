"""The status page's chart data: for each TCP connection a bounded ring of (ms, cwnd, ssthresh,
srtt, rto) samples, taken every `every_ms` by the page's poll and served as JSON
(`/?format=samples`). MicroPython-compatible; sans-I/O like the rest (time comes in).

Rings are for connections in the table (tcp.connections()) that have a congestion state (past
the handshake); a connection's ring goes when it leaves the table. Bounded: `size` samples a
connection, so the page costs at most size * max_connections tuples."""

from .. import ticks
from ..addr import ip_ntoa
from ..tcp.congestion import INFINITE


def _name(i):
    return "%s:%d -> %s:%d" % (ip_ntoa(i["local"][0]), i["local"][1],
                               ip_ntoa(i["remote"][0]), i["remote"][1])


class Samples:
    def __init__(self, stack, size, every_ms):
        self.stack = stack
        self.size = size
        self.every_ms = every_ms
        self.rings = {}      # connection -> [its name, [(t, cwnd, ssthresh, srtt, rto), ...]]
        self._t = 0          # ms since the first poll, not wrapping: the samples' time axis
        self._last = None
        self._due = 0

    def poll(self, now_ms):
        """Sample when due; -> ms until the next sample, or None with no connection to watch."""
        if self._last is not None:
            self._t += ticks.diff(now_ms, self._last)
        self._last = now_ms
        conns = self.stack.tcp.connections()
        if self._t >= self._due:
            self._due = self._t + self.every_ms
            self._sample(conns)
        if not conns:
            return None
        return self._due - self._t

    def _sample(self, conns):
        old = self.rings
        rings = {}
        for c in conns:
            i = c.info()
            if i.get("cwnd") is None:
                continue
            ring = old.get(c)
            if ring is None:
                ring = [_name(i), []]
            pts = ring[1]
            if len(pts) >= self.size:
                pts.pop(0)
            ss = i["ssthresh"]
            # ssthresh starts "arbitrarily high" (RFC 5681 3.1): null until it is set
            pts.append((self._t, i["cwnd"], None if ss >= INFINITE else ss, i["srtt_ms"],
                        i["rto_ms"]))
            rings[c] = ring
        self.rings = rings

    def snapshot(self):
        """-> {"every_ms", "fields", "connections": [{"name", "samples": [[t, ...], ...]}]}"""
        return {"every_ms": self.every_ms,
                "fields": ["t_ms", "cwnd", "ssthresh", "srtt_ms", "rto_ms"],
                "connections": [{"name": r[0], "samples": r[1]} for r in self.rings.values()]}
