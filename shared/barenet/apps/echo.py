"""TCP echo service (RFC 862). Reads only what the send buffer can take, so a client that
never reads stalls its own data (flow control end to end) and nothing accepted is dropped."""

from .server import TCPServer


class TCPEcho(TCPServer):
    name = "echo"

    def __init__(self, stack, port=7, **kw):
        TCPServer.__init__(self, stack, port, **kw)
        self.bytes = 0

    def serve(self, conn, state, now_ms):
        while True:
            room = conn.writable()
            if room == 0:
                return state
            d = conn.recv(room)
            if d is None:
                return state
            if not d:
                return None  # peer finished: our FIN follows everything echoed
            conn.send(d)
            self.bytes += len(d)
