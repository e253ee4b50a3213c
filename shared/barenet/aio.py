"""asyncio streams and datagrams over barenet's sockets, the same code on CPython's asyncio and
MicroPython's (issue 9 item 6).

    net = aio.Net(sockets)                  # sockets: barenet.socket.Sockets(stack, driver)
    reader, writer = await net.open_connection("192.0.2.1", 7)
    server = await net.start_server(handle, "0.0.0.0", 7)    # handle(reader, writer)
    ep = await net.open_datagram(local_addr=("0.0.0.0", 5353))
    data, addr = await ep.recvfrom(); ep.sendto(data, addr)

or `aio.install(sockets)` (barenet.socket.install does it on MicroPython): asyncio's own
`open_connection` / `start_server` become barenet's, so unmodified asyncio code runs over it.

Streams. One `Stream` object is both the reader and the writer, as MicroPython's asyncio.Stream
is; it has CPython's StreamReader/StreamWriter methods (read, readline, readexactly, readuntil,
at_eof, write, writelines, drain, write_eof, close, is_closing, wait_closed, get_extra_info) and
MicroPython's (readinto, awrite, awritestr, aclose). Errors are the socket layer's (OSError with
Linux errno, CPython's subclasses); at the end of the stream readexactly/readuntil raise what
the runtime's asyncio raises: IncompleteReadError on CPython, EOFError on MicroPython. write()
never blocks: what the TCP send buffer cannot take waits in the stream and goes out as ACKs
free room; drain() waits while more than the low-water mark waits (CPython's transport
watermarks, 64 KiB / 16 KiB; MicroPython's drain flushes everything).

Datagrams: `open_datagram` gives an endpoint with `await recvfrom()` and a plain `sendto()`,
not CPython's create_datagram_endpoint: MicroPython's asyncio has no transports or protocols,
and a coroutine that returns the next datagram is the shape both runtimes can share. sendto is
not a coroutine because a UDP send never waits (a full queue drops, as UDP does).

Who runs the stack. One pump task per driver (started by the first call; Net.start()/stop()
manage it; Nets on one driver, such as the two stacks of one simulator, share it) steps the
stack from the event loop through the driver's one async method:

    await driver.astep(wake, busy)   one loop step, then wait, without blocking the event loop,
                                     for the next frame or timer, or until wake (an
                                     asyncio.Event) is set; busy() says whether a task waits on
                                     barenet (the simulator moves its virtual clock only then)

SimDriver (vwire.py) and RunnerDriver (runner.py, CPython: loop.add_reader on the NICs' fds)
have it; a driver without it (a board's) is stepped without waiting every POLL_MS, or at once
when woken. In the simulator virtual time runs only while a task waits on barenet, and then as
fast as the deadlines come: a task that meanwhile sleeps in real time sees the network age
by minutes. Endpoints report through readiness.py: their `on_event`, called inside the step,
only sets the waiting stream's Event and marks streams with output waiting; the pump moves that
output after the step. Every call that gives the stack work (write, read, connect, close, a
new waiter) sets `wake`, so the pump steps again before it sleeps.

A waiter is one task awaiting its endpoint's Event, counted in `Net.waiting` while it waits;
cancellation (`asyncio.wait_for`, Task.cancel) leaves through the `finally` that uncounts it,
and a cancelled open_connection closes its half-open connection.
"""

import asyncio

from . import socket as _bsock
from .compat import oserror, EINPROGRESS, EOPNOTSUPP
from .socket import AF_INET, SOCK_STREAM, SOCK_DGRAM, SOL_SOCKET, SO_ERROR, SHUT_WR, \
    POLLIN, POLLOUT, POLLERR, POLLHUP

# MicroPython's asyncio: no IncompleteReadError (its streams raise EOFError), drain() flushes all
_MP = not hasattr(asyncio, "IncompleteReadError")
_LIMIT = 65536                 # CPython's asyncio.streams._DEFAULT_LIMIT: readline's bound
# CPython's transport watermarks (FlowControlMixin: high 64 KiB, low = high / 4); MicroPython's
# Stream.drain writes out everything it holds
_HIGH, _LOW = (0, 0) if _MP else (65536, 16384)
_CHUNK = 4096                  # bytes asked of the socket per read
POLL_MS = 10                   # a driver without astep: how often the pump steps it
_DONE = 1                      # Stream._after: what to do once its output is out
_EOF = 2


def _incomplete(partial, expected):
    if _MP:
        return EOFError()      # MicroPython's Stream.readexactly
    return asyncio.IncompleteReadError(partial, expected)


_Overrun = ValueError if _MP else asyncio.LimitOverrunError


def _overrun(consumed):
    if _MP:
        return ValueError("line longer than limit")
    return _Overrun("Separator is not found, and chunk exceed the limit", consumed)


class _Pump:
    """The task that steps one driver's stack(s) for every Net on that driver (the two
    stacks of one simulator share it: one world, one clock)."""

    def __init__(self, driver):
        self.driver = driver
        self.waiting = 0       # tasks parked on an endpoint, over all its Nets
        self.dirty = []        # streams whose endpoint changed while output waits in them
        self._task = None
        self._wake = None

    @staticmethod
    def of(driver):
        p = getattr(driver, "aio_pump", None)
        if p is None:
            p = driver.aio_pump = _Pump(driver)
        return p

    def start(self):
        t = self._task
        if t is not None and not t.done():
            get_loop = getattr(t, "get_loop", None)     # CPython: a task of an older loop
            if get_loop is None or get_loop() is asyncio.get_event_loop():
                return t
        self._wake = asyncio.Event()
        self._task = asyncio.create_task(self._run())
        return self._task

    def stop(self):
        if self._task is not None:
            self._task.cancel()
            self._task = None

    def kick(self):
        if self._wake is not None:
            self._wake.set()

    def _busy(self):
        return self.waiting > 0

    async def _run(self):
        astep = getattr(self.driver, "astep", None) or self._poll_step
        while True:
            await astep(self._wake, self._busy)
            d = self.dirty
            if d:
                self.dirty = []
                for s in d:
                    s._flush()

    async def _poll_step(self, wake, busy):
        # A driver with only step(): one step without waiting, then sleep POLL_MS unless a
        # call gave the stack work meanwhile (a frame waits for the next step: the price of
        # having no wakeup from the NIC)
        self.driver.step(0)
        await asyncio.sleep(0)
        if not wake.is_set():
            await asyncio.sleep(POLL_MS / 1000)
        wake.clear()


class Net:
    """asyncio over one Sockets(stack, driver): its streams, servers and datagram endpoints.
    `waiting`: its tasks parked on an endpoint now. start() / stop(): the pump task."""

    def __init__(self, sockets):
        self.sockets = sockets
        self.waiting = 0
        self.pump = _Pump.of(sockets.driver)

    def start(self):
        """The pump task, started if it is not running on this event loop."""
        return self.pump.start()

    def stop(self):
        """Stop stepping the stack (the endpoints stay as they are)."""
        self.pump.stop()

    def kick(self):
        """The stack has work (output queued, a window opened, a new waiter): step again."""
        self.pump.kick()

    # -- opening -------------------------------------------------------------------------

    def _socket(self, type):
        s = self.sockets.socket(AF_INET, type)
        s.setblocking(False)
        return s

    async def getaddrinfo(self, host, port, family=0, type=0, proto=0, flags=0):
        """The socket layer's getaddrinfo, waiting for a name's answer in the event loop
        instead of blocking it (asyncio's loop.getaddrinfo)."""
        s = self.sockets
        port = s._info_port(family, port)
        if host is None:
            return s.getaddrinfo(None, port, family, type, proto)
        q = s._query(host, flags)
        if not isinstance(q, list):
            await self._resolved(q)
            q = _bsock.answer(q)
        return s._addrinfo(q, port, type, proto)

    async def _resolved(self, q):
        """Wait for a dns.Lookup to finish: the pump steps the stack, which polls the
        resolver, whose Lookup signals when it is done."""
        ev = asyncio.Event()
        q.on_event = lambda _: ev.set()
        pump = self.pump
        pump.start()
        self.waiting += 1
        pump.waiting += 1
        try:
            while not q.done:
                pump.kick()
                await ev.wait()
                ev.clear()
        finally:
            q.on_event = None
            self.waiting -= 1
            pump.waiting -= 1

    async def open_connection(self, host=None, port=None, limit=_LIMIT, ssl=None):
        """-> (reader, writer), one Stream; OSError (ConnectionRefusedError...) on failure,
        gaierror for a name that does not resolve."""
        if ssl:
            raise oserror(EOPNOTSUPP)
        self.start()
        if host:
            host = (await self.getaddrinfo(host, port, AF_INET, SOCK_STREAM))[0][4][0]
        sock = self._socket(SOCK_STREAM)
        try:
            try:
                sock.connect((host, port))
            except OSError as e:
                if e.errno != EINPROGRESS:
                    raise
            st = Stream(self, sock, limit)
            await st._ready(POLLOUT)
            e = sock.getsockopt(SOL_SOCKET, SO_ERROR)
            if e:
                raise oserror(e)
        except BaseException:
            sock.close()      # cancelled or failed: the half-open connection goes too
            self.kick()
            raise
        return st, st

    async def start_server(self, client_connected_cb, host=None, port=None, backlog=100,
                           limit=_LIMIT, ssl=None):
        """-> a Server accepting on (host, port); cb(reader, writer) runs per connection (a
        coroutine function's coroutine as its own task)."""
        if ssl:
            raise oserror(EOPNOTSUPP)
        self.start()
        sock = self._socket(SOCK_STREAM)
        try:
            sock.bind(("" if host is None else host, port or 0))
            sock.listen(backlog)
        except BaseException:
            sock.close()
            raise
        return Server(self, sock, client_connected_cb, limit)

    async def open_datagram(self, local_addr=None, remote_addr=None):
        """-> a Datagram endpoint bound to local_addr (any address, an ephemeral port by
        default), connected to remote_addr if given (then only its datagrams arrive)."""
        self.start()
        sock = self._socket(SOCK_DGRAM)
        try:
            sock.bind(local_addr or ("", 0))
            if remote_addr is not None:
                sock.connect(remote_addr)
        except BaseException:
            sock.close()
            raise
        return Datagram(self, sock)


class _Waitable:
    """A socket whose endpoint's readiness wakes the tasks awaiting it."""

    def __init__(self, net, sock):
        self._net = net
        self._sock = sock
        self._ev = asyncio.Event()
        sock._ep.on_event = self._on_event

    def _on_event(self, ep):
        # readiness.py: inside the stack's step, only take note
        self._ev.set()

    async def _until(self, done):
        """Wait until done() is true, re-checked at every event of the endpoint."""
        net = self._net
        pump = net.pump
        pump.start()
        while not done():
            self._ev.clear()
            net.waiting += 1
            pump.waiting += 1
            pump.kick()           # the pump re-decides how to wait now that a task waits
            try:
                await self._ev.wait()
            finally:
                net.waiting -= 1
                pump.waiting -= 1

    def _ready(self, mask):
        s = self._sock
        mask |= POLLERR | POLLHUP
        return self._until(lambda: s._closed or s._poll() & mask)

    def get_extra_info(self, name, default=None):
        s = self._sock
        try:
            if name == "peername":
                return s.getpeername()
            if name == "sockname":
                return s.getsockname()
        except OSError:
            return default
        if name == "socket":
            return s
        return default


class Stream(_Waitable):
    """A TCP connection as CPython's StreamReader + StreamWriter and MicroPython's Stream."""

    def __init__(self, net, sock, limit=_LIMIT):
        _Waitable.__init__(self, net, sock)
        self._limit = limit
        self._rbuf = b""
        self._eof = False
        # Written, not yet taken by the TCP send buffer: the chunks as written (joining them
        # would copy the backlog at every write, and fragment a MicroPython heap), the bytes
        # of the first already taken, and their total
        self._out = []
        self._off = 0
        self._outlen = 0
        self._after = 0        # _DONE / _EOF once close() / write_eof() wait for _out
        self._closing = False
        self._exc = None       # the error that ended the connection while writing

    def _on_event(self, ep):
        self._ev.set()
        if self._out or self._after:
            pump = self._net.pump
            pump.dirty.append(self)
            pump.kick()

    # -- reading -------------------------------------------------------------------------

    async def _fill(self):
        """Read what has arrived into the buffer: False at the end of the stream."""
        if self._eof:
            return False
        await self._ready(POLLIN)
        if self._sock._closed:
            self._eof = True          # closed under a reader: CPython feeds it EOF
            return False
        d = self._sock.recv(_CHUNK)
        self._net.kick()              # the window opened: the stack may owe an update
        if not d:
            self._eof = True
            return False
        self._rbuf += d
        return True

    def _take(self, n):
        d = self._rbuf[:n]
        self._rbuf = self._rbuf[n:]
        return d

    async def read(self, n=-1):
        if n < 0:
            while await self._fill():
                pass
            return self._take(len(self._rbuf))
        if n and not self._rbuf:
            await self._fill()
        return self._take(n)

    async def readinto(self, buf):
        if not self._rbuf:
            await self._fill()
        d = self._take(len(buf))
        buf[:len(d)] = d
        return len(d)

    async def readexactly(self, n):
        while len(self._rbuf) < n:
            if not await self._fill():
                raise _incomplete(self._take(len(self._rbuf)), n)
        return self._take(n)

    async def _line(self, sep):
        """-> (the bytes up to and with sep, True), or (what the stream ended with, False)."""
        start = 0
        while True:
            i = self._rbuf.find(sep, start)
            if i >= 0:
                return self._take(i + len(sep)), True
            start = max(0, len(self._rbuf) - len(sep) + 1)
            if len(self._rbuf) > self._limit:
                raise _overrun(len(self._rbuf))
            if not await self._fill():
                return self._take(len(self._rbuf)), False

    async def readuntil(self, separator=b"\n"):
        d, found = await self._line(separator)
        if not found:
            raise _incomplete(d, None)
        return d

    async def readline(self):
        """A line with its b"\n", what is left at the end of the stream, or b"" after it."""
        try:
            return (await self._line(b"\n"))[0]
        except _Overrun:
            # CPython: the buffer is dropped, and readline says ValueError
            self._rbuf = b""
            raise ValueError("Separator is not found, and chunk exceed the limit")

    def at_eof(self):
        return self._eof and not self._rbuf

    # -- writing -------------------------------------------------------------------------

    def write(self, data):
        if self._closing or self._after:
            return    # CPython's transport drops writes after close (it warns, then drops)
        if len(data):
            self._out.append(bytes(data))    # the caller may reuse its buffer
            self._outlen += len(data)
            self._flush()

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def _flush(self):
        """Give the TCP send buffer what it takes now; once all is out, a pending
        close()/write_eof() happens. A connection that failed keeps its error for drain()."""
        s = self._sock
        moved = False
        try:
            while self._out and not s._closed and s._poll() & POLLOUT:
                c = self._out[0]
                n = s.send(memoryview(c)[self._off:] if self._off else c)
                self._outlen -= n
                self._off += n
                if self._off == len(c):
                    self._out.pop(0)
                    self._off = 0
                moved = True
        except OSError as e:
            self._exc = e
            self._out = []
            self._off = self._outlen = 0
        if not self._out and self._after and not s._closed:
            if self._after == _DONE:
                s.close()
            else:
                s.shutdown(SHUT_WR)
            self._after = 0
            moved = True
        if moved:
            self._ev.set()            # drain() and wait_closed() look again
        self._net.kick()

    async def drain(self):
        if self._outlen > _HIGH:
            await self._until(lambda: self._outlen <= _LOW or self._exc is not None
                              or self._sock._closed)
        if self._exc is not None:
            raise self._exc

    def can_write_eof(self):
        return True

    def write_eof(self):
        if not self._closing:
            self._after = _EOF
            self._flush()

    # -- ending --------------------------------------------------------------------------

    def close(self):
        """Close once the written data is out (CPython's transport close)."""
        if not self._closing:
            self._closing = True
            self._after = _DONE
            self._flush()

    def is_closing(self):
        return self._closing

    async def wait_closed(self):
        await self._until(lambda: self._sock._closed or self._exc is not None)

    # MicroPython's Stream
    async def awrite(self, buf, off=0, sz=-1):
        if off or sz != -1:
            buf = memoryview(buf)[off:None if sz == -1 else off + sz]
        self.write(buf)
        await self.drain()

    async def awritestr(self, s):
        await self.awrite(s.encode())

    async def aclose(self):
        self.close()
        await self.wait_closed()


class Server(_Waitable):
    """A listening socket and the task that accepts on it (CPython's and MicroPython's
    asyncio Server: close, wait_closed, async with; CPython's sockets, is_serving,
    serve_forever). Connections already accepted stay open when it closes."""

    def __init__(self, net, sock, cb, limit):
        _Waitable.__init__(self, net, sock)
        self._cb = cb
        self._limit = limit
        self._handlers = {}    # n -> the task running cb's coroutine (asyncio keeps weak refs)
        self._n = 0
        self.task = asyncio.create_task(self._serve())

    async def _serve(self):
        s = self._sock
        net = self._net
        while True:
            await self._ready(POLLIN)
            if s._closed:
                return
            while s._poll() & POLLIN:
                c, _ = s.accept()
                c.setblocking(False)
                st = Stream(net, c, self._limit)
                r = self._cb(st, st)
                if r is not None:
                    self._n += 1
                    self._handlers[self._n] = asyncio.create_task(self._handle(self._n, r))
            net.kick()

    async def _handle(self, n, coro):
        try:
            await coro
        finally:
            del self._handlers[n]

    @property
    def sockets(self):
        return () if self._sock._closed else (self._sock,)

    def is_serving(self):
        return not self._sock._closed

    async def start_serving(self):
        pass

    async def serve_forever(self):
        try:
            await self._until(lambda: self._sock._closed)
        finally:
            self.close()      # CPython: a cancelled serve_forever closes the server

    def close(self):
        if not self._sock._closed:
            self._sock.close()
            self._ev.set()        # the accepting task sees it and ends
            self._net.kick()

    async def wait_closed(self):
        await self._until(lambda: self._sock._closed)

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        self.close()
        await self.wait_closed()


class Datagram(_Waitable):
    """A UDP endpoint: await recvfrom() -> (data, (host, port)); sendto(data, addr) (addr
    None on a connected one); close(). An ICMP error on a connected endpoint is raised by the
    next recvfrom (ConnectionRefusedError...), as Linux reports it."""

    async def recvfrom(self, n=65535):
        await self._ready(POLLIN)
        return self._sock.recvfrom(n)

    def sendto(self, data, addr=None):
        if addr is None:
            n = self._sock.send(data)
        else:
            n = self._sock.sendto(data, addr)
        self._net.kick()
        return n

    def close(self):
        self._sock.close()
        self._ev.set()
        self._net.kick()


# -- the drop-in -------------------------------------------------------------------------

_default = None
_saved = {}      # asyncio's attributes install() replaced


def install(sockets=None):
    """asyncio.open_connection / start_server (and module-level ones here) over sockets (a
    barenet.socket.Sockets; default: the one barenet.socket.install made). -> the Net."""
    global _default
    _default = Net(sockets if sockets is not None else _bsock._net())
    for name, fn in (("open_connection", open_connection), ("start_server", start_server)):
        if name not in _saved:
            _saved[name] = getattr(asyncio, name, None)
        setattr(asyncio, name, fn)
    return _default


def uninstall():
    """Undo install(): asyncio's own functions again; the pump stops."""
    global _default
    for name, fn in _saved.items():
        setattr(asyncio, name, fn)
    _saved.clear()
    if _default is not None:
        _default.stop()
    _default = None


def _net():
    if _default is None:
        raise OSError("barenet.aio: call install() first")
    return _default


async def open_connection(host=None, port=None, limit=_LIMIT, ssl=None):
    return await _net().open_connection(host, port, limit, ssl)


async def start_server(client_connected_cb, host=None, port=None, backlog=100, limit=_LIMIT,
                       ssl=None):
    return await _net().start_server(client_connected_cb, host, port, backlog, limit, ssl)


async def open_datagram(local_addr=None, remote_addr=None):
    return await _net().open_datagram(local_addr, remote_addr)
