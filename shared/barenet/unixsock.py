"""AF_UNIX sockets (unix(7)), stream and datagram, over the stack's local endpoints (local.py).

    srv = net.socket(net.AF_UNIX, net.SOCK_STREAM); srv.bind("/run/app"); srv.listen()
    cli = net.socket(net.AF_UNIX, net.SOCK_STREAM); cli.connect("/run/app")
    a, b = net.socketpair()

Addresses are names in the stack's own namespace, str paths or bytes (a leading NUL: Linux's
abstract names), shown back as CPython shows them: a path as str, an abstract name as bytes,
"" for an unnamed socket. On the host they are not the kernel's: no file appears, and a name
is free again once its socket closes. Nothing here touches IP or a NIC.

The calls and their errnos are Linux's for AF_UNIX (local.py): connect to a missing name is
ENOENT, to a socket not listening ECONNREFUSED; recv on an unconnected stream EINVAL. A full
listener queue makes a blocking connect wait, and is EAGAIN at once for a non-blocking socket
or one with a timeout (as on CPython); a full peer (buffer or datagram queue) makes a send
wait up to its timeout, or EAGAIN when non-blocking. Single-threaded, only the program's other
sockets can make that room, so a blocking call on a full peer in the same thread waits out
its timeout. SO_RCVBUF/SO_SNDBUF report local_buf (config.py)
and do not resize it. No MSG_OOB, SO_PEERCRED or descriptor passing.
"""

from .compat import oserror, EINVAL, ENOTCONN, EOPNOTSUPP, EPIPE, EPROTONOSUPPORT
from .local import DGRAM, STREAM
from .socket import AF_UNIX, MSG_OOB, POLLHUP, POLLIN, POLLOUT, SHUT_RD, SHUT_RDWR, SHUT_WR, \
    SOCK_DGRAM, SOCK_STREAM, SOMAXCONN, SOL_SOCKET, SO_BROADCAST, SO_ERROR, SO_KEEPALIVE, \
    SO_LINGER, SO_RCVBUF, SO_REUSEADDR, SO_SNDBUF, _KINDS, _or_none, DatagramSocket, Socket, \
    StreamSocket

_UNIX_OPTS = tuple((SOL_SOCKET, n) for n in (SO_REUSEADDR, SO_ERROR, SO_BROADCAST, SO_SNDBUF,
                                             SO_RCVBUF, SO_KEEPALIVE, SO_LINGER))
_PF_UNIX = 1


def _how(how):
    if how not in (SHUT_RD, SHUT_WR, SHUT_RDWR):
        raise oserror(EINVAL)
    return how != SHUT_WR, how != SHUT_RD


class _Unix:
    """What both AF_UNIX kinds share (a mixin before the Socket subclass)."""

    def _init(self, proto):
        if proto not in (0, _PF_UNIX):
            raise oserror(EPROTONOSUPPORT)   # Linux unix_create

    def _optnames(self):
        return _UNIX_OPTS

    def _bufsize(self, name):
        return self._net.stack.local.buf

    # Linux: AF_UNIX has no option beyond SOL_SOCKET's (unix_setsockopt is sock_no_...)
    def setsockopt(self, level, name, value):
        if level != SOL_SOCKET:
            self._check()
            raise oserror(EOPNOTSUPP)
        Socket.setsockopt(self, level, name, value)

    def getsockopt(self, level, name, buflen=0):
        if level != SOL_SOCKET:
            self._check()
            raise oserror(EOPNOTSUPP)
        return Socket.getsockopt(self, level, name, buflen)

    def _apply(self):
        """No option reaches a local endpoint."""

    def getsockname(self):
        self._check()
        return self._ep.getsockname()

    def getpeername(self):
        self._check()
        return self._ep.getpeername()

    def _close(self):
        self._ep.close()


class UnixStreamSocket(_Unix, StreamSocket):
    """SOCK_STREAM: the moving-data calls above send()/recv() (sendall, recv_into, read,
    readline, makefile...) are StreamSocket's."""

    def __init__(self, net, family, type, proto, ep=None):
        self._init(proto)
        Socket.__init__(self, net, family, type, proto)
        self._ep = net.stack.local.stream() if ep is None else ep
        self._listening = False

    def _conn(self):
        self._check()
        ep = self._ep
        return ep if ep.peer is not None else None

    def bind(self, address):
        self._check()
        self._ep.bind(address)

    def listen(self, backlog=SOMAXCONN):
        self._check()
        self._ep.listen(backlog)
        self._listening = True

    def accept(self):
        self._check()
        if not self._listening:
            raise oserror(EINVAL)
        ep = self._wait(self._ep.accept)
        s = UnixStreamSocket(self._net, self.family, self.type, self.proto, ep)
        return s, ep.getpeername()

    def _connect(self, address):
        self._check()
        ep = self._ep
        if self._timeout is None:
            # blocking: wait for room in a full listener's queue (Linux unix_wait_for_peer)
            self._wait(lambda: _or_none(lambda: ep.connect(address) or True))
        else:
            # CPython's timeout mode is non-blocking underneath and waits only on EINPROGRESS,
            # which AF_UNIX never gives: a full queue is EAGAIN at once, as when non-blocking
            ep.connect(address)
        return 0

    def _send(self, data, flags, start):
        # under StreamSocket's send and sendall (start: when sendall began, for its timeout)
        c = self._conn()
        if flags & MSG_OOB:
            raise oserror(EOPNOTSUPP)
        if c is None:
            raise oserror(ENOTCONN)
        if not len(data):
            return 0
        return self._wait(lambda: c.send(data) or None, flags, start)

    def recv(self, n, flags=0):
        c = self._conn()
        if c is None:
            raise oserror(EINVAL)   # Linux unix_stream_read_generic
        if n < 0:
            raise ValueError("negative buffersize in recv")
        if flags & MSG_OOB:
            raise oserror(EOPNOTSUPP)
        if n == 0:
            return b""
        return self._read(c, n, flags)

    def shutdown(self, how):
        self._check()
        rd, wr = _how(how)
        if rd:
            self._ep.shutdown_read()
        if wr:
            self._ep.shutdown_write()

    def _poll(self):
        # Linux unix_poll: an unconnected stream is hung up; a closed or shut peer makes us
        # readable (the end) and hung up
        if self._closed:
            return 0
        ep = self._ep
        if self._listening:
            return POLLIN if ep.readable() else 0
        if ep.peer is None:
            return POLLOUT | POLLHUP
        m = 0
        if ep.readable() or ep.rd_done or ep.error:
            m |= POLLIN
        if ep.writable() or ep.wr_done:
            m |= POLLOUT
        if ep.rd_done and ep.wr_done:
            m |= POLLHUP
        return m


class UnixDatagramSocket(_Unix, DatagramSocket):
    """SOCK_DGRAM: recvfrom and its variants are DatagramSocket's; a sender's address is its
    name, None when it has none (CPython)."""

    def __init__(self, net, family, type, proto, ep=None):
        self._init(proto)
        Socket.__init__(self, net, family, type, proto)
        self._ep = net.stack.local.dgram() if ep is None else ep
        self._rd_shut = self._wr_shut = False

    def _endpoint(self):
        self._check()
        return self._ep

    def bind(self, address):
        self._endpoint().bind(address)

    def connect(self, address):
        self._endpoint().connect(address)

    def sendto(self, data, flags_or_addr, addr=None):
        if addr is None:
            addr, flags = flags_or_addr, 0
        else:
            flags = flags_or_addr
        ep = self._endpoint()
        return self._send(lambda: ep.sendto(data, addr), flags)

    def send(self, data, flags=0):
        ep = self._endpoint()
        return self._send(lambda: ep.send(data), flags)

    def _send(self, attempt, flags):
        if self._wr_shut:
            raise oserror(EPIPE)
        return self._wait(lambda: _or_none(attempt), flags)

    def _take(self, peek):
        return self._ep.recvfrom(peek)

    def shutdown(self, how):
        # Linux: SHUT_WR makes sends EPIPE; SHUT_RD only makes poll report POLLIN (a read
        # still waits for a datagram, or says EAGAIN)
        self._check()
        rd, wr = _how(how)
        self._rd_shut = self._rd_shut or rd
        self._wr_shut = self._wr_shut or wr

    def _poll(self):
        if self._closed:
            return 0
        ep = self._ep
        m = 0
        if ep.readable() or self._rd_shut:
            m |= POLLIN
        if ep.writable():
            m |= POLLOUT
        return m


def socketpair(net, family, type, proto):
    """Sockets.socketpair: two connected, unnamed AF_UNIX sockets of one type."""
    if family != AF_UNIX:
        raise oserror(EOPNOTSUPP)    # Linux: only AF_UNIX has socketpair
    if type == SOCK_STREAM:
        cls, kind = UnixStreamSocket, STREAM
    elif type == SOCK_DGRAM:
        cls, kind = UnixDatagramSocket, DGRAM
    else:
        raise oserror(EOPNOTSUPP)
    a, b = net.stack.local.socketpair(kind)
    return cls(net, family, type, proto, a), cls(net, family, type, proto, b)


_KINDS[(AF_UNIX, SOCK_STREAM)] = UnixStreamSocket
_KINDS[(AF_UNIX, SOCK_DGRAM)] = UnixDatagramSocket
