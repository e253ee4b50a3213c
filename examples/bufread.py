"""A buffered reader over a stream socket's recv(), for line protocols (HTTP, chat): the same
on CPython and MicroPython, whose sockets have no makefile() there."""


class Reader:
    def __init__(self, sock, limit=8192):
        self.sock = sock
        self.limit = limit    # the longest line accepted (ValueError beyond)
        self.buf = b""

    def _more(self):
        d = self.sock.recv(4096)
        if d:
            self.buf += d
        return len(d)

    def line(self):
        """The next line with its b"\\n", b"" at the end of the stream; a last line without
        a newline is returned as it is."""
        while True:
            i = self.buf.find(b"\n")
            if i >= 0:
                out, self.buf = self.buf[:i + 1], self.buf[i + 1:]
                return out
            if len(self.buf) > self.limit:
                raise ValueError("line longer than %d bytes" % self.limit)
            if not self._more():
                out, self.buf = self.buf, b""
                return out

    def exact(self, n):
        """n bytes; fewer only if the stream ends first."""
        while len(self.buf) < n and self._more():
            pass
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def rest(self):
        """Everything up to the end of the stream."""
        while self._more():
            pass
        out, self.buf = self.buf, b""
        return out
