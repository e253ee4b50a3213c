"""The send buffer: a preallocated ring holding unacknowledged and unsent bytes (RFC 9293 3.8.6).

Bytes from SND.UNA onwards stay here until acknowledged, so the retransmission queue is just
this ring: a retransmission re-reads an offset. Writes accept only what fits (the caller
reports the count, never drops accepted data); segments are memoryview slices, copied into a
scratch buffer only when they straddle the end of the ring.
"""


class SendBuffer:
    def __init__(self, size):
        self.size = size
        self.buf = bytearray(size)
        self._mv = memoryview(self.buf)
        self.head = 0      # ring index of the byte at SND.UNA (the oldest unacknowledged)
        self.length = 0    # bytes held: unacknowledged + not yet sent
        self._scratch = None

    def free(self):
        return self.size - self.length

    def write(self, data):
        """Append as much of data as fits; returns the number of bytes taken."""
        n = min(len(data), self.size - self.length)
        if n <= 0:
            return 0
        tail = (self.head + self.length) % self.size
        first = min(n, self.size - tail)
        self._mv[tail:tail + first] = data[:first]
        if first < n:
            self._mv[0:n - first] = data[first:n]
        self.length += n
        return n

    def consume(self, n):
        """Drop n acknowledged bytes from the front."""
        self.head = (self.head + n) % self.size
        self.length -= n

    def view(self, off, n):
        """n bytes starting off bytes after the front, as one memoryview."""
        start = (self.head + off) % self.size
        if start + n <= self.size:
            return self._mv[start:start + n]
        if self._scratch is None or len(self._scratch) < n:
            self._scratch = bytearray(n)
        first = self.size - start
        sv = memoryview(self._scratch)
        sv[0:first] = self._mv[start:self.size]
        sv[first:n] = self._mv[0:n - first]
        return sv[0:n]
