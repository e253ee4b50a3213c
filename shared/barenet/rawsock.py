"""AF_INET/SOCK_RAW sockets (raw(7)) over the stack's raw IP endpoints (raw.py).

    s = net.socket(net.AF_INET, net.SOCK_RAW, net.IPPROTO_ICMP)
    s.sendto(echo_request, ("192.0.2.1", 0)); datagram, (src, 0) = s.recvfrom(1500)

As on Linux: proto is the IP protocol number (0 is EPROTONOSUPPORT, IPPROTO_RAW sets
IP_HDRINCL); recv returns the whole datagram, IP header included; send takes the payload, or
the whole datagram with IP_HDRINCL; the port of an address is ignored on the way out and 0 on
the way in. getsockname shows the protocol as the port, getpeername the port given to connect
(ENOTCONN for 0), as Linux's inet_getname does for raw sockets. A datagram never waits to be
sent, so only receiving blocks. SO_RCVBUF does not size the queue: it holds raw_queue
datagrams (config.py), where Linux counts bytes.
"""

from .addr import ip_ntoa
from .compat import oserror, EINVAL, ENOTCONN
from .socket import AF_INET, IPPROTO_IP, IP_HDRINCL, SOCK_RAW, DatagramSocket, _KINDS, \
    _SOCKET_OPTS, _addr

_RAW_OPTS = _SOCKET_OPTS + ((IPPROTO_IP, IP_HDRINCL),)


class RawSocket(DatagramSocket):
    """The endpoint exists from socket() on, as Linux hashes a raw socket at creation; the
    receiving calls (recv, recvfrom, *_into, MSG_PEEK, MSG_DONTWAIT) are DatagramSocket's."""

    def __init__(self, net, family, type, proto):
        DatagramSocket.__init__(self, net, family, type, proto)
        self._ep = net.stack.raw.open(proto)   # EPROTONOSUPPORT for 0, as Linux
        self._peer_port = 0

    def _endpoint(self):
        self._check()
        return self._ep

    def bind(self, address):
        a, _ = _addr(address)
        self._endpoint().bind(ip_ntoa(a))

    def connect(self, address):
        a, port = _addr(address)
        ep = self._endpoint()
        ep.connect(ip_ntoa(a))
        ep.error = 0
        self._peer = (ep.raddr, 0)
        self._peer_port = port

    def _sendto(self, data, a, port, flags):
        return self._endpoint().sendto(data, ip_ntoa(a))

    def _take(self, peek):
        ep = self._ep
        return ep.peek() if peek and not ep.error else ep.recvfrom()

    def getsockname(self):
        ep = self._endpoint()
        return (ip_ntoa(ep.laddr), self.proto)

    def getpeername(self):
        self._check()
        if self._peer is None or not self._peer_port:
            raise oserror(ENOTCONN)
        return (ip_ntoa(self._peer[0]), self._peer_port)

    def _optnames(self):
        return _RAW_OPTS

    def setsockopt(self, level, name, value):
        if (level, name) == (IPPROTO_IP, IP_HDRINCL):
            self._check()
            if not isinstance(value, int):
                raise oserror(EINVAL)
            self._ep.hdrincl = bool(value)
            return
        DatagramSocket.setsockopt(self, level, name, value)

    def getsockopt(self, level, name, buflen=0):
        if (level, name) == (IPPROTO_IP, IP_HDRINCL) and not buflen:
            self._check()
            return int(self._ep.hdrincl)
        return DatagramSocket.getsockopt(self, level, name, buflen)


_KINDS[(AF_INET, SOCK_RAW)] = RawSocket
