"""A board's UDP flow (board address and port to one remote address and port) on a
connected host UDP socket. UDP has no flow control (RFC 768): a datagram the host socket
cannot take at once is dropped and counted, as a full queue anywhere drops it. A port
unreachable the host hears of (ECONNREFUSED) is passed to the board as ICMP port unreachable
about its last datagram."""

import socket

from barenet.addr import ip_ntoa
from barenet.wire import icmp as icmpw

BURST = 64         # datagrams read from the host socket per wakeup
_QUOTE = 548       # RFC 1812 4.3.2.3: what a 576-byte ICMP error can quote


class UDPFlow:
    proto = "udp"

    def __init__(self, gw, key, now):
        self.gw = gw
        self.key = key            # ("udp", board ip, board port, remote ip, remote port)
        self.last = now
        self.up = self.down = 0
        self.quote = None         # the board's last datagram (head), for ICMP errors
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM | socket.SOCK_NONBLOCK
                          | socket.SOCK_CLOEXEC)
        try:
            s.connect((ip_ntoa(key[3]), key[4]))
        except OSError:
            s.close()
            raise
        self.sock = s
        self.fd = s.fileno()
        gw.runner.add_fd(self.fd, self._readable)

    def kind(self):
        return "udp"

    def row(self):
        return {"proto": "udp", "board": "%s:%d" % (ip_ntoa(self.key[1]), self.key[2]),
                "remote": "%s:%d" % (ip_ntoa(self.key[3]), self.key[4]), "dir": "out",
                "state": "open", "bytes_up": self.up, "bytes_down": self.down, "buffered": 0}

    def from_board(self, h, data, now):
        self.quote = bytes(h.datagram[0:_QUOTE])
        self.last = now
        try:
            self.sock.send(data)
        except BlockingIOError:
            self.gw.count("udp_drop_host_full")
            return
        except ConnectionRefusedError:
            self._unreachable(now)
            return
        except OSError:
            self.gw.count("udp_drop_host_error")
            return
        self.up += len(data)

    def _readable(self, now):
        gw = self.gw
        k = self.key
        for _ in range(BURST):
            try:
                data = self.sock.recv(65535)
            except (BlockingIOError, InterruptedError):
                return
            except ConnectionRefusedError:
                self._unreachable(now)
                continue
            except OSError:
                gw.count("udp_drop_host_error")
                return
            try:
                gw.stack.udp.output(k[3], k[4], k[1], k[2], data)
            except OSError:
                gw.count("udp_drop_board")
                continue
            self.down += len(data)
            self.last = now

    def _unreachable(self, now):
        self.gw.count("udp_port_unreachable")
        if self.quote is not None:
            self.gw.stack.icmp.send_error(icmpw.DEST_UNREACH, icmpw.PORT_UNREACH, self.quote,
                                          False, now)

    def close(self, why):
        self.gw.runner.remove_fd(self.fd)
        self.sock.close()
