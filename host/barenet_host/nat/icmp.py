"""The board's pings on unprivileged ICMP sockets (`socket(AF_INET, SOCK_DGRAM,
IPPROTO_ICMP)`, Linux's ping sockets, allowed to the groups in net.ipv4.ping_group_range).
One socket per (board address, identifier, destination): the kernel picks the identifier on
the wire and the checksum; replies go back to the board with its own identifier, from the
destination."""

import errno
import socket
import struct

from barenet.addr import ip_ntoa
from barenet.wire import icmp as icmpw

BURST = 64


def available():
    """-> None when this process may open ICMP sockets, else the reason (one line)."""
    try:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)
    except OSError as e:
        if e.errno in (errno.EACCES, errno.EPERM):
            return ("no unprivileged ICMP sockets for gid %d (net.ipv4.ping_group_range): "
                    "the board's pings are dropped and counted" % _gid())
        return "no ICMP sockets (%s): the board's pings are dropped and counted" % e.strerror
    s.close()
    return None


def _gid():
    import os
    return os.getegid()


class ICMPFlow:
    proto = "icmp"

    def __init__(self, gw, key, now):
        self.gw = gw
        self.key = key            # ("icmp", board ip, identifier, remote ip, 0)
        self.last = now
        self.up = self.down = 0
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM | socket.SOCK_NONBLOCK
                          | socket.SOCK_CLOEXEC, socket.IPPROTO_ICMP)
        try:
            s.connect((ip_ntoa(key[3]), 0))
        except OSError:
            s.close()
            raise
        self.sock = s
        self.fd = s.fileno()
        gw.runner.add_fd(self.fd, self._readable)

    def kind(self):
        return "icmp"

    def row(self):
        return {"proto": "icmp", "board": "%s id %d" % (ip_ntoa(self.key[1]), self.key[2]),
                "remote": ip_ntoa(self.key[3]), "dir": "out", "state": "open",
                "bytes_up": self.up, "bytes_down": self.down, "buffered": 0}

    def from_board(self, rest, body, now):
        # type, code, checksum and identifier are the kernel's to fill in (ping sockets)
        self.last = now
        try:
            self.sock.send(struct.pack("!BBHHH", icmpw.ECHO_REQUEST, 0, 0, 0, rest & 0xFFFF)
                           + bytes(body))
        except OSError:
            self.gw.count("icmp_drop_host")
            return
        self.up += len(body)

    def _readable(self, now):
        gw = self.gw
        k = self.key
        for _ in range(BURST):
            try:
                m = self.sock.recv(65535)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                gw.count("icmp_drop_host")
                continue
            if len(m) < 8 or m[0] != icmpw.ECHO_REPLY:
                gw.count("icmp_drop_not_reply")
                continue
            seq = (m[6] << 8) | m[7]
            try:
                gw.stack.icmp.send(k[1], icmpw.ECHO_REPLY, 0, icmpw.echo_rest(k[2], seq),
                                   m[8:], src=k[3], now=now)
            except OSError:
                gw.count("icmp_drop_board")
                continue
            self.down += len(m) - 8
            self.last = now

    def close(self, why):
        self.gw.runner.remove_fd(self.fd)
        self.sock.close()
