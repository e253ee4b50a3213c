"""A frame link over UDP, the host end: one of barenet's frames per datagram (issue 10's
`udp:[ADDR:]PORT` device). A Wi-Fi board cannot hand Python raw frames (DESIGN.md "Boards and
drivers"), so its tunnel driver (firmware/drivers/udp_link.py) carries the frames of its
barenet stack inside UDP datagrams through the board's own network stack, to this end.

The host end binds ADDR:PORT (ADDR 127.0.0.1 by default) and sends to whichever peer sent it
the last frame: the board speaks first (its first ARP request or gratuitous ARP), and a board
that rebooted onto a new source port is followed. Until then frames to the board are dropped
and counted (`drop_no_peer`), as a NIC without carrier drops them.
"""

import errno
import socket

from barenet.nic import ETHERNET

DEFAULT_ADDR = "127.0.0.1"
_SOFT_ERRORS = (errno.EAGAIN, errno.ENOBUFS, errno.ECONNREFUSED, errno.EHOSTUNREACH,
                errno.ENETUNREACH)


def parse_spec(spec):
    """'[ADDR:]PORT' -> (ADDR, PORT); ValueError with a one-line reason otherwise."""
    addr, _, port = spec.rpartition(":")
    try:
        port = int(port)
        socket.inet_aton(addr or DEFAULT_ADDR)
    except (ValueError, OSError):
        raise ValueError("udp device %r: expected [ADDR:]PORT, e.g. 127.0.0.1:5555" % spec)
    if not 0 < port < 65536:
        raise ValueError("udp device %r: port must be 1-65535" % spec)
    return addr or DEFAULT_ADDR, port


class UDPDevice:
    """The host end of a UDP frame link, with the NIC protocol (barenet/nic.py): send,
    recv_into, fileno for the runner's select, the link facts and stats."""

    def __init__(self, port, addr=DEFAULT_ADDR, link=ETHERNET, mtu=1500):
        self.link = link
        self.mtu = mtu
        self.peer = None           # (addr, port) of the board, from its last frame
        self.stats = {"rx": 0, "tx": 0, "drop_tx": 0, "drop_no_peer": 0}
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            s.setblocking(False)
            s.bind((addr, port))
        except OSError:
            s.close()
            raise
        self.sock = s
        self.addr = s.getsockname()

    def fileno(self):
        return self.sock.fileno()

    def send(self, frame):
        if self.peer is None:
            self.stats["drop_no_peer"] += 1
            return
        try:
            self.sock.sendto(frame, self.peer)
        except OSError as e:
            # a full queue, or the board's port closed (an ICMP error reported on a later
            # call): dropped and counted like any NIC's, never raised into the stack
            if e.errno not in _SOFT_ERRORS:
                raise
            self.stats["drop_tx"] += 1
            return
        self.stats["tx"] += 1

    def recv_into(self, buf):
        while True:
            try:
                n, src = self.sock.recvfrom_into(buf)
            except BlockingIOError:
                return 0
            except OSError as e:
                if e.errno in _SOFT_ERRORS:
                    continue     # an ICMP error for an earlier send, not a frame
                raise
            self.peer = src
            self.stats["rx"] += 1
            return n

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return "<UDPDevice %s:%d peer=%s>" % (self.addr + (self.peer,))


def open_spec(spec):
    """`udp:[ADDR:]PORT[,ip][,mtu=N]` (devices/spec.py) -> a UDPDevice bound there."""
    addr, port = parse_spec(spec.target)
    return UDPDevice(port, addr, link=spec.link, mtu=spec.mtu or 1500)
