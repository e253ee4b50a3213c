"""TCPServer: the loop every TCP app shares. A runner task: `poll(now_ms)` accepts new
connections and lets the app serve the open ones that need it; finished or failed ones are
closed and forgotten. Apps subclass it and implement `serve(conn, state, now_ms) -> state |
None` (None: done), returning only when blocked (nothing to read, or no room to write), and
`wake(state, now_ms)` if they need to run on a timer; poll() returns the earliest of those
waits, as runner tasks do. MicroPython-compatible.

A connection is served again only when its readiness signal fired (barenet/readiness.py:
data, room to write, the end) or its timer is due (a heap on an unwrapped clock, as TCP's),
so a server holding a thousand idle clients does no work for them.

Limits, from the stack's profile (config.py, "apps") unless the constructor is given its own:
- max_conns connections served at once. A newcomer past it closes the connection idle longest
  (idle at least app_evict_idle_ms); if none is, it waits in the accept queue (bounded by the
  listener's backlog; past that TCP drops SYNs, which the client retries).
- max_per_peer connections per remote address: the excess from that address is refused
  (reset), the other clients are not affected.
- idle_ms: a connection with no byte received and none acknowledged by the peer for that long
  is closed (a chargen client that reads is not idle; one whose window stays shut is). Data
  the peer's window admits but that is not acknowledged yet does not count as idle: that is
  the network's delay, which TCP's retransmission bounds.
Each of these is counted in `stats`, which the stack shows as "app_<name><port>" beside its
layers' counters (Stack.stats, the status page, `barenet serve`'s summary)."""

from heapq import heappop, heappush

from .. import ticks
from ..stats import inc


class TCPServer:
    name = "tcp"             # the service's name in the stack's counters, with its port

    def __init__(self, stack, port, backlog=None, max_conns=None, max_per_peer=None,
                 idle_ms=None):
        cfg = stack.cfg
        self.listener = stack.tcp.listen(port, backlog)
        self.port = port
        self.max_conns = cfg.app_max_conns if max_conns is None else max_conns
        self.max_per_peer = cfg.app_max_per_peer if max_per_peer is None else max_per_peer
        self.idle_ms = cfg.app_idle_ms if idle_ms is None else idle_ms   # 0: no idle timeout
        self.evict_ms = cfg.app_evict_idle_ms
        self.conns = {}      # conn -> app state
        self.peers = {}      # remote address -> connections it holds here
        self.stats = {}
        stack.apps["%s%d" % (self.name, port)] = self    # its stats and limits show there
        self._seen = {}      # conn -> [last progress (ms), rcv_nxt then, snd_una then]
        self._woken = []     # connections whose readiness signal fired since the last poll
        self._clock = 0      # ms since the first poll, not wrapping: the heap's keys
        self._last = None
        self._heap = []      # (deadline on _clock, n, conn); stale entries are skipped
        self._at = {}        # conn -> the deadline of its live heap entry
        self._n = 0
        self._deferred = 0   # connections at the head of the accept queue counted as waiting

    def count(self, key, n=1):
        inc(self.stats, key, n)

    def poll(self, now_ms):
        if self._last is not None:
            self._clock += ticks.diff(now_ms, self._last)
        self._last = now_ms
        heap = self._heap
        if not self._woken and not self.listener.queue and \
                not (heap and heap[0][0] <= self._clock):
            # Nothing woke, nobody waits to be accepted, no deadline due: the runner steps for
            # every frame of every service, and this app then costs a few compares, not a
            # list and a dict (issue 13: the small-packet rows)
            return heap[0][0] - self._clock if heap else None
        todo = self._woken
        self._woken = []
        self._admit(now_ms, todo)
        at = self._at
        while heap and heap[0][0] <= self._clock:
            t, _, c = heappop(heap)
            if at.get(c) == t:
                del at[c]
                todo.append(c)
        done = {}
        for c in todo:
            if c in done or c not in self.conns:
                continue
            done[c] = True
            self._step(c, now_ms)
        if len(heap) > 2 * len(at) + 16:
            # Entries of connections that left or were re-armed: rebuild, so that churn
            # never grows the heap past twice the connections held.
            heap = self._heap = [e for e in heap if at.get(e[2]) == e[0]]
            heap.sort()
        return heap[0][0] - self._clock if heap else None

    def _admit(self, now_ms, todo):
        lst = self.listener
        while lst.queue:
            peer = lst.queue[0].rip
            held = self.peers.get(peer, 0)
            if held < self.max_per_peer and len(self.conns) >= self.max_conns and \
                    not self._evict(now_ms):
                n = len(lst.queue)
                if n > self._deferred:
                    self.count("deferred_full", n - self._deferred)
                    self._deferred = n
                return
            c = lst.accept()
            if self._deferred:
                self._deferred -= 1
            if held >= self.max_per_peer:
                # This address holds its share: refuse it alone (a reset, RFC 9293 3.10.5).
                self.count("refused_per_peer")
                c.abort()
                continue
            self.peers[peer] = held + 1
            c.on_event = self._note          # what arrived before this is served now
            self.conns[c] = self.start(c, now_ms)
            self._seen[c] = [now_ms, c.rcv_nxt, c.snd_una]
            self.count("accepted")
            todo.append(c)

    def _evict(self, now_ms):
        """Close the connection idle longest, if one has been idle app_evict_idle_ms."""
        oldest = None
        for c, seen in self._seen.items():
            self._progress(c, seen, now_ms)
            if oldest is None or ticks.diff(self._seen[oldest][0], seen[0]) > 0:
                oldest = c
        if oldest is None or ticks.diff(now_ms, self._seen[oldest][0]) < self.evict_ms:
            return False
        self.count("evicted_idle")
        self._drop(oldest)
        return True

    def _progress(self, c, seen, now_ms):
        # Idle means the peer keeps us waiting: nothing arrived, nothing was acknowledged, and
        # its window is shut on what we have for it. Data it may take but has not acknowledged
        # yet is TCP's to retransmit and time out (RFC 1122 4.2.3.5), not a reason to close.
        if c.rcv_nxt != seen[1] or c.snd_una != seen[2] or (c.sndbuf.length and c.snd_wnd):
            seen[0] = now_ms
            seen[1] = c.rcv_nxt
            seen[2] = c.snd_una

    def _step(self, c, now_ms):
        seen = self._seen[c]
        self._progress(c, seen, now_ms)
        idle = ticks.diff(now_ms, seen[0])
        if self.idle_ms and idle >= self.idle_ms:
            self.count("closed_idle")
            self._drop(c)
            return
        try:
            st = self.serve(c, self.conns[c], now_ms)
        except OSError:
            # Reset, timed out or refused: the peer is gone; the service goes on.
            self.count("errors")
            self._forget(c)
            c.abort()
            return
        if st is None:
            self._forget(c)
            c.close()
            return
        self.conns[c] = st
        w = self.wake(st, now_ms)
        if self.idle_ms:
            w = ticks.earliest(w, self.idle_ms - idle)
        if w is not None:
            t = self._clock + w
            old = self._at.get(c)
            if old is None or t < old:
                self._at[c] = t
                self._n += 1
                heappush(self._heap, (t, self._n, c))

    def _drop(self, c):
        self._forget(c)
        give_up(c)

    def _forget(self, c):
        del self.conns[c]
        del self._seen[c]
        self._at.pop(c, None)
        c.on_event = None
        n = self.peers[c.rip] - 1
        if n:
            self.peers[c.rip] = n
        else:
            del self.peers[c.rip]

    def _note(self, conn):
        # conn's readiness signal, from inside the stack's input or poll: only take note
        self._woken.append(conn)

    def wake(self, state, now_ms):
        """ms until serve() must run for this connection even if nothing arrives, or None."""
        return None

    def start(self, conn, now_ms):
        return 0

    def serve(self, conn, state, now_ms):
        raise NotImplementedError

    def close(self):
        self.listener.close()
        for c in self.conns:
            c.abort()
        self.conns = {}
        self._seen = {}
        self.peers = {}
        self._at = {}
        self._heap = []


def give_up(conn):
    """Close a connection the server gives up on: gracefully when nothing waits to be
    delivered, else with a reset, so that no buffer stays held behind a peer that stopped
    reading (RFC 9293 3.10.5 ABORT). close() resets by itself if data is unread."""
    if conn.sndbuf.length:
        conn.abort()
    else:
        conn.close()


def drain(conn, limit=4096):
    """Read and drop what is readable; -> False once the peer has closed its side."""
    while True:
        d = conn.recv(limit)
        if d is None:
            return True
        if not d:
            return False
