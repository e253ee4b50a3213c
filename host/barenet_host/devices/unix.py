"""SLIP over an AF_UNIX stream socket: `unix:PATH[,crc][,mtu=N]`, for a MicroPython unix VM
or a simulator on the same machine (issue 11's unix link).

The host side listens at PATH and takes one peer at a time; the peer (the board's
firmware/drivers/slip_stream.py on a connected socket) connects. A stale socket file left at
PATH by an earlier run is replaced; any other file there is an error. Until a peer connects,
and from when it goes until the next one does, the link is down: frames are dropped and
counted, and the listening socket is what the runner selects on, so a connect wakes it.
A second peer that connects while one is served waits in the backlog until the first goes.
"""

import errno
import os
import socket
import stat

from barenet.wire import slip
from barenet_host.devices.slipnic import SlipNIC, log_stderr


class UnixTransport:
    """The byte transport (slipnic.py) of one accepted peer on a listening AF_UNIX socket."""

    retry_ms = None       # accept when the listening socket is readable

    def __init__(self, path):
        self.path = path
        self.name = "unix " + path
        self.peer = None
        self.listener = _listen(path)

    def open(self):
        try:
            peer, _ = self.listener.accept()
        except BlockingIOError:
            raise OSError(errno.ENOTCONN, "no peer yet") from None
        peer.setblocking(False)
        self.peer = peer

    def fileno(self):
        return self.listener.fileno() if self.peer is None else self.peer.fileno()

    def read(self, n):
        try:
            data = self.peer.recv(n)
        except BlockingIOError:
            return b""
        if not data:
            raise OSError(errno.ECONNRESET, "the peer closed the connection")
        return data

    def write(self, data):
        try:
            return self.peer.send(data)
        except BlockingIOError:
            return 0

    def close(self):
        if self.peer is not None:
            self.peer.close()
            self.peer = None

    def shutdown(self):
        """Close the peer and the listener, and remove the socket file."""
        self.close()
        if self.listener is not None:
            self.listener.close()
            self.listener = None
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass


def _listen(path):
    try:
        if stat.S_ISSOCK(os.lstat(path).st_mode):
            os.unlink(path)     # a stale socket of an earlier run
    except FileNotFoundError:
        pass
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.bind(path)
        s.listen(1)
    except OSError as e:
        s.close()
        raise OSError(e.errno, "cannot listen on unix socket %r: %s" % (path, e.strerror)) \
            from None
    s.setblocking(False)
    return s


class UnixNIC(SlipNIC):
    """A SlipNIC that starts without a peer, and removes its socket file when closed."""

    def __init__(self, path, log=log_stderr, **kw):
        self.path = path
        t = UnixTransport(path)
        try:
            super().__init__(t, log=log, connect=False, **kw)
        except BaseException:
            t.shutdown()
            raise

    def close(self):
        super().close()
        self.transport.shutdown()


def open_spec(spec, log=log_stderr):
    """`unix:PATH[,crc][,mtu=N]` (devices/spec.py) -> a UnixNIC listening at PATH."""
    return UnixNIC(spec.target, mtu=spec.mtu or slip.DEFAULT_MTU, crc=spec.crc, log=log)
