"""TCPServer: the loop every TCP app shares. A runner task: `poll(now_ms)` accepts new
connections and lets the app serve the open ones that need it; finished or failed ones are
closed and forgotten. Apps subclass it and implement `serve(conn, state, now_ms) -> state |
None` (None: done), returning only when blocked (nothing to read, or no room to write), and
`wake(state, now_ms)` if they need to run on a timer; poll() returns the earliest of those
waits, as runner tasks do. MicroPython-compatible.

A connection is served again only when its readiness signal fired (barenet/readiness.py:
data, room to write, the end) or its timer is due, so a server holding a thousand idle
clients does no work for them.

Sized by the stack's profile: the accept queue is the profile's listen_backlog, and an app
serves as many connections as the stack holds (max_connections) unless told fewer."""

from .. import ticks


class TCPServer:
    def __init__(self, stack, port, backlog=None, max_conns=None):
        self.listener = stack.tcp.listen(port, backlog)
        self.port = port
        self.max_conns = stack.cfg.max_connections if max_conns is None else max_conns
        self.conns = {}  # conn -> app state
        self.served = 0
        self.errors = 0
        self._woken = []  # connections whose readiness signal fired since the last poll
        self._timed = {}  # connections whose wake() asked for a timer

    def poll(self, now_ms):
        todo = self._woken
        self._woken = []
        while len(self.conns) < self.max_conns:
            c = self.listener.accept()
            if c is None:
                break
            c.on_event = self._note          # what arrived before this is served now
            self.conns[c] = self.start(c, now_ms)
            self.served += 1
            todo.append(c)
        for c in self._timed:
            todo.append(c)
        wait = None
        done = {}
        for c in todo:
            if c in done or c not in self.conns:
                continue
            done[c] = True
            try:
                st = self.serve(c, self.conns[c], now_ms)
            except OSError:
                # Reset, timed out or refused: the peer is gone; the service goes on.
                self.errors += 1
                st = None
                c.abort()
            w = None if st is None else self.wake(st, now_ms)
            if w is None:
                self._timed.pop(c, None)
            else:
                self._timed[c] = True
                wait = ticks.earliest(wait, w)
            if st is None:
                del self.conns[c]
                c.on_event = None
                c.close()
            else:
                self.conns[c] = st
        return wait

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


def drain(conn, limit=4096):
    """Read and drop what is readable; -> False once the peer has closed its side."""
    while True:
        d = conn.recv(limit)
        if d is None:
            return True
        if not d:
            return False
