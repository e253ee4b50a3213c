"""barenet's own connection trace: JSON lines, one each time a TCP connection's congestion
state changes, written by `barenet serve --trace FILE` and drawn by `barenet plot`.

A line is {"t_ms": ms since the trace began, "conn": 1, 2, ... in order of appearance, and
FIELDS from TCPConnection.info() (tcp/tcb.py, tcp/congestion.py)}; a connection's first line
also has "local" and "remote" ("a.b.c.d:port"). The core is not asked for anything new: the
writer is a runner task that reads info() once a loop step, so a trace costs nothing when off.
CPython only.
"""

import json

from barenet import ticks
from barenet.addr import ip_ntoa

from barenet_host import cliargs

FLUSH_MS = 100
FIELDS = ("state", "cwnd", "ssthresh", "in_recovery", "srtt_ms", "rttvar_ms", "rto_ms",
          "snd_una", "snd_nxt", "snd_max", "snd_wnd", "unacked", "retransmits", "timeouts")


def _endpoint(a):
    return "%s:%d" % (ip_ntoa(a[0]), a[1])


class TraceWriter:
    """`poll(now_ms)` is a runner task: a line for every connection whose FIELDS differ from
    its last line, and one for a connection's state as it leaves the table (TIME_WAIT or
    CLOSED). Lines are flushed to the file at most FLUSH_MS after they are written."""

    def __init__(self, stack, f):
        self.stack = stack
        self.f = f
        self.lines = 0
        self._conns = {}     # connection -> (its number, its last row)
        self._n = 0
        self._t = 0          # ms since the first poll, not wrapping
        self._last = None
        self._unflushed = None   # when the oldest line not yet flushed was written (on _t)

    def poll(self, now_ms):
        if self._last is not None:
            self._t += ticks.diff(now_ms, self._last)
        self._last = now_ms
        old = self._conns
        now = {}
        wrote = self.lines
        for c in self.stack.tcp.connections():
            now[c] = self._sample(c, old.pop(c, None))
        for c, last in old.items():
            self._sample(c, last)
        self._conns = now
        if self.lines != wrote and self._unflushed is None:
            self._unflushed = self._t
        if self._unflushed is None:
            return None
        # A write() a loop step would cost an echo round trip half its CPU again: lines reach
        # the file within FLUSH_MS instead (the runner wakes for it), and all of them at close.
        left = self._unflushed + FLUSH_MS - self._t
        if left > 0:
            return left
        self.f.flush()
        self._unflushed = None
        return None

    def _sample(self, c, last):
        i = c.info()
        row = tuple(i.get(k) for k in FIELDS)   # no cwnd before the handshake ends: null
        if last is None:
            self._n += 1
            n = self._n
        else:
            n = last[0]
            if last[1] == row:
                return last
        rec = {"t_ms": self._t, "conn": n}
        if last is None:
            rec["local"] = _endpoint(i["local"])
            rec["remote"] = _endpoint(i["remote"])
        rec.update(zip(FIELDS, row))
        self.f.write(json.dumps(rec) + "\n")
        self.lines += 1
        return n, row

    def close(self):
        self.f.close()


def create(path):
    """The trace file, opened for writing; a path that cannot be is the user's one-line error."""
    try:
        return open(path, "w")
    except OSError as e:
        raise cliargs.UsageError("--trace %s: %s" % (path, e.strerror or e))


def load(f):
    """A trace file object -> {conn number: {"local", "remote", "rows": [line dict, ...]}}.
    Raises ValueError naming the first line that is not a trace line."""
    conns = {}
    for lineno, line in enumerate(f, 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
            n = rec["conn"]
            if not isinstance(rec["t_ms"], int) or not all(k in rec for k in FIELDS):
                raise KeyError
        except (ValueError, KeyError, TypeError):
            raise ValueError("line %d is not a barenet trace line" % lineno)
        conn = conns.get(n)
        if conn is None:
            conn = conns[n] = {"local": rec.get("local", "?"), "remote": rec.get("remote", "?"),
                               "rows": []}
        conn["rows"].append(rec)
    return conns
