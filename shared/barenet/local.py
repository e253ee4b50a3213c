"""Local domain sockets (AF_UNIX, unix(7)) in the stack's own namespace: stream and datagram
endpoints between tasks on one stack, named by path-like strings or by Linux's abstract names
(a leading NUL byte). They never touch IP or a NIC: a send is a copy into the peer's buffer.

The names are barenet's, not the kernel's: a host program's "/tmp/x" here is no file, and a
name is free again as soon as its endpoint closes (as Linux's abstract names are; a Linux path
name would leave a socket file behind until unlinked).

The endpoints are shaped like TCP's and UDP's so that socket.py wraps them the same way:
recv/recvfrom return None for "nothing yet" and b"" for end of stream, send returns what fit
(0 when full), misuse raises OSError with the errno Linux gives for AF_UNIX. Readiness
(readiness.py): with no input pass in between, an endpoint's event fires from the user call
that changed it (the peer's send, recv, shutdown or close); on_event still only takes note.

    ep = stack.local.stream(); ep.bind("/srv"); ep.listen(4); conn = ep.accept()
    c = stack.local.stream(); c.connect("/srv"); c.send(b"hi")
    d = stack.local.dgram(); d.bind("/log"); d.recvfrom() -> (data, sender name or None)
    a, b = stack.local.socketpair(STREAM)
"""

from .compat import (oserror, const, EADDRINUSE, EAGAIN, EBADF, ECONNREFUSED, ECONNRESET,
                     EINVAL, EISCONN, EMSGSIZE, ENOBUFS, ENOENT, ENOTCONN, EPERM, EPIPE,
                     EPROTOTYPE)
from .readiness import Ready
from .stats import inc
from .tcp.send import SendBuffer

STREAM = const(1)  # SOCK_STREAM, SOCK_DGRAM: Linux's values
DGRAM = const(2)
_PATH_MAX = const(108)  # sizeof(sun_path): an abstract name may use all of it, a path needs
                        # its terminating NUL too (Linux unix_mkname)
_IDLE = const(0)
_LISTEN = const(1)
_CONNECTED = const(2)


def _key(name):
    # Names are keyed as bytes: str paths encode as CPython's bind() does (UTF-8 here), an
    # abstract name keeps its NUL. Too long is EINVAL (Linux; CPython says "path too long").
    if isinstance(name, str):
        k = name.encode()
    elif isinstance(name, (bytes, bytearray, memoryview)):
        k = bytes(name)
    else:
        raise TypeError("AF_UNIX names are str or bytes")  # CPython: not an address
    if len(k) > _PATH_MAX or (k and k[0] != 0 and len(k) >= _PATH_MAX):
        raise oserror(EINVAL)
    return k


def _shown(key):
    # As CPython shows AF_UNIX addresses: a path as str, an abstract name as bytes
    if key is None:
        return None
    return key if key and key[0] == 0 else key.decode()


class _Endpoint(Ready):
    def __init__(self, local, kind):
        self.local = local
        self.kind = kind
        self.key = None        # our name (bytes), None while unnamed
        self.peer = None       # the connected endpoint
        self.peer_key = None   # its name when we connected (getpeername)
        self.closed = False
        self.waiters = []      # endpoints whose connect/sendto found us full (Linux peer_wait)

    def _check(self):
        if self.closed:
            raise oserror(EBADF)  # a closed socket's fd, as the runtime's own sockets say

    def bind(self, name):
        """Take a name; "" picks a free abstract one (Linux autobind)."""
        self._check()
        if self.key is not None:
            raise oserror(EINVAL)  # Linux unix_bind: already bound
        loc = self.local
        k = _key(name) or loc.autoname()
        if k in loc.names:
            raise oserror(EADDRINUSE)
        loc.names[k] = self
        self.key = k

    def getsockname(self):
        """Our name: str for a path, bytes for an abstract name, "" while unnamed (CPython)."""
        return "" if self.key is None else _shown(self.key)

    def getpeername(self):
        self._check()
        if self.peer is None:
            raise oserror(ENOTCONN)
        return "" if self.peer_key is None else _shown(self.peer_key)

    def _find(self, name):
        # The endpoint bound to name, of our kind (Linux unix_find_other)
        k = _key(name)
        if not k:
            raise oserror(EINVAL)
        other = self.local.names.get(k)
        if other is None:
            inc(self.local.stats, "refused")
            raise oserror(ENOENT)
        if other.kind != self.kind:
            raise oserror(EPROTOTYPE)
        return other

    def _full(self, other):
        # other has no room for us: we wait for it as Linux's sender sleeps on peer_wait
        if self not in other.waiters:
            other.waiters.append(self)
        raise oserror(EAGAIN)

    def _wake_waiters(self):
        w = self.waiters
        if w:
            self.waiters = []
            for ep in w:
                ep._event()

    def _release(self):
        loc = self.local
        if self.key is not None and loc.names.get(self.key) is self:
            del loc.names[self.key]
        self.closed = True
        loc.count -= 1
        self._wake_waiters()   # they retry and hear that the name is gone


class LocalStream(_Endpoint):
    """A SOCK_STREAM endpoint: idle, then listening or connected. Connected, each direction
    is a bounded buffer in the receiver (local_buf); a writer that fills it is told so by
    send() returning less, and is woken when the reader frees room."""

    def __init__(self, local):
        _Endpoint.__init__(self, local, STREAM)
        self.state = _IDLE
        self.rx = None          # what the peer sent us, not yet read
        self.rd_done = False    # nothing more will come: peer shut down writing or left
        self.wr_done = False    # we may not send: we shut down writing, or the peer reading
        self.error = 0          # ECONNRESET once the peer left with our data unread
        self.listener = None    # set while we wait in a listener's queue (accept)
        self.backlog = 0
        self.queue = []

    def listen(self, backlog):
        self._check()
        if self.key is None or self.state == _CONNECTED:
            raise oserror(EINVAL)  # Linux unix_listen: unbound, or connected
        # Linux clips to somaxconn and refuses only when the queue holds more than backlog,
        # so that backlog + 1 connections wait (listen(0) still takes one).
        som = self.local.somaxconn
        self.backlog = som if backlog < 0 or backlog > som else backlog
        self.state = _LISTEN

    def accept(self):
        """The oldest connection waiting, or None."""
        self._check()
        if self.state != _LISTEN:
            raise oserror(EINVAL)
        if not self.queue:
            return None
        c = self.queue.pop(0)
        c.listener = None
        self._wake_waiters()   # a connect that found the queue full may now fit
        return c

    def connect(self, name):
        """Connect at once, or raise: ENOENT (nobody bound name), ECONNREFUSED (bound, not
        listening), EAGAIN (its queue is full: our event fires when it has room; Linux
        blocks, or says EAGAIN when non-blocking), ENOBUFS (the endpoint table is full)."""
        self._check()
        if self.state == _CONNECTED:
            raise oserror(EISCONN)
        if self.state == _LISTEN:
            raise oserror(EINVAL)
        loc = self.local
        other = self._find(name)
        if other.state != _LISTEN:
            inc(loc.stats, "refused")
            raise oserror(ECONNREFUSED)
        if len(other.queue) > other.backlog:
            inc(loc.stats, "backlog_full")
            self._full(other)
        srv = loc.stream()     # the accepted side, named as the listener (Linux copies addr)
        srv.key = other.key
        srv.listener = other
        self._pair(srv)
        self.peer_key = other.key
        srv.peer_key = self.key
        other.queue.append(srv)
        inc(loc.stats, "connects")
        other._event()

    def _pair(self, other):
        loc = self.local
        for a, b in ((self, other), (other, self)):
            a.state = _CONNECTED
            a.peer = b
            a.rx = SendBuffer(loc.buf, loc.buf_start)

    def send(self, data):
        """Copy as much of data as the peer's buffer takes; -> bytes taken (0 when full)."""
        self._check()
        if self.state != _CONNECTED:
            raise oserror(ENOTCONN)
        if self.wr_done:
            raise oserror(EPIPE)   # Linux checks shutdown before any pending error
        p = self.peer
        n = p.rx.write(data)
        if n:
            inc(self.local.stats, "stream_bytes", n)
            p._event()
        return n

    def recv(self, n, peek=False):
        """Up to n bytes; b"" at end of stream, None when nothing has arrived yet. What was
        sent before the peer left is read first, then its reset (once), then b"" (Linux)."""
        self._check()
        if self.state != _CONNECTED:
            raise oserror(EINVAL)  # Linux unix_stream_read_generic, not ENOTCONN
        if n <= 0:
            return b""             # Linux: a zero-length read returns at once
        rx = self.rx
        m = min(n, rx.length)
        if m:
            out = bytes(rx.view(0, m))
            if not peek:
                was_full = not rx.free()
                rx.consume(m)
                if was_full and not self.peer.closed:
                    self.peer._event()   # room to write again
            return out
        if self.error:
            e = self.error
            self.error = 0
            raise oserror(e)
        if self.rd_done:
            return b""
        return None

    def readable(self):
        """Bytes ready for recv()."""
        return self.rx.length if self.state == _CONNECTED else len(self.queue)

    def writable(self):
        """Bytes send() would take now."""
        if self.state != _CONNECTED or self.wr_done:
            return 0
        return self.peer.rx.free()

    def shutdown_write(self):
        """The peer reads what we sent, then b"" (half-close). Unconnected: no effect, as on
        Linux (unix_shutdown succeeds on any stream socket)."""
        self._check()
        if self.state == _CONNECTED and not self.wr_done:
            self.wr_done = True
            p = self.peer
            if not p.closed:
                p.rd_done = True
                p._event()

    def shutdown_read(self):
        """We read what is buffered, then b""; the peer's send raises EPIPE (Linux shuts the
        peer's sending side too)."""
        self._check()
        if self.state == _CONNECTED and not self.rd_done:
            self.rd_done = True
            self._event()
            p = self.peer
            if not p.closed:
                p.wr_done = True
                p._event()

    def close(self):
        """Leave. Our unread data, or never having been accepted, makes the peer's next read
        (after what it has buffered) raise ECONNRESET (Linux unix_release_sock)."""
        if self.closed:
            return
        if self.state == _LISTEN:
            for c in self.queue:
                c.close()
            self.queue = []
        elif self.state == _CONNECTED:
            p = self.peer
            if not p.closed:
                p.rd_done = p.wr_done = True
                if self.rx.length or self.listener is not None:
                    p.error = ECONNRESET
                    inc(self.local.stats, "resets")
                p._event()
            self.rx.release()            # the unread data is gone
        self._release()


class LocalDatagram(_Endpoint):
    """A SOCK_DGRAM endpoint: a bounded queue of whole datagrams (local_dgram_queue). A full
    receiver pushes back (EAGAIN, the sender's event fires when a slot frees) rather than
    dropping, as Linux does for AF_UNIX datagrams."""

    def __init__(self, local):
        _Endpoint.__init__(self, local, DGRAM)
        self.q = []             # (bytes, sender key or None)

    def connect(self, name):
        """Set the default destination; only it may send to us then (Linux unix_may_send)."""
        self._check()
        other = self._find(name)
        if other.peer is not None and other.peer is not self:
            raise oserror(EPERM)   # it is connected to someone else
        self.peer = other
        self.peer_key = other.key

    def send(self, data):
        """sendto() the connected peer. Once that peer has closed: ECONNREFUSED, and then
        ENOTCONN (Linux forgets the dead peer)."""
        self._check()
        p = self.peer
        if p is None:
            raise oserror(ENOTCONN)  # Linux; a UDP socket says EDESTADDRREQ
        if p.closed:
            self.peer = self.peer_key = None
            raise oserror(ECONNREFUSED)
        return self._deliver(p, data)

    def sendto(self, data, name):
        """One datagram to the endpoint bound to name; -> len(data). EAGAIN when its queue is
        full (our event fires when it frees a slot), EMSGSIZE over local_dgram_max."""
        self._check()
        other = self._find(name)
        if other.peer is not None and other.peer is not self:
            raise oserror(EPERM)
        return self._deliver(other, data)

    def _deliver(self, other, data):
        loc = self.local
        n = len(data)
        if n > loc.dgram_max:
            raise oserror(EMSGSIZE)
        if len(other.q) >= loc.dgram_queue:
            inc(loc.stats, "dgram_queue_full")
            self._full(other)
        other.q.append((bytes(data), self.key))
        inc(loc.stats, "dgrams")
        other._event()
        return n

    def recvfrom(self, peek=False):
        """-> (data, sender's name or None if unnamed) for the oldest datagram, or None."""
        self._check()
        q = self.q
        if not q:
            return None
        d, k = q[0] if peek else q.pop(0)
        if not peek:
            self._wake_waiters()
        return d, _shown(k)

    def readable(self):
        """Datagrams queued."""
        return len(self.q)

    def writable(self):
        """The largest datagram send() would take now (0: the connected peer is full)."""
        p = self.peer
        if p is not None and not p.closed and len(p.q) >= self.local.dgram_queue:
            return 0
        return self.local.dgram_max

    def close(self):
        if not self.closed:
            self.q = []
            self._release()


class Local:
    """The stack's AF_UNIX namespace: the names bound and the bounded endpoint table."""

    def __init__(self, stack):
        c = stack.cfg
        self.max_endpoints = c.local_endpoints
        self.buf = c.local_buf
        self.buf_start = c.buf_start
        self.dgram_queue = c.local_dgram_queue
        self.dgram_max = c.local_dgram_max
        self.somaxconn = c.somaxconn
        self.names = {}        # key -> the endpoint bound to it
        self.count = 0         # endpoints open
        self.stats = {}
        self._auto = c.seed & 0xFFFFF

    def _take(self, n=1):
        if self.count + n > self.max_endpoints:
            # ENOBUFS: a stack table is full, as for TCP and UDP (see UDP.bind); EMFILE would
            # tell a Linux user to raise RLIMIT_NOFILE, which does not help here.
            inc(self.stats, "drop_table_full")
            raise oserror(ENOBUFS)
        self.count += n

    def stream(self):
        self._take()
        return LocalStream(self)

    def dgram(self):
        self._take()
        return LocalDatagram(self)

    def socketpair(self, kind=STREAM):
        """Two connected, unnamed endpoints (socketpair(2))."""
        if kind != STREAM and kind != DGRAM:
            raise oserror(EINVAL)
        self._take(2)  # both or neither
        if kind == STREAM:
            a = LocalStream(self)
            b = LocalStream(self)
            a._pair(b)
        else:
            a = LocalDatagram(self)
            b = LocalDatagram(self)
            a.peer = b
            b.peer = a
        return a, b

    def tables(self):
        """(name, limit, used) for Stack.limits(): the queue of every bound listener and
        datagram endpoint (by its name as getsockname shows it); the endpoint table is the
        stack's to report, as it has one before any endpoint is made."""
        out = []
        for ep in self.names.values():
            n = repr(ep.getsockname())
            if ep.kind == DGRAM:
                out.append(("local_dgram_queue:" + n, self.dgram_queue, len(ep.q)))
            elif ep.state == _LISTEN:
                out.append(("local_accept_queue:" + n, ep.backlog + 1, len(ep.queue)))
        return out

    def autoname(self):
        # Linux autobind: a NUL and five hex digits, the next free one
        for _ in range(0x100000):
            self._auto = (self._auto + 1) & 0xFFFFF
            k = ("\0%05x" % self._auto).encode()
            if k not in self.names:
                return k
        raise oserror(EADDRINUSE)
