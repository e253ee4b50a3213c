"""A board's SLIP NIC over any stream with nonblocking read and write: a `machine.UART`
(timeout=0), or in the MicroPython unix VM an AF_UNIX socket to the host's `unix:PATH` device
(barenet_host.devices.unix) or a pty. Framing is the core's (barenet/wire/slip.py), with its
table CRC-16/X.25 when `crc` is on; both ends must agree on it and on the MTU.

    uart = machine.UART(1, 115200, timeout=0, rxbuf=2048)
    link = SlipStream(uart, crc=True)
    iface = stack.add_interface(link, ip="192.0.2.2/24", gateway="192.0.2.1")

The NIC protocol is barenet/nic.py's (link "ip": frames are bare IPv4 datagrams). `stream`
is what a select.poll waits on (firmware/poll_driver.py). read() may return None or b"" when
nothing is waiting, as UARTs and nonblocking sockets do; write() may take part of what it is
given, or nothing (None, or OSError EAGAIN). The queues between are the core's SlipLine
(barenet/slipline.py), up to TX_LIMIT bytes waiting to go out.
"""

import socket as _socket
import struct
import sys

from barenet.slipline import SlipLine
from barenet.wire import slip

READ_MAX = 512      # bytes per read: a UART's ring buffer is a few hundred bytes
TX_LIMIT = 4096     # encoded bytes waiting for the stream: a board's RAM is small


class SlipStream:
    link = "ip"

    def __init__(self, stream, mtu=slip.DEFAULT_MTU, crc=False):
        self.stream = stream
        self.mtu = mtu
        self.line = SlipLine(mtu, slip.fcs16 if crc else None, TX_LIMIT)
        self.stats = self.line.stats

    @property
    def link_up(self):
        """The stream's own carrier, if it knows one (firmware/netdev.py UnixStream)."""
        return getattr(self.stream, "up", True)

    def send(self, frame):
        if self.line.queue(frame):
            self._flush()

    def recv_into(self, buf):
        line = self.line
        if not line.rx:
            try:
                line.received(self.stream.read(READ_MAX))
            except OSError:      # EAGAIN from a nonblocking socket
                pass
        return line.recv_into(buf)

    def poll(self, now):
        line = self.line
        if line.out:
            self._flush()
        if line.rx:
            return 0
        return 1 if line.out else None

    def _flush(self):
        try:
            self.line.sent(self.stream.write(self.line.out))
        except OSError:          # EAGAIN: nothing taken
            pass


def connect_unix(path):
    """A nonblocking AF_UNIX stream socket connected to path: the unix VM's stream to a host's
    `unix:PATH` device. Call it before barenet.socket.install(), which replaces `socket`."""
    s = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    if sys.implementation.name == "micropython":
        # the unix port takes a raw struct sockaddr_un: sa_family AF_UNIX (host order),
        # then the NUL-terminated path
        s.connect(struct.pack("H", _socket.AF_UNIX) + path.encode() + b"\0")
    else:
        s.connect(path)
    s.setblocking(False)
    return s
