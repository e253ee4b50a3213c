"""TCP character generator (RFC 864): 72-character lines from a rotating 95-character
printable ASCII pattern, sent as fast as the send buffer takes them; input is discarded.

Line i is characters i .. i+71 (mod 95) and CRLF, so every line is one slice of the 95
characters written out twice: what is sent is cut from those 190 bytes, never from a copy of
the whole 95-line cycle (7 030 bytes a board's heap would hold for it)."""

from .server import TCPServer, drain

_LINE = 72
_ROW = _LINE + 2                          # with its CRLF
CYCLE = 95 * _ROW                         # bytes before the lines repeat (RFC 864)
_CHARS = bytes(range(32, 127)) * 2        # the 95 printable ASCII characters, twice
_CRLF = b"\r\n"


class Chargen(TCPServer):
    name = "chargen"

    def __init__(self, stack, port=19, **kw):
        TCPServer.__init__(self, stack, port, **kw)
        self.bytes = 0

    def serve(self, conn, pos, now_ms):
        if not drain(conn):
            return None
        chars = memoryview(_CHARS)
        while True:
            room = conn.writable()
            if room == 0:
                return pos
            line = pos // _ROW
            col = pos - line * _ROW
            if col < _LINE:
                piece = chars[line + col:line + _LINE]
            else:
                piece = _CRLF[col - _LINE:]
            n = conn.send(piece if len(piece) <= room else piece[:room])
            self.bytes += n
            pos = (pos + n) % CYCLE
