"""TCP discard service (RFC 863): everything received is thrown away."""

from .server import TCPServer, drain


class Discard(TCPServer):
    name = "discard"

    def __init__(self, stack, port=9, **kw):
        TCPServer.__init__(self, stack, port, **kw)

    def serve(self, conn, state, now_ms):
        return state if drain(conn) else None
