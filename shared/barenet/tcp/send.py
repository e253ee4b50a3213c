"""The send buffer: a ring holding unacknowledged and unsent bytes (RFC 9293 3.8.6).

Bytes from SND.UNA onwards stay here until acknowledged, so the retransmission queue is just
this ring: a retransmission re-reads an offset. Writes accept only what fits (the caller
reports the count, never drops accepted data); segments are memoryview slices, copied into a
scratch buffer only when they straddle the end of the ring. Storage: see ring.py.
"""

from .ring import Ring


class SendBuffer(Ring):
    # head: ring index of the byte at SND.UNA (the oldest unacknowledged);
    # length: bytes held, unacknowledged + not yet sent
    def __init__(self, size, start=0):
        Ring.__init__(self, size, start)
        self._scratch = None
        self._sv = None             # a view of _scratch, kept: one view less per straddle

    def write(self, data):
        """Append as much of data as fits; returns the number of bytes taken."""
        n = min(len(data), self.size - self.length)
        if n <= 0:
            return 0
        self._room(self.length + n)
        cap = self.cap
        tail = (self.head + self.length) % cap
        first = min(n, cap - tail)
        if first == len(data):
            self._mv[tail:tail + first] = data      # all of it: no view of data needed
        else:
            self._mv[tail:tail + first] = data[:first]
            if first < n:
                self._mv[0:n - first] = data[first:n]
        self.length += n
        return n

    def consume(self, n):
        """Drop n acknowledged bytes from the front."""
        if n:
            self.head = (self.head + n) % self.cap
            self.length -= n

    def view(self, off, n):
        """n bytes starting off bytes after the front, as one memoryview."""
        cap = self.cap
        start = (self.head + off) % cap
        if start + n <= cap:
            return self._mv[start:start + n]
        if self._scratch is None or len(self._scratch) < n:
            self._scratch = bytearray(n)
            self._sv = memoryview(self._scratch)
        first = cap - start
        sv = self._sv
        sv[0:first] = self._mv[start:cap]
        sv[first:n] = self._mv[0:n - first]
        return sv[0:n]
