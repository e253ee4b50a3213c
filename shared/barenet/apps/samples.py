"""The status page's chart data: for each TCP connection a bounded ring of (ms, cwnd, ssthresh,
srtt, rto) samples, taken every `every_ms` by the page's poll and served as JSON
(`/?format=samples`). MicroPython-compatible; sans-I/O like the rest (time comes in).

Rings are for connections in the table (tcp.connections()) that have a congestion state (past
the handshake), at most `max_conns` of them; a connection's ring goes when it leaves the
table. Bounded: `size` samples of `max_conns` connections."""

from .. import ticks
from ..addr import ip_ntoa
from ..tcp.congestion import INFINITE


def _name(i):
    return "%s:%d -> %s:%d" % (ip_ntoa(i["local"][0]), i["local"][1],
                               ip_ntoa(i["remote"][0]), i["remote"][1])


class Samples:
    def __init__(self, stack, size, every_ms, max_conns):
        self.stack = stack
        self.size = size
        self.every_ms = every_ms
        self.max_conns = max_conns
        self.rings = {}      # connection -> [its name, [(t, cwnd, ssthresh, srtt, rto), ...]]
        self._t = 0          # ms since the first poll, not wrapping: the samples' time axis
        self._last = None
        self._due = 0

    def poll(self, now_ms):
        """Sample when due; -> ms until the next sample, or None with no connection charted
        (a new one is found at the first poll after it arrives: its frames make loop steps)."""
        if self._last is not None:
            self._t += ticks.diff(now_ms, self._last)
        self._last = now_ms
        if self._t >= self._due:
            self._due = self._t + self.every_ms
            self._sample()
        return self._due - self._t if self.rings else None

    def _sample(self):
        # Charted connections keep their place while they last; newcomers fill what is free,
        # in table order. Only those are asked for info(): a host's page with thousands of
        # connections samples max_conns of them.
        old = self.rings
        live = self.stack.tcp.connections()
        keep = [c for c in live if c in old]
        room = self.max_conns - len(keep)
        for c in live:
            if room <= 0:
                break
            if c not in old and c.cc is not None:    # past the handshake: it has a cwnd
                keep.append(c)
                room -= 1
        rings = {}
        for c in keep:
            i = c.info()
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
