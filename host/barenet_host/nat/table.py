"""The NAT table: every flow the gateway carries (nat/tcp.py, udp.py, icmp.py), at most
`max_flows` of them; a flow idle past its protocol's timeout is expired (closed both ways).

A flow is an object with `key` (a tuple starting with its protocol), `last` (ms of its last
traffic), `kind()` (the timeouts' key), `close(why)` and `row()` (its line in `ctl nat`).
A full table refuses new flows and counts them; it never raises.
"""

from barenet import ticks

# Default idle timeouts, ms, by kind:
TIMEOUTS = {
    # RFC 5382 REQ-5: an established connection at least 2 h 4 min
    "tcp": 7440 * 1000,
    # RFC 5382 REQ-5: a partially open or closing one at least 4 min
    "tcp_transitory": 240 * 1000,
    # RFC 4787 REQ-5: at least 2 min; 5 min or more recommended
    "udp": 300 * 1000,
    # RFC 5508 REQ-1: an ICMP query mapping at least 60 s
    "icmp": 60 * 1000,
}
SCAN_MS = 1000  # expiry is looked for once a second: timeouts are minutes long


class NATTable:
    def __init__(self, max_flows, timeouts=None):
        self.max_flows = max_flows
        self.timeouts = dict(TIMEOUTS)
        if timeouts:
            self.timeouts.update(timeouts)
        self.flows = {}  # key -> flow
        self.stats = {"created": 0, "expired": 0, "closed": 0, "refused_full": 0}
        self._next_scan = None

    def get(self, key):
        return self.flows.get(key)

    def room(self):
        """True when one more flow fits; False is counted (the caller refuses the flow)."""
        if len(self.flows) < self.max_flows:
            return True
        self.stats["refused_full"] += 1
        return False

    def add(self, flow):
        """Record a flow (room() said yes)."""
        self.flows[flow.key] = flow
        self.stats["created"] += 1

    def remove(self, flow):
        if self.flows.get(flow.key) is flow:
            del self.flows[flow.key]
            self.stats["closed"] += 1

    def count(self, proto):
        return sum(1 for k in self.flows if k[0] == proto)

    def expire(self, now):
        """A runner task: close the flows idle past their timeout; ms until the next scan."""
        if self._next_scan is not None and not ticks.due(self._next_scan, now):
            return ticks.until(self._next_scan, now)
        self._next_scan = ticks.add(now, SCAN_MS)
        for flow in list(self.flows.values()):
            if ticks.diff(now, flow.last) >= self.timeouts[flow.kind()]:
                self.stats["expired"] += 1
                flow.close("expired")
                self.remove(flow)
        return SCAN_MS if self.flows else None

    def rows(self, now):
        out = []
        for flow in self.flows.values():
            r = flow.row()
            r["idle_ms"] = ticks.diff(now, flow.last)
            r["timeout_ms"] = self.timeouts[flow.kind()]
            out.append(r)
        out.sort(key=lambda r: (r["proto"], r["board"], r["remote"]))
        return out
