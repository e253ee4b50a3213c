"""TCPServer: the loop every TCP app shares. A runner task: `poll(now_ms)` accepts new
connections and lets the app serve each open one; finished or failed ones are closed and
forgotten. Apps subclass it and implement `serve(conn, state, now_ms) -> state | None`
(None: done), and `wake(state, now_ms)` if they need to run on a timer; poll() returns the
earliest of those waits, as runner tasks do. MicroPython-compatible.

Sized by the stack's profile: the accept queue is the profile's listen_backlog, and an app
serves as many connections as the stack holds (max_connections) unless told fewer."""

from .. import ticks


class TCPServer:
    def __init__(self, stack, port, backlog=None, max_conns=None):
        cfg = stack.cfg
        self.listener = stack.tcp.listen(port, cfg.listen_backlog if backlog is None else backlog)
        self.port = port
        self.max_conns = cfg.max_connections if max_conns is None else max_conns
        self.conns = {}  # conn -> app state
        self.served = 0
        self.errors = 0

    def poll(self, now_ms):
        while len(self.conns) < self.max_conns:
            c = self.listener.accept()
            if c is None:
                break
            self.conns[c] = self.start(c, now_ms)
            self.served += 1
        wait = None
        for c in list(self.conns):
            try:
                st = self.serve(c, self.conns[c], now_ms)
            except OSError:
                # Reset, timed out or refused: the peer is gone; the service goes on.
                self.errors += 1
                st = None
                c.abort()
            if st is None:
                del self.conns[c]
                c.close()
            else:
                self.conns[c] = st
                wait = ticks.earliest(wait, self.wake(st, now_ms))
        return wait

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
