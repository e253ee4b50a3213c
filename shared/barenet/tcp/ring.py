"""Storage for the send and receive rings: allocated on demand, grown as the data needs it,
given back when the connection no longer needs it.

A ring holds at most `size` bytes (the configured buffer: what the window offers, what send()
accepts). Its storage starts empty, which is what a half-open connection costs; `reserve()`
allocates the first `start` bytes (0: all of size, the board profile's fixed buffers) when the
connection is established, and a write that needs more doubles it, up to size (the host
profile's buffers, so that a thousand idle connections do not hold a thousand full buffers).
Growing copies the ring out in order from its head, so every offset from the head stays valid.
"""


class Ring:
    def __init__(self, size, start=0):
        self.size = size           # the most bytes the ring may hold
        self.start = start if 0 < start < size else size
        self.cap = 0               # bytes of storage allocated
        self.buf = bytearray(0)
        self._mv = memoryview(self.buf)
        self.head = 0
        self.length = 0

    def free(self):
        return self.size - self.length

    def resize(self, size):
        """Hold at most size bytes, no more than the ring was made for (SO_RCVBUF/SO_SNDBUF,
        set before the connection is established, while there is no storage yet)."""
        self.size = size
        if self.start > size:
            self.start = size

    def reserve(self):
        """Allocate the first storage (the connection is established)."""
        if not self.cap and self.size:
            self._grow(self.start)

    def _room(self, need):
        # Called with the bytes the ring must hold from its head (need <= size).
        if need > self.cap:
            self._grow(need)

    def _grow(self, need):
        cap = self.cap
        new = cap << 1 if cap else self.start
        if new < need:
            new = need
        if new > self.size:
            new = self.size
        buf = bytearray(new)
        if cap:
            h = self.head
            buf[0:cap - h] = self._mv[h:cap]
            buf[cap - h:cap] = self._mv[0:h]
        self.buf = buf
        self._mv = memoryview(buf)
        self.head = 0
        self.cap = new

    def release(self):
        """Give the storage back: the connection needs no more of this direction. What is
        left is dropped, and nothing more fits."""
        if self.size:
            self.size = self.cap = self.head = self.length = 0
            self.buf = bytearray(0)
            self._mv = memoryview(self.buf)
