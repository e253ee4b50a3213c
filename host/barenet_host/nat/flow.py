"""What a UDP flow (udp.py) and a ping flow (icmp.py) share: one connected host datagram
socket per flow, watched on the Runner, and their line in `ctl nat`."""

import errno
import socket

from barenet.addr import ip_ntoa
from barenet.wire import icmp as icmpw

BURST = 64      # datagrams read from the host socket per wakeup
# The ICMP errors a host socket reports as errno (Linux: ip_icmp_error -> sk_err), or its
# connect() finds with no route, passed on to the board as the destination unreachable they
# were (RFC 5508 section 4: a NAT forwards ICMP errors about a flow to its inside host)
UNREACH = {errno.ECONNREFUSED: icmpw.PORT_UNREACH, errno.EHOSTUNREACH: icmpw.HOST_UNREACH,
           errno.ENETUNREACH: icmpw.NET_UNREACH}
UNREACH_NAMES = {icmpw.PORT_UNREACH: "port_unreachable", icmpw.HOST_UNREACH: "host_unreachable",
                 icmpw.NET_UNREACH: "net_unreachable"}


class DatagramFlow:
    proto = None        # the subclass's: "udp" or "icmp"
    sock_proto = 0      # socket()'s protocol: 0, or IPPROTO_ICMP for ping sockets

    def __init__(self, gw, key, now):
        self.gw = gw
        self.key = key            # (proto, board ip, board port or ident, remote ip, port)
        self.last = now
        self.up = self.down = 0
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM | socket.SOCK_NONBLOCK
                          | socket.SOCK_CLOEXEC, self.sock_proto)
        try:
            s.connect((ip_ntoa(key[3]), key[4]))
        except OSError:
            s.close()
            raise
        self.sock = s
        self.fd = s.fileno()
        gw.runner.add_fd(self.fd, self._readable)

    def kind(self):
        return self.proto

    def row(self):
        return {"proto": self.proto, "board": self.board_text(), "remote": self.remote_text(),
                "dir": "out", "state": "open", "bytes_up": self.up, "bytes_down": self.down,
                "buffered": 0}

    def board_text(self):
        return "%s:%d" % (ip_ntoa(self.key[1]), self.key[2])

    def remote_text(self):
        return "%s:%d" % (ip_ntoa(self.key[3]), self.key[4])

    def _readable(self, now):
        """Up to BURST datagrams from the host socket, each handed to to_board()."""
        for _ in range(BURST):
            try:
                d = self.sock.recv(65535)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as e:
                self.host_error(e, now)
                continue
            self.to_board(d, now)

    def close(self, why):
        self.gw.runner.remove_fd(self.fd)
        self.sock.close()
