"""The board's pings on unprivileged ICMP sockets (`socket(AF_INET, SOCK_DGRAM,
IPPROTO_ICMP)`, Linux's ping sockets, allowed to the groups in net.ipv4.ping_group_range).
One socket per (board address, identifier, destination): the kernel picks the identifier on
the wire and the checksum; replies go back to the board with its own identifier, from the
destination."""

import errno
import os
import socket
import struct

from barenet.addr import ip_ntoa
from barenet.wire import icmp as icmpw

from .flow import DatagramFlow


def available():
    """-> None when this process may open ICMP sockets, else the reason (one line)."""
    try:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)
    except OSError as e:
        if e.errno in (errno.EACCES, errno.EPERM):
            return ("no unprivileged ICMP sockets for gid %d (net.ipv4.ping_group_range): "
                    "the board's pings are dropped and counted" % os.getegid())
        return "no ICMP sockets (%s): the board's pings are dropped and counted" % e.strerror
    s.close()
    return None


class ICMPFlow(DatagramFlow):
    proto = "icmp"
    sock_proto = socket.IPPROTO_ICMP

    def board_text(self):
        return "%s id %d" % (ip_ntoa(self.key[1]), self.key[2])

    def remote_text(self):
        return ip_ntoa(self.key[3])

    def from_board(self, rest, body, now):
        # type, code, checksum and identifier are the kernel's to fill in (ping sockets)
        self.last = now
        try:
            self.sock.send(struct.pack("!BBHHH", icmpw.ECHO_REQUEST, 0, 0, 0, rest & 0xFFFF)
                           + bytes(body))
        except OSError as e:
            self.host_error(e, now)
            return
        self.up += len(body)

    def to_board(self, m, now):
        if len(m) < 8 or m[0] != icmpw.ECHO_REPLY:
            self.gw.count("icmp_drop_not_reply")
            return
        k = self.key
        seq = (m[6] << 8) | m[7]
        try:
            self.gw.stack.icmp.send(k[1], icmpw.ECHO_REPLY, 0, icmpw.echo_rest(k[2], seq),
                                    m[8:], src=k[3], now=now)
        except OSError:
            self.gw.count("icmp_drop_board")
            return
        self.down += len(m) - 8
        self.last = now

    def host_error(self, e, now):
        self.gw.count("icmp_drop_host")
