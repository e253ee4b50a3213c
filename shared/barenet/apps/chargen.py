"""TCP character generator (RFC 864): 72-character lines from a rotating 95-character
printable ASCII pattern, sent as fast as the send buffer takes them; input is discarded."""

from .server import TCPServer, drain

_LINE = 72
_CHARS = bytes(range(32, 127))  # the 95 printable ASCII characters
# One full cycle of lines: line i starts at character i mod 95 (RFC 864).
_PATTERN = b"".join((_CHARS * 2)[i:i + _LINE] + b"\r\n" for i in range(95))


class Chargen(TCPServer):
    name = "chargen"

    def __init__(self, stack, port=19, **kw):
        TCPServer.__init__(self, stack, port, **kw)
        self.bytes = 0

    def serve(self, conn, pos, now_ms):
        if not drain(conn):
            return None
        mv = memoryview(_PATTERN)
        while True:
            room = conn.writable()
            if room == 0:
                return pos
            n = conn.send(mv[pos:pos + room])
            self.bytes += n
            pos = (pos + n) % len(_PATTERN)
