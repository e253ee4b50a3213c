"""A board's UDP flow (board address and port to one remote address and port) on a
connected host UDP socket. UDP has no flow control (RFC 768): a datagram the host socket
cannot take at once is dropped and counted, as a full queue anywhere drops it. A port
unreachable the host hears of (ECONNREFUSED), and a host or network unreachable, is passed to
the board as that ICMP error about its last datagram."""

from barenet.wire import icmp as icmpw

from .flow import UNREACH, UNREACH_NAMES, DatagramFlow

_QUOTE = 548       # RFC 1812 4.3.2.3: what a 576-byte ICMP error can quote


class UDPFlow(DatagramFlow):
    proto = "udp"

    def __init__(self, gw, key, now):
        DatagramFlow.__init__(self, gw, key, now)
        self.quote = None         # the board's last datagram (head), for ICMP errors

    def from_board(self, h, data, now):
        self.quote = bytes(h.datagram[0:_QUOTE])
        self.last = now
        try:
            self.sock.send(data)
        except BlockingIOError:
            self.gw.count("udp_drop_host_full")
            return
        except OSError as e:
            self.host_error(e, now)
            return
        self.up += len(data)

    def to_board(self, data, now):
        k = self.key
        try:
            self.gw.stack.udp.output(k[3], k[4], k[1], k[2], data)
        except OSError:
            self.gw.count("udp_drop_board")
            return
        self.down += len(data)
        self.last = now

    def host_error(self, e, now):
        code = UNREACH.get(e.errno)
        if code is None:
            self.gw.count("udp_drop_host_error")
            return
        self.gw.count("udp_" + UNREACH_NAMES[code])
        if self.quote is not None:
            self.gw.stack.icmp.send_error(icmpw.DEST_UNREACH, code, self.quote, False, now)
