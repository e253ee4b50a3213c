"""The receive buffer: a ring with in-place reassembly (RFC 9293 3.10.7.4 seventh).

In-order bytes sit between `head` and `head + length`; the advertised window is the rest of
the ring's size, so an out-of-order segment inside the window is written straight to its final
place and only its sequence range is remembered. The number of remembered ranges is bounded; a
segment that would need one more is dropped (the sender retransmits it). The ranges, most
recently changed first, are also the SACK blocks we report (RFC 2018 4). Ranges and RCV.NXT are
the connection's receive-side offsets (plain ints, tcp/state.py). Storage: see ring.py.
"""

from .ring import Ring


class RecvBuffer(Ring):
    # head: ring index of the next byte the application reads; length: in-order bytes not
    # yet read
    def __init__(self, size, max_ranges=8, start=0):
        Ring.__init__(self, size, start)
        self.max_ranges = max_ranges
        self.ranges = []     # [left, right) sequence ranges held beyond RCV.NXT, newest first

    def store(self, off, data):
        """Copy data to off bytes past the in-order end; the caller keeps it within free()."""
        n = len(data)
        self._room(self.length + off + n)
        cap = self.cap
        pos = (self.head + self.length + off) % cap
        if pos + n <= cap:
            self._mv[pos:pos + n] = data         # (a slice of data would be a view)
        else:
            first = cap - pos
            self._mv[pos:cap] = data[:first]
            self._mv[0:n - first] = data[first:n]

    def add_range(self, left, right):
        """Remember out-of-order data [left, right); False when no room for another range."""
        rs = self.ranges
        i = 0
        while i < len(rs):
            l, r = rs[i]
            if l <= right and left <= r:    # overlaps or touches: merge
                if l < left:
                    left = l
                if r > right:
                    right = r
                rs.pop(i)
            else:
                i += 1
        if len(rs) >= self.max_ranges:
            return False
        rs.insert(0, (left, right))
        return True

    def advance(self, n, rcv_nxt):
        """n more in-order bytes were stored at the end; returns the new RCV.NXT after merging
        any remembered ranges that now join the in-order data."""
        self.length += n
        rcv_nxt += n
        rs = self.ranges
        i = 0
        while i < len(rs):
            l, r = rs[i]
            if l <= rcv_nxt:
                rs.pop(i)
                if r > rcv_nxt:
                    self.length += r - rcv_nxt
                    rcv_nxt = r
                i = 0
            else:
                i += 1
        return rcv_nxt

    def byte_at(self, off):
        return self.buf[(self.head + off) % self.cap]

    def read(self, n):
        """Up to n in-order bytes as bytes."""
        out = self.peek(n)
        self.discard(len(out))
        return out

    def peek(self, n):
        """Up to n in-order bytes as bytes, left in the buffer (MSG_PEEK)."""
        n = min(n, self.length)
        h = self.head
        cap = self.cap
        if h + n <= cap:
            out = bytes(self._mv[h:h + n])
        else:
            # Across the ring's end: the first part and the result (bytes + a view, no
            # temporary for the second part)
            out = bytes(self._mv[h:cap]) + self._mv[0:n - (cap - h)]
        return out

    def discard(self, n):
        if n:
            self.length -= n
            if self.length or self.ranges:
                self.head = (self.head + n) % self.cap
            else:
                # Empty, nothing held beyond: the next data goes in from the ring's start,
                # so a reader that keeps up reads without crossing the end (read above).
                self.head = 0

    def rebase(self, d):
        """The receive side's base moved up by d (state.rebase)."""
        if self.ranges:
            self.ranges = [(l - d, r - d) for l, r in self.ranges]

    def release(self):
        Ring.release(self)
        self.ranges = []
