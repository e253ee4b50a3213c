"""BSD sockets over barenet's endpoints, mirroring CPython's `socket` and MicroPython's.

    net = Sockets(stack, driver)           # or install(stack, driver): module-level socket()
    s = net.socket(net.AF_INET, net.SOCK_STREAM)
    s.settimeout(5); s.connect(("192.0.2.1", 7)); s.sendall(b"hi"); s.recv(100); s.close()

One class per endpoint kind (`_KINDS`, keyed by (family, type)): `StreamSocket` over a TCP
connection or listener, `DatagramSocket` over a UDP endpoint. `Socket` holds what they share
(timeouts, blocking, closing, options common to every socket); `RawSocket` (rawsock.py, over
raw.py) and the AF_UNIX sockets (unixsock.py, over local.py) are further subclasses there.

Blocking (issue 9 item 4). The core is sans-I/O, so a blocking call cannot sleep: it drives
the stack. A call first tries its operation; if that cannot complete it asks the *driver* to
run the stack and wait for the next event, then tries again, until it completes or its
timeout passes. The driver interface, which every runtime implements once:

    driver.now() -> ms        the runtime's clock, on the wrapping ticks scale (ticks.py)
    driver.step(timeout_ms)   run one loop step (barenet/loop.py Loop.step) and wait for the
                              next event (a frame, the next timer) or timeout_ms, whichever
                              is first; timeout_ms None: no limit but the stack's own timers

Implementations: `barenet_host.vwire.SimDriver` (the simulator: waiting is a jump of the
virtual clock), `barenet_host.runner.RunnerDriver` (the host: the Runner's select); a board
waits with time.ticks_ms / machine.idle (firmware, later). A non-blocking call (timeout 0, or
MSG_DONTWAIT) runs one step without waiting before it reports EAGAIN, so a polling loop on a
single-threaded board still moves the stack. Between calls nothing steps the stack but its
runner: data a sendall() queued goes out while some call waits, or while the program's loop
runs (Runner.run, the firmware's loop), as with any sans-I/O core.

Threads (CPython): `barenet_host.threaded.StackThread` runs the stack in its own thread. A
driver with a `guard(cls)` method makes every socket's class a subclass whose public methods
take its lock (in Socket.__init__, so every kind and every accepted socket has it, and in
Sockets.__init__; other drivers pay nothing); its step(timeout) waits on a condition that the
endpoints' `on_event` (readiness.py) signals. A driver with `fileno(sock)` gives sockets a
real fd for select/poll/selectors; without one fileno() raises io.UnsupportedOperation, as an
io object without an fd does (MicroPython: OSError(EOPNOTSUPP); its poll uses ioctl).

Errors are the runtime's: OSError with Linux errno values (compat.py), which CPython turns into
its subclasses (ConnectionRefusedError, BrokenPipeError, BlockingIOError...); a timeout raises
`timeout` (TimeoutError on CPython, OSError(ETIMEDOUT) on MicroPython, as each runtime does).
"""

from . import ticks
from .addr import ANY, LIMITED_BROADCAST, ip_aton, ip_ntoa
from .compat import oserror, timeout_error, EADDRINUSE, EADDRNOTAVAIL, EAGAIN, \
    EALREADY, EBADF, EDESTADDRREQ, EINPROGRESS, EINVAL, EISCONN, ENOTCONN, ENOPROTOOPT, \
    ECONNABORTED, EMSGSIZE, EOPNOTSUPP, EPIPE, EACCES, EAFNOSUPPORT, EPROTONOSUPPORT
from .compat import timeout as _timeout
from . import eai as _dns
from .tcp.state import SYN_SENT, SYN_RECEIVED, ESTABLISHED, FIN_WAIT_1, CLOSING, LAST_ACK
import struct as _struct

error = OSError
timeout = _timeout


class gaierror(OSError):
    """A name that did not resolve: (EAI code, message), CPython's socket.gaierror."""


def _gaierror(code):
    return gaierror(code, _dns.MESSAGES.get(code, "Unknown error"))


def answer(q):
    """A finished dns.Lookup's addresses, or its gaierror."""
    if q.error:
        raise _gaierror(q.error)
    return q.addresses

# CPython's "no timeout given" marker: http.client and others pass it on to create_connection
_GLOBAL_DEFAULT_TIMEOUT = object()

# Linux's values, which CPython's socket module has on Linux
AF_UNIX = 1
AF_INET = 2
SOCK_STREAM = 1
SOCK_DGRAM = 2
SOCK_RAW = 3
IPPROTO_IP = 0
IPPROTO_ICMP = 1
IPPROTO_RAW = 255
IPPROTO_TCP = 6
IPPROTO_UDP = 17
SOL_SOCKET = 1
SO_REUSEADDR = 2
SO_TYPE = 3       # ssl imports it (getsockopt does not know it yet)
SO_ERROR = 4
SO_BROADCAST = 6
SO_SNDBUF = 7
SO_RCVBUF = 8
SO_KEEPALIVE = 9
SO_OOBINLINE = 10
SO_LINGER = 13
TCP_NODELAY = 1
TCP_KEEPIDLE = 4
TCP_KEEPINTVL = 5
TCP_KEEPCNT = 6
TCP_USER_TIMEOUT = 18
TCP_CONGESTION = 13     # its value: tcp/algorithms.py, loaded by the sockets that use it
IP_TTL = 2
IP_HDRINCL = 3
MSG_OOB = 1
MSG_PEEK = 2
MSG_DONTWAIT = 0x40
MSG_WAITALL = 0x100
SHUT_RD = 0
SHUT_WR = 1
SHUT_RDWR = 2
INADDR_ANY = 0
AI_NUMERICHOST = 4
EAI_NONAME = _dns.EAI_NONAME
EAI_AGAIN = _dns.EAI_AGAIN
EAI_FAIL = _dns.EAI_FAIL
EAI_NODATA = _dns.EAI_NODATA
EAI_FAMILY = _dns.EAI_FAMILY
EAI_SERVICE = _dns.EAI_SERVICE
SOMAXCONN = 4096  # Linux's net.core.somaxconn; the stack clamps to cfg.somaxconn
# MicroPython stream ioctl (py/stream.h) and poll flags (the Linux values)
_MP_STREAM_POLL = 3
_MP_STREAM_CLOSE = 4
POLLIN = 0x1
POLLOUT = 0x4
POLLERR = 0x8
POLLHUP = 0x10

_UDP_MAX = 65535 - 20 - 8     # the largest UDP payload IPv4 can carry (EMSGSIZE beyond)
# Linux's defaults: a keep-alive switched on with SO_KEEPALIVE alone probes after 2 h idle,
# every 75 s, 9 times (net.ipv4.tcp_keepalive_*; RFC 1122 4.2.3.6 asks for >= 2 h)
_KEEP_DEFAULTS = (7200, 75, 9)
_ONCE = 0      # a timeout of 0: try once, without waiting
_CLOSING = (FIN_WAIT_1, CLOSING, LAST_ACK)   # our FIN not yet acknowledged (Linux closing())


def _part(p):
    # one part of an inet_aton(3) address: decimal, octal after a 0, hex after 0x
    if p[:2] in ("0x", "0X"):
        digits, base = p[2:], 16
    elif len(p) > 1 and p[0] == "0":
        digits, base = p[1:], 8
    else:
        digits, base = p, 10
    if not digits or (base != 16 and not digits.isdigit()):
        raise ValueError(p)
    return int(digits, base)


def inet_aton(s):
    """The C library's inet_aton(3), as CPython calls it: a, a.b, a.b.c or a.b.c.d, each part
    decimal, octal or hex, the last filling the bytes left ("127.1" is 127.0.0.1); what follows
    a space is ignored."""
    if not isinstance(s, str):
        raise TypeError("inet_aton() argument 1 must be str")
    for sp in " \t\n":
        s = s.split(sp, 1)[0]
    try:
        parts = [_part(p) for p in s.split(".")]
    except ValueError:
        raise oserror(EINVAL)
    n = len(parts)
    if not 1 <= n <= 4 or parts[-1] >= 1 << (8 * (5 - n)) or max(parts[:-1] or [0]) > 255:
        raise oserror(EINVAL)
    v = parts[-1]
    for i in range(n - 1):
        v |= parts[i] << (8 * (3 - i))
    return v.to_bytes(4, "big")


def inet_ntoa(b):
    if len(b) != 4:
        raise oserror(EINVAL)
    return ip_ntoa(b)


def inet_pton(family, s):
    """Strict dotted quad, as inet_pton(3): four decimal parts, no leading zeros."""
    if family != AF_INET:
        raise oserror(EAFNOSUPPORT)
    parts = s.split(".") if isinstance(s, str) else ()
    for p in parts:
        if not p.isdigit() or (len(p) > 1 and p[0] == "0"):
            raise oserror(EINVAL)
    try:
        return ip_aton(s)
    except (ValueError, AttributeError):
        raise oserror(EINVAL)


def inet_ntop(family, b):
    if family != AF_INET:
        raise oserror(EAFNOSUPPORT)
    if len(b) != 4:
        raise ValueError("invalid length of packed IP address string")
    return ip_ntoa(b)


def _addr(address, net=None):
    """(host, port) -> (4 bytes, port); "" and "0.0.0.0" are any address. With net (a
    Sockets), a host name is resolved through its DNS resolver, as CPython's connect() and
    sendto() do; without, only numeric addresses are taken."""
    if not isinstance(address, tuple) or len(address) != 2:
        raise TypeError("AF_INET address must be a tuple (host, port)")
    host, port = address
    if not isinstance(port, int):
        raise TypeError("port must be an int")
    if not 0 <= port < 65536:
        # CPython checks the range itself, before the kernel sees it
        raise OverflowError("port must be 0-65535.")
    if host == "":
        return ANY, port
    if net is not None:
        return net._resolve(host), port
    return inet_aton(host), port   # numeric as getaddrinfo reads it (inet_aton's forms)


def _no_fd():
    try:
        from io import UnsupportedOperation
    except ImportError:   # MicroPython: its sockets are polled through ioctl, not an fd
        return oserror(EOPNOTSUPP)
    return UnsupportedOperation("fileno: a barenet socket has an fd only with a threaded "
                                "driver (barenet_host.threaded.StackThread)")


def _or_none(fn, *args):
    # MicroPython's stream methods (read, readinto, write) say "not now" with None, which its
    # C stream layer turns into EAGAIN for callers that want the error (mcu-facts.md 2(b))
    try:
        return fn(*args)
    except OSError as e:
        if e.errno == EAGAIN:
            return None
        raise


try:
    from io import RawIOBase as _RawIOBase
    _Stream = object
except ImportError:  # MicroPython: its select.poll and asyncio take only io.IOBase streams
    _RawIOBase = None
    try:
        from io import IOBase as _Stream
    except ImportError:   # a port built without MICROPY_PY_IO_IOBASE
        _Stream = object


class Socket(_Stream):
    """What every kind of socket shares: timeout and blocking, closing, the options that are
    the socket's own. Subclasses provide `_poll()` (POLLIN/OUT/ERR/HUP now) and `_close()`."""

    def __init__(self, net, family, type, proto):
        self._net = net
        self.family = family
        self.type = type
        self.proto = proto
        self._timeout = net.default_timeout
        self._ep = None
        self._closed = False
        self._io_refs = 0         # makefile() streams open (CPython's _io_refs)
        self._close_asked = False
        self._err = 0             # SO_ERROR: an error not yet reported by a call
        self._opts = {}           # (level, name) -> value of the options kept here
        if net._guard is not None:
            self.__class__ = net._guard(self.__class__)   # a threaded driver's lock (see above)

    # -- modes ---------------------------------------------------------------------------

    def settimeout(self, t):
        if t is not None:
            t = float(t)
            if t < 0:
                raise ValueError("Timeout value out of range")
        self._timeout = t

    def gettimeout(self):
        return self._timeout

    def setblocking(self, flag):
        self._timeout = None if flag else 0.0

    def getblocking(self):
        return self._timeout != 0.0

    def _wait(self, attempt, flags=0, start=None):
        """Run attempt() (-> a result, or None: not yet) until it gives a result, driving the
        stack in between; EAGAIN for a non-blocking call, timeout when the timeout passes
        (counted from start, the driver's time when the whole call began, if given)."""
        r = attempt()
        if r is not None:
            return r
        drv = self._net.driver
        t = self._timeout
        if t == 0.0 or flags & MSG_DONTWAIT:
            drv.step(_ONCE)       # the stack moves even for a caller that only polls
            r = attempt()
            if r is None:
                raise oserror(EAGAIN)
            return r
        if start is None:
            start = drv.now()
        limit = None if t is None else int(t * 1000)
        while True:
            left = None
            if limit is not None:
                left = limit - ticks.diff(drv.now(), start)
                if left <= 0:
                    raise timeout_error()
            drv.step(left)
            r = attempt()
            if r is not None:
                return r

    # -- ending --------------------------------------------------------------------------

    def close(self):
        # CPython: while makefile() streams are open the socket closes only with the last of
        # them (socket.py _io_refs), so http.client can close its socket and go on reading
        # the response through the stream
        self._close_asked = True
        if not self._closed and self._io_refs <= 0:
            self._closed = True
            self._close()
            self._ep = None

    def _decref_socketios(self):
        if self._io_refs > 0:
            self._io_refs -= 1
        if self._close_asked:
            self.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _check(self):
        if self._closed:
            raise oserror(EBADF)

    # -- options -------------------------------------------------------------------------

    def setsockopt(self, level, name, value):
        self._check()
        key = (level, name)
        if key == (SOL_SOCKET, SO_LINGER) and key in self._optnames():
            self._opts[key] = _linger(value)
            return
        if key == (IPPROTO_TCP, TCP_CONGESTION) and key in self._optnames():
            from .tcp import algorithms
            self._opts[key] = algorithms.parse(value)
            self._apply()
            return
        if not isinstance(value, int):
            raise oserror(EINVAL)
        if key not in self._optnames():
            raise oserror(ENOPROTOOPT)
        if key == (SOL_SOCKET, SO_ERROR):
            raise oserror(ENOPROTOOPT)
        if key in ((SOL_SOCKET, SO_RCVBUF), (SOL_SOCKET, SO_SNDBUF)):
            # Set before connect() or listen(), they size the connection's buffers (see
            # _buffers); Linux doubles the value for its bookkeeping, barenet's buffers hold
            # data only, so the value is kept as given, within [_BUF_MIN, the profile's]
            value = min(max(value, _BUF_MIN), self._bufsize_max(name))
        elif key == (IPPROTO_IP, IP_TTL):
            if value == -1:
                value = self._net.stack.cfg.ttl    # Linux: -1 restores the default
            elif not 1 <= value <= 255:
                raise oserror(EINVAL)
        elif key == (IPPROTO_TCP, TCP_USER_TIMEOUT):
            if value < 0:
                raise oserror(EINVAL)   # ms, 0 for none (Linux: any int >= 0)
        elif key[0] == IPPROTO_TCP and key != (IPPROTO_TCP, TCP_NODELAY):
            if value < 1 or value > (127 if name == TCP_KEEPCNT else 32767):
                raise oserror(EINVAL)   # Linux's limits (MAX_TCP_KEEP*)
        else:
            value = 1 if value else 0
        self._opts[key] = value
        self._apply()

    def getsockopt(self, level, name, buflen=0):
        self._check()
        key = (level, name)
        if key == (SOL_SOCKET, SO_LINGER) and key in self._optnames():
            # Linux copies as much of struct linger as asked for: an int is l_onoff
            onoff, secs = self._opts.get(key, (0, 0))
            if not buflen:
                return onoff
            return _struct.pack("ii", onoff, secs)[:buflen]
        if key == (IPPROTO_TCP, TCP_CONGESTION) and key in self._optnames():
            from .tcp import algorithms
            return algorithms.field(self._conn(), self._opts.get(key),
                                    self._net.stack.cfg.congestion, buflen)
        if buflen or key not in self._optnames():
            raise oserror(ENOPROTOOPT)
        if key == (SOL_SOCKET, SO_ERROR):
            e = self._err
            self._err = 0
            return e
        if key == (SOL_SOCKET, SO_RCVBUF) or key == (SOL_SOCKET, SO_SNDBUF):
            return self._bufsize(name)
        if key == (IPPROTO_IP, IP_TTL):
            return self._opts.get(key, self._net.stack.cfg.ttl)
        if key[0] == IPPROTO_TCP and TCP_KEEPIDLE <= name <= TCP_KEEPCNT:
            return self._opts.get(key, _KEEP_DEFAULTS[name - TCP_KEEPIDLE])
        return self._opts.get(key, 0)

    def _optnames(self):
        return _SOCKET_OPTS

    def _apply(self):
        """Push the options kept here to the endpoint, once there is one."""

    def _bufsize(self, name):
        return self._opts.get((SOL_SOCKET, name), self._bufsize_max(name))

    def _bufsize_max(self, name):
        cfg = self._net.stack.cfg
        return cfg.rcvbuf if name == SO_RCVBUF else cfg.sndbuf

    def _buffers(self):
        """(rcvbuf, sndbuf) for a new connection, None when neither option was set."""
        o = self._opts
        if (SOL_SOCKET, SO_RCVBUF) in o or (SOL_SOCKET, SO_SNDBUF) in o:
            return self._bufsize(SO_RCVBUF), self._bufsize(SO_SNDBUF)
        return None

    def _ttl(self):
        return self._opts.get((IPPROTO_IP, IP_TTL))

    def fileno(self):
        if self._closed:
            return -1
        fileno = getattr(self._net.driver, "fileno", None)
        if fileno is None:
            raise _no_fd()
        return fileno(self)

    # -- MicroPython's stream protocol ---------------------------------------------------

    def ioctl(self, op, arg):
        if op == _MP_STREAM_POLL:
            self._net._move()
            return self._poll() & (arg | POLLERR | POLLHUP)
        if op == _MP_STREAM_CLOSE:
            self.close()
            return 0
        return -1

    def __repr__(self):
        return "<barenet.socket family=%d type=%d%s>" % (
            self.family, self.type, " [closed]" if self._closed else "")


_SOCKET_OPTS = ((SOL_SOCKET, SO_REUSEADDR), (SOL_SOCKET, SO_ERROR), (SOL_SOCKET, SO_BROADCAST),
                (SOL_SOCKET, SO_SNDBUF), (SOL_SOCKET, SO_RCVBUF), (SOL_SOCKET, SO_KEEPALIVE),
                (SOL_SOCKET, SO_OOBINLINE), (SOL_SOCKET, SO_LINGER), (IPPROTO_IP, IP_TTL))
_TCP_OPTS = _SOCKET_OPTS + ((IPPROTO_TCP, TCP_NODELAY), (IPPROTO_TCP, TCP_KEEPIDLE),
                            (IPPROTO_TCP, TCP_KEEPINTVL), (IPPROTO_TCP, TCP_KEEPCNT),
                            (IPPROTO_TCP, TCP_USER_TIMEOUT), (IPPROTO_TCP, TCP_CONGESTION))
_BUF_MIN = 2048     # the least SO_RCVBUF/SO_SNDBUF gives (Linux: SOCK_MIN_RCVBUF, 2048 + overhead)


def _linger(value):
    # struct linger {int l_onoff; int l_linger;}: Linux wants all of it (EINVAL otherwise);
    # a negative time is Linux's "for ever" (MAX_SCHEDULE_TIMEOUT)
    if isinstance(value, int) or len(value) < 8:
        raise oserror(EINVAL)
    onoff, secs = _struct.unpack("ii", bytes(value[:8]))
    return (1 if onoff else 0), secs


class StreamSocket(Socket):
    """SOCK_STREAM over TCP: _ep is None, a tcp.Listener, or a TCPConnection."""

    def __init__(self, net, family, type, proto, conn=None):
        Socket.__init__(self, net, family, type, proto)
        self._bound = None            # (4-byte address, port) once bound
        self._listening = False
        self._rd_shut = False
        # Linux's sock->state SS_CONNECTING: left by a connect() that returned before the
        # outcome (non-blocking, or CPython's timeout mode, which is non-blocking inside). The
        # next connect() only reports the outcome: 0, or ECONNABORTED after a failure whose
        # errno SO_ERROR (CPython reads it) already took.
        self._connecting = False
        if conn is not None:
            self._ep = conn
            self._bound = (conn.lip, conn.lport)

    def _optnames(self):
        return _TCP_OPTS

    def _conn(self):
        self._check()
        if self._listening:
            return None
        return self._ep

    # -- setting up ----------------------------------------------------------------------

    def bind(self, address):
        self._check()
        a, port = _addr(address)
        if self._bound is not None:
            raise oserror(EINVAL)
        net = self._net
        if a != ANY and not net.stack.ip.is_local(a):
            raise oserror(EADDRNOTAVAIL)
        tcp = net.stack.tcp
        if port == 0:
            port = net._tcp_port(tcp)
        elif port in net._tcp_bound or port in tcp.listeners:
            raise oserror(EADDRINUSE)     # one bound socket per port
        elif tcp.port_in_use(port) and not (self._reuse() and port in net._reuse_ports):
            # Linux (inet_csk_bind_conflict): the connections left on a port (accepted ones,
            # TIME_WAIT) keep the SO_REUSEADDR of the socket they came from, and a new
            # socket may share the port with them only if both set it
            raise oserror(EADDRINUSE)
        net._tcp_bound[port] = self
        self._bound = (a, port)
        self._apply()

    def listen(self, backlog=SOMAXCONN):
        self._check()
        if self._listening:
            return
        if self._ep is not None:
            raise oserror(EINVAL)     # Linux: a connected socket cannot listen
        if self._bound is None:
            self.bind(("", 0))
        a, port = self._bound
        tcp = self._net.stack.tcp
        b = self._buffers()
        self._ep = tcp.listen(port, max(backlog, 1), None if a == ANY else a)
        self._ep.buffers = b
        self._listening = True

    def accept(self):
        self._check()
        if not self._listening:
            raise oserror(EINVAL)
        conn = self._wait(self._ep.accept)
        s = StreamSocket(self._net, self.family, self.type, self.proto, conn)
        # Linux: an accepted socket inherits the listener's options; CPython makes it
        # blocking whatever the listener's timeout (socket.accept, default timeout None)
        s._opts = dict(self._opts)
        s._apply()
        return s, (ip_ntoa(conn.rip), conn.rport)

    def connect(self, address):
        e = self._connect(address)
        if e:
            raise oserror(e)

    def connect_ex(self, address):
        try:
            return self._connect(address)
        except OSError as e:
            # CPython returns every errno of the connect itself; a timeout is EWOULDBLOCK
            return EAGAIN if e.errno is None else e.errno

    def _connect(self, address):
        """-> 0 or the errno of a failed connection; raises for misuse and non-blocking."""
        self._check()
        a, port = _addr(address, self._net)
        if self._listening:
            raise oserror(EISCONN)
        c = self._ep
        if self._connecting and (c is None or c.error or c.state >= ESTABLISHED):
            self._connecting = False
            if c is None:
                return ECONNABORTED
            return self._failed() if c.error else 0
        if c is None:
            if a == ANY:
                a = ip_aton("127.0.0.1")   # Linux: connecting to any address means loopback
            stack = self._net.stack
            src_port = 0 if self._bound is None else self._bound[1]
            c = stack.tcp.connect(a, port, src_port)
            b = self._buffers()
            if b is not None:
                c.set_buffers(*b)       # the SYN leaves at the next poll, with this window
            self._ep = c
            self._err = 0
            self._apply()
            if self._bound is None or self._bound[0] == ANY:
                self._bound = (c.lip, c.lport)
            self._connecting = self._timeout is not None
            if self._timeout == 0.0:
                raise oserror(EINPROGRESS)
        elif c.state >= ESTABLISHED or c.error:
            if c.error and c.state < ESTABLISHED:
                return self._failed()
            raise oserror(EISCONN)
        elif self._timeout == 0.0:
            raise oserror(EALREADY)
        self._wait(self._connected)
        if c.error and c.state < ESTABLISHED:
            return self._failed()
        return 0

    def _connected(self):
        c = self._ep
        if c.error or c.state >= ESTABLISHED:
            return True
        return None

    def _failed(self):
        # A failed connection attempt is reported once, and the socket may connect again
        # (Linux); its port stays bound if bind() chose it.
        e = self._ep.error
        self._ep = None
        self._err = 0
        return e

    # -- moving data ---------------------------------------------------------------------

    def send(self, data, flags=0):
        return self._send(data, flags, None)

    def _send(self, data, flags, start):
        c = self._conn()
        if c is None:
            # Linux: sending on a stream that never connected is EPIPE (sk_stream_wait_connect)
            raise oserror(EPIPE)
        if c.state == SYN_SENT or c.state == SYN_RECEIVED:
            self._wait(self._connected, flags, start)
        if not len(data):
            return 0
        oob = bool(flags & MSG_OOB)
        return self._wait(lambda: c.send(data, oob) or None, flags, start)

    def sendall(self, data, flags=0):
        # CPython (3.5+): the timeout bounds the whole call, not each send within it
        start = self._net.driver.now()
        mv = memoryview(data)
        while len(mv):
            n = self._send(mv, flags, start)
            mv = mv[n:]

    def write(self, data, off_or_len=None, n=None):
        """MicroPython's stream write(buf[, len]) or write(buf, off, len): all of it on a
        blocking socket (py/stream.c mp_stream_rw loops), what fits on a non-blocking one,
        None instead of EAGAIN when nothing did."""
        mv = memoryview(data)
        if n is not None:
            mv = mv[off_or_len:off_or_len + n]
        elif off_or_len is not None:
            mv = mv[:off_or_len]
        if self._timeout != 0.0:
            self.sendall(mv)
            return len(mv)
        return _or_none(self.send, mv)

    def recv(self, n, flags=0):
        c = self._conn()
        if c is None:
            raise oserror(ENOTCONN)
        if n < 0:
            raise ValueError("negative buffersize in recv")
        if self._rd_shut or n == 0:
            return b""
        if flags & MSG_OOB:
            b = c.recv(1, oob=True)
            if b is None:
                # Linux never waits for urgent data (tcp_recv_urg): EAGAIN while the byte
                # the peer announced has not arrived, EINVAL when there is none
                raise oserror(EAGAIN if c.urg is not None and c.urg.urg_seq is not None
                              else EINVAL)
            return b
        if c.state == SYN_SENT or c.state == SYN_RECEIVED:
            self._wait(self._connected, flags)
        return self._read(c, n, flags)

    def _read(self, c, n, flags):
        # c.recv(n, peek) -> bytes, b"" at the end, None for not yet (TCP and AF_UNIX alike)
        peek = bool(flags & MSG_PEEK)
        out = self._wait(lambda: c.recv(n, peek=peek), flags)
        if flags & MSG_WAITALL and not peek:
            # MSG_WAITALL: until n bytes, the end of the stream, an error or the timeout
            while 0 < len(out) < n:
                try:
                    more = self._wait(lambda: c.recv(n - len(out)), flags)
                except OSError:
                    return out
                if not more:
                    break
                out += more
        return out

    def recv_into(self, buf, nbytes=0, flags=0):
        n = nbytes or len(buf)
        data = self.recv(n, flags)
        buf[:len(data)] = data
        return len(data)

    def read(self, n=-1):
        """MicroPython's stream read: n bytes, fewer only at the end of the stream or, when
        non-blocking, what had arrived (py/stream.c mp_stream_rw); None when nothing had.
        n < 0 reads to the end of the stream."""
        if n is None or n < 0:
            out = b""
            while True:
                d = self.recv(4096)
                if not d:
                    return out
                out += d
        buf = bytearray(n)
        got = self.readinto(buf)
        return None if got is None else bytes(buf[:got])

    def readinto(self, buf, nbytes=0):
        mv = memoryview(buf)[:nbytes or len(buf)]
        got = 0
        while got < len(mv):
            try:
                k = _or_none(self.recv_into, mv[got:])
            except OSError:
                if not got:
                    raise
                return got     # what arrived before the error or timeout is not lost
            if k is None:
                return got or None
            if not k:
                break
            got += k
        return got

    def readline(self):
        out = b""
        while not out.endswith(b"\n"):
            d = self.recv(1)
            if not d:
                break
            out += d
        return out

    def sendto(self, data, flags_or_addr, addr=None):
        # Linux ignores the address on a stream (EPIPE if it is not connected, as send)
        return self.send(data, 0 if addr is None else flags_or_addr)

    def recvfrom(self, n, flags=0):
        return self.recv(n, flags), None

    def recvfrom_into(self, buf, nbytes=0, flags=0):
        return self.recv_into(buf, nbytes, flags), None

    def makefile(self, mode="r", buffering=None, encoding=None, errors=None, newline=None):
        """CPython's socket.makefile: SocketIO under io's buffered and text layers. Not on
        MicroPython, whose io has no RawIOBase: there the socket is the stream itself."""
        if _RawIOBase is None:
            raise oserror(EOPNOTSUPP)
        import io
        rw = "r" in mode, "w" in mode
        raw = SocketIO(self, ("r" if rw[0] else "") + ("w" if rw[1] else ""))
        self._io_refs += 1
        if buffering == 0:
            if "b" not in mode:
                raise ValueError("unbuffered streams must be binary")
            return raw
        size = io.DEFAULT_BUFFER_SIZE if buffering is None or buffering < 0 else buffering
        if rw[0] and rw[1]:
            buf = io.BufferedRWPair(raw, raw, size)
        elif rw[0]:
            buf = io.BufferedReader(raw, size)
        else:
            buf = io.BufferedWriter(raw, size)
        if "b" in mode:
            return buf
        t = io.TextIOWrapper(buf, encoding, errors, newline)
        t.mode = mode
        return t

    # -- ending --------------------------------------------------------------------------

    def shutdown(self, how):
        c = self._conn()
        if how not in (SHUT_RD, SHUT_WR, SHUT_RDWR):
            raise oserror(EINVAL)
        if c is None:
            raise oserror(ENOTCONN)
        if how != SHUT_WR:
            self._rd_shut = True
        if how != SHUT_RD:
            c.shutdown_write()

    def _close(self):
        ep = self._ep
        if ep is not None:
            onoff, secs = self._opts.get((SOL_SOCKET, SO_LINGER), (0, 0))
            lingering = onoff and not self._listening
            if lingering and secs == 0:
                ep.abort()    # Linux tcp_close: zero linger is an abortive close, a RST
            else:
                ep.close()
                if lingering:
                    self._linger(ep, secs)
        if self._bound is not None and self._net._tcp_bound.get(self._bound[1]) is self:
            del self._net._tcp_bound[self._bound[1]]

    def _linger(self, c, secs):
        # Linux sk_stream_wait_close: wait while our FIN (and the data before it) is not
        # acknowledged, up to the linger time, whether or not the socket is blocking; then
        # close returns and the connection goes on by itself
        self._timeout = None if secs < 0 else float(secs)
        try:
            self._wait(lambda: None if c.state in _CLOSING else True)
        except _timeout:
            pass

    # -- names and options ---------------------------------------------------------------

    def getsockname(self):
        self._check()
        if self._bound is None:
            return ("0.0.0.0", 0)
        return (ip_ntoa(self._bound[0]), self._bound[1])

    def getpeername(self):
        c = self._conn()
        if c is None or c.state <= SYN_SENT:
            raise oserror(ENOTCONN)      # Linux inet_getname: CLOSE or SYN_SENT
        return (ip_ntoa(c.rip), c.rport)

    def getsockopt(self, level, name, buflen=0):
        if (level, name) == (SOL_SOCKET, SO_ERROR) and not self._err:
            c = self._conn()
            if c is not None and c.error and c.state < ESTABLISHED:
                return self._failed()    # a non-blocking connect's outcome
        return Socket.getsockopt(self, level, name, buflen)

    def _bufsize(self, name):
        c = self._conn()
        if c is not None and c.state >= ESTABLISHED:
            return c.rcvbuf.size if name == SO_RCVBUF else c.sndbuf.size
        return Socket._bufsize(self, name)

    def _reuse(self):
        return bool(self._opts.get((SOL_SOCKET, SO_REUSEADDR)))

    def _apply(self):
        b = self._bound
        if b is not None:
            # the port's connections take this socket's SO_REUSEADDR with them (see bind)
            if self._reuse():
                self._net._reuse_ports.add(b[1])
            else:
                self._net._reuse_ports.discard(b[1])
        c = self._conn()
        if c is None:
            return
        o = self._opts
        c.nodelay = bool(o.get((IPPROTO_TCP, TCP_NODELAY)))
        c.oobinline = bool(o.get((SOL_SOCKET, SO_OOBINLINE)))
        c.ttl = self._ttl()
        c.set_user_timeout(o.get((IPPROTO_TCP, TCP_USER_TIMEOUT), 0))
        if (IPPROTO_TCP, TCP_CONGESTION) in o:
            from .tcp import algorithms
            algorithms.set_congestion(c, o[(IPPROTO_TCP, TCP_CONGESTION)])
        if o.get((SOL_SOCKET, SO_KEEPALIVE)):
            idle = self.getsockopt(IPPROTO_TCP, TCP_KEEPIDLE)
            intvl = self.getsockopt(IPPROTO_TCP, TCP_KEEPINTVL)
            cnt = self.getsockopt(IPPROTO_TCP, TCP_KEEPCNT)
            if (c.keep_idle, c.keep_intvl, c.keep_cnt) != (idle * 1000, intvl * 1000, cnt):
                c.keepalive(idle * 1000, intvl * 1000, cnt)
        elif c.keep_idle:
            c.keepalive(0, 0, 0)

    def _poll(self):
        if self._closed:
            return 0
        ep = self._ep
        if ep is None:
            return POLLOUT | POLLHUP    # Linux: an unconnected stream polls as hung up
        if self._listening:
            return POLLIN if ep.readable() else 0
        if ep.error:
            # Linux tcp_poll after tcp_done (reset, refused, timed out): both directions
            # are shut, so every flag is up
            return POLLIN | POLLOUT | POLLERR | POLLHUP
        m = 0
        if ep.readable() or ep.fin_rcvd or self._rd_shut or (ep.urg is not None and
                                                              ep.urg.oob_byte is not None):
            m |= POLLIN
        if ep.writable() and ep.state >= ESTABLISHED:
            m |= POLLOUT
        return m


class DatagramSocket(Socket):
    """SOCK_DGRAM over UDP: _ep is None until bound (bind, or at the first send/connect)."""

    def __init__(self, net, family, type, proto):
        Socket.__init__(self, net, family, type, proto)
        self._peer = None             # (4 bytes, port) after connect()

    def _endpoint(self):
        self._check()
        if self._ep is None:
            self._bind(ANY, 0)        # Linux binds an ephemeral port at the first send
        return self._ep

    def _bind(self, a, port):
        self._ep = self._net.stack.udp.bind(port, None if a == ANY else a)
        self._apply()

    def bind(self, address):
        self._check()
        a, port = _addr(address)
        if self._ep is not None:
            raise oserror(EINVAL)
        self._bind(a, port)

    def connect(self, address):
        a, port = _addr(address)
        ep = self._endpoint()
        if a == ANY:
            a = ip_aton("127.0.0.1")
        self._peer = (a, port)
        ep.error = 0

    def connect_ex(self, address):
        try:
            self.connect(address)
        except OSError as e:
            return e.errno
        return 0

    def sendto(self, data, flags_or_addr, addr=None):
        if addr is None:
            addr, flags = flags_or_addr, 0
        else:
            flags = flags_or_addr
        a, port = _addr(addr, self._net)
        return self._sendto(data, a, port, flags)

    def send(self, data, flags=0):
        self._check()
        if self._peer is None:
            raise oserror(EDESTADDRREQ)
        return self._sendto(data, self._peer[0], self._peer[1], flags)

    def sendall(self, data, flags=0):
        self.send(data, flags)

    def _sendto(self, data, a, port, flags):
        ep = self._endpoint()     # Linux binds first (inet_autobind), even if sending fails
        if port == 0:
            raise oserror(EINVAL)
        if len(data) > _UDP_MAX:
            raise oserror(EMSGSIZE)
        if a == ANY:
            a = ip_aton("127.0.0.1")
        if not self._opts.get((SOL_SOCKET, SO_BROADCAST)) and self._broadcast(a):
            raise oserror(EACCES)     # Linux: broadcasting needs SO_BROADCAST
        return ep.sendto(data, (ip_ntoa(a), port))

    def _broadcast(self, a):
        if a == LIMITED_BROADCAST:
            return True
        for iface in self._net.stack.interfaces:
            if a == getattr(iface, "broadcast", None):
                return True
        return False

    def _take(self, peek):
        """The next datagram for us, or None; a connected socket drops others' (Linux)."""
        ep = self._ep
        if self._peer is None:
            # Linux reports ICMP errors only on connected UDP sockets (without IP_RECVERR)
            ep.error = 0
        while True:
            d = ep.peek() if peek and not ep.error else ep.recvfrom()
            if d is None or self._peer is None:
                return d
            src = d[1]
            if (ip_aton(src[0]), src[1]) == self._peer:
                return d
            if peek:
                ep.recvfrom()

    def recvfrom(self, n, flags=0):
        self._check()
        if n < 0:
            raise ValueError("negative buffersize in recvfrom")
        ep = self._endpoint()
        peek = bool(flags & MSG_PEEK)
        data, src = self._wait(lambda: self._take(peek), flags)
        if ep is not self._ep:
            raise oserror(EBADF)
        return data[:n], src

    def recv(self, n, flags=0):
        return self.recvfrom(n, flags)[0]

    def recvfrom_into(self, buf, nbytes=0, flags=0):
        data, src = self.recvfrom(nbytes or len(buf), flags)
        buf[:len(data)] = data
        return len(data), src

    def recv_into(self, buf, nbytes=0, flags=0):
        return self.recvfrom_into(buf, nbytes, flags)[0]

    def shutdown(self, how):
        self._check()
        if how not in (SHUT_RD, SHUT_WR, SHUT_RDWR):
            raise oserror(EINVAL)
        if self._peer is None:
            raise oserror(ENOTCONN)

    def _close(self):
        if self._ep is not None:
            self._ep.close()

    def getsockname(self):
        self._check()
        ep = self._ep
        if ep is None:
            return ("0.0.0.0", 0)
        a = ep.addr
        if a == ANY and self._peer is not None:
            # Linux: connect() fixes the source address the route gives (ip4_datagram_connect)
            a = self._net.stack.ip.route(self._peer[0])[1]
        return (ip_ntoa(a), ep.port)

    def getpeername(self):
        self._check()
        if self._peer is None:
            raise oserror(ENOTCONN)
        return (ip_ntoa(self._peer[0]), self._peer[1])

    def getsockopt(self, level, name, buflen=0):
        if level == IPPROTO_TCP:
            raise oserror(EOPNOTSUPP)   # Linux: udp_getsockopt passes TCP's level on
        return Socket.getsockopt(self, level, name, buflen)

    def _apply(self):
        if self._ep is not None:
            self._ep.ttl = self._ttl()

    def _poll(self):
        if self._closed:
            return 0
        ep = self._ep
        m = POLLOUT
        if ep is not None and (ep.pending() or ep.error):
            m |= POLLIN
            if ep.error:
                m |= POLLERR
        return m


if _RawIOBase is not None:
    class SocketIO(_RawIOBase):
        """CPython's socket.SocketIO: a raw stream over a stream socket (for makefile).
        Closing it leaves the socket open, as CPython's does, unless the socket's close()
        came first and this was its last stream."""

        def __init__(self, sock, mode):
            _RawIOBase.__init__(self)
            self._sock = sock
            self.mode = mode

        def readable(self):
            return "r" in self.mode

        def writable(self):
            return "w" in self.mode

        def readinto(self, b):
            return self._sock.recv_into(b)

        def write(self, b):
            return self._sock.send(b)

        def close(self):
            if self.closed:
                return
            _RawIOBase.close(self)
            self._sock._decref_socketios()


# (family, type) -> the class of its sockets; rawsock.py (SOCK_RAW) and unixsock.py (AF_UNIX)
# add theirs when imported: on the first such socket (_kind), as most boards open neither and
# the two cost 5.7 KB of heap on a 32-bit board (BENCHMARKS.md, "Memory on boards")
_KINDS = {(AF_INET, SOCK_STREAM): StreamSocket, (AF_INET, SOCK_DGRAM): DatagramSocket}
_PROTOS = {SOCK_STREAM: IPPROTO_TCP, SOCK_DGRAM: IPPROTO_UDP}


def _kind(family, type):
    cls = _KINDS.get((family, type))
    if cls is None and family == AF_UNIX:
        from . import unixsock  # noqa: F401  (registers its classes in _KINDS)
    elif cls is None and type == SOCK_RAW:
        from . import rawsock  # noqa: F401
    else:
        return cls
    return _KINDS.get((family, type))


class Sockets:
    """The socket module of one stack: socket(), create_connection(), getaddrinfo(), the
    constants, errors and address helpers, as CPython's `socket` module has them."""

    def __init__(self, stack, driver):
        self.stack = stack
        self.driver = driver
        self.default_timeout = None
        self._tcp_bound = {}     # port -> the StreamSocket bound to it (bind before listen)
        self._reuse_ports = set()    # ports last bound by a socket with SO_REUSEADDR
        self._guard = getattr(driver, "guard", None)
        self._moved_at = None     # driver.now() of the last step a poll ioctl made
        if self._guard is not None:
            self.__class__ = self._guard(self.__class__)   # a threaded driver's lock

    def socket(self, family=AF_INET, type=SOCK_STREAM, proto=0):
        cls = _kind(family, type)
        if cls is None:
            raise oserror(EAFNOSUPPORT if family != AF_INET else EPROTONOSUPPORT)
        want = _PROTOS.get(type) if family == AF_INET else None
        if proto and want is not None and proto != want:
            raise oserror(EPROTONOSUPPORT)
        return cls(self, family, type, proto or want or 0)

    def socketpair(self, family=AF_UNIX, type=SOCK_STREAM, proto=0):
        """Two connected AF_UNIX sockets, unnamed (socketpair(2); unixsock.py)."""
        from .unixsock import socketpair
        return socketpair(self, family, type, proto)

    def _move(self):
        # MicroPython's select.poll asks each registered object's ioctl, then sleeps; in one
        # thread nothing else runs the stack meanwhile, so the poll moves it: one
        # non-blocking step per ms of the driver's clock, shared by all the sockets polled
        # (the unix port re-polls every 1 ms, mcu-facts.md 2(b)).
        now = self.driver.now()
        if now != self._moved_at:
            self._moved_at = now
            self.driver.step(_ONCE)

    def _tcp_port(self, tcp):
        for _ in range(16384):
            p = tcp._ephemeral(None, None, 0)
            if p not in self._tcp_bound:
                return p
        raise oserror(EADDRINUSE)

    def create_connection(self, address, timeout=_GLOBAL_DEFAULT_TIMEOUT, source_address=None):
        """CPython's socket.create_connection; a name is resolved first, by this module
        (not inside the socket's connect, where a threaded driver would wait on the socket)."""
        if isinstance(address, tuple) and len(address) == 2 and isinstance(address[0], str) \
                and address[0]:
            address = (ip_ntoa(self._resolve(address[0])), address[1])
        s = self.socket(AF_INET, SOCK_STREAM)
        try:
            if timeout is not _GLOBAL_DEFAULT_TIMEOUT:
                s.settimeout(timeout)
            if source_address is not None:
                s.bind(source_address)
            s.connect(address)
        except BaseException:
            s.close()
            raise
        return s

    def _query(self, host, flags=0):
        """-> [4-byte address] for a numeric host (never queried), else the resolver's
        dns.Lookup for the name (the stack's resolver, made on first use; maybe done at once,
        from its cache)."""
        try:
            return [inet_aton(host)]
        except OSError:
            if flags & AI_NUMERICHOST:
                raise _gaierror(_dns.EAI_NONAME)
        from .dns import Resolver    # on first use: numeric-only programs never load it
        r = self.stack.resolver or Resolver(self.stack)
        return r.lookup(host, self.driver.now())

    def _lookup(self, host, flags=0):
        """A host name or numeric address -> [4-byte address], the call driving the stack
        until the resolver's answer or its last timeout; gaierror when it does not resolve,
        as CPython raises it."""
        q = self._query(host, flags)
        if isinstance(q, list):
            return q
        r = self.stack.resolver
        drv = self.driver
        while True:
            # The resolver's step is this call's try: a driver's step may take in the
            # answer and then sleep before the stack polls again
            wait = r.poll(drv.now())
            if q.done:
                break
            # Up to the resolver's next deadline: a driver that wakes a call only for its own
            # socket's events (threaded.py) still comes back to look
            drv.step(wait)
        return answer(q)

    def _resolve(self, host):
        return self._lookup(host)[0]

    def _info_port(self, family, port):
        """getaddrinfo's checks before any lookup: -> the port as a number."""
        if family not in (0, AF_INET):
            raise _gaierror(_dns.EAI_FAMILY)
        if isinstance(port, str):
            if not port.isdigit():
                raise _gaierror(_dns.EAI_SERVICE)   # no services database on a board
            port = int(port)
        return port or 0

    def _addrinfo(self, addrs, port, type, proto):
        types = (type,) if type else (SOCK_STREAM, SOCK_DGRAM)
        return [(AF_INET, t, proto or _PROTOS[t], "", (ip_ntoa(a), port))
                for a in addrs for t in types if t in _PROTOS]

    def getaddrinfo(self, host, port, family=0, type=0, proto=0, flags=0):
        """CPython's tuples, one per address and socket type; names through the resolver."""
        port = self._info_port(family, port)
        addrs = [_dns.LOCALHOST] if host is None else self._lookup(host, flags)
        return self._addrinfo(addrs, port, type, proto)

    def gethostbyname(self, host):
        return ip_ntoa(self._resolve(host))

    def getdefaulttimeout(self):
        return self.default_timeout

    def setdefaulttimeout(self, t):
        self.default_timeout = None if t is None else float(t)


for _n in ("AF_INET", "AF_UNIX", "SOCK_STREAM", "SOCK_DGRAM", "SOCK_RAW", "IPPROTO_IP",
           "IPPROTO_ICMP", "IPPROTO_RAW", "IPPROTO_TCP", "IPPROTO_UDP",
           "SOL_SOCKET", "SO_REUSEADDR", "SO_ERROR", "SO_BROADCAST", "SO_SNDBUF", "SO_RCVBUF",
           "SO_KEEPALIVE", "SO_OOBINLINE", "SO_LINGER", "TCP_NODELAY", "TCP_KEEPIDLE",
           "TCP_KEEPINTVL", "TCP_KEEPCNT", "TCP_USER_TIMEOUT", "TCP_CONGESTION", "IP_TTL", "IP_HDRINCL", "MSG_OOB",
           "MSG_PEEK",
           "MSG_DONTWAIT", "MSG_WAITALL",
           "SHUT_RD", "SHUT_WR", "SHUT_RDWR", "INADDR_ANY", "SOMAXCONN", "error", "timeout",
           "gaierror", "AI_NUMERICHOST", "EAI_NONAME", "EAI_AGAIN", "EAI_FAIL", "EAI_NODATA",
           "EAI_FAMILY", "EAI_SERVICE"):
    setattr(Sockets, _n, globals()[_n])
for _f in (inet_aton, inet_ntoa, inet_pton, inet_ntop):
    setattr(Sockets, _f.__name__, staticmethod(_f))

_default = None
_replaced = {}   # module name -> what sys.modules held before install()


def install(stack, driver):
    """Make barenet this program's socket module (issue 9 item 7): the module-level calls here
    (socket(), create_connection(), getaddrinfo()...) use stack, and from now on `import
    socket` and `import usocket` give this module, so unmodified code that imports them later
    runs over barenet. Code that imported the runtime's socket before keeps it. On MicroPython
    asyncio's open_connection/start_server become barenet's too (aio.install; on CPython,
    call barenet.aio.install() for that)."""
    global _default
    import sys
    _default = Sockets(stack, driver)
    me = sys.modules[__name__]
    for name in ("socket", "usocket"):
        if name not in _replaced:
            _replaced[name] = sys.modules.get(name)
        sys.modules[name] = me
    if sys.implementation.name == "micropython":
        try:
            from . import aio     # asyncio.open_connection / start_server too
        except ImportError:
            pass                  # a build without asyncio
        else:
            aio.install(_default)
    return _default


def uninstall():
    """Undo install(): `import socket` gives the runtime's own module again."""
    global _default
    import sys
    for name, old in _replaced.items():
        if old is None:
            sys.modules.pop(name, None)
        else:
            sys.modules[name] = old
    _replaced.clear()
    _default = None
    aio = sys.modules.get("barenet.aio")
    if aio is not None:
        aio.uninstall()


def _net():
    if _default is None:
        raise OSError("barenet.socket: call install(stack, driver) first")
    return _default


class socket:
    """socket(family, type, proto): a socket of the kind asked for, on the installed stack.
    A class, as CPython's socket.socket is, because ssl subclasses it when imported (urllib
    and paho-mqtt import ssl); what it makes is one of the classes in _KINDS."""

    def __new__(cls, family=AF_INET, type=SOCK_STREAM, proto=0):
        return _net().socket(family, type, proto)


def socketpair(family=AF_UNIX, type=SOCK_STREAM, proto=0):
    return _net().socketpair(family, type, proto)


def create_connection(address, timeout=_GLOBAL_DEFAULT_TIMEOUT, source_address=None):
    return _net().create_connection(address, timeout, source_address)


def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
    return _net().getaddrinfo(host, port, family, type, proto, flags)


def gethostbyname(host):
    return _net().gethostbyname(host)


def getdefaulttimeout():
    return _net().getdefaulttimeout()


def setdefaulttimeout(t):
    _net().setdefaulttimeout(t)
