"""Raw IP endpoints (SOCK_RAW, raw(7)): an application talking to IP directly, past TCP and UDP.

An endpoint opened for one protocol number receives a copy of every datagram of that protocol
addressed to us, after reassembly and with its IP header, as Linux's raw_v4_input delivers it:
ICMP, TCP and UDP included, which their own layers still process as usual. A protocol that no
layer speaks (253, RFC 3692) reaches raw endpoints only, and draws a protocol unreachable only
when no endpoint took it. Sending builds the IP header with the stack (protocol, TTL, source by
route, fragmentation), or with `hdrincl` (IP_HDRINCL) sends the caller's own header.

The filters are Linux's raw_v4_match: the protocol, the local address when bound (or chosen by
connect), the remote address when connected. IPPROTO_RAW (255) is as on Linux: it sets hdrincl
from the start (it may be cleared), and it receives datagrams of protocol 255 like any other.
Not here: ICMP_FILTER, IP_RECVERR's error queue, binding to a device.
"""

from .addr import ANY, ip_aton, ip_ntoa
from .compat import (oserror, EADDRNOTAVAIL, EBADF, EDESTADDRREQ, EINVAL, ENOBUFS,
                     EPROTONOSUPPORT, const)
from .icmp import error_errno
from .readiness import Datagrams
from .stats import inc
from .wire import icmp as icmpw

IPPROTO_RAW = const(255)
# Linux's raw_err reports an ICMP error to a socket without IP_RECVERR only when it is
# connected and the error is hard: icmp_err_convert[].fatal for destination unreachable
# (protocol and port unreachable, unknown or prohibited net or host, ...), and parameter
# problems; time exceeded, fragmentation needed and the TOS codes are soft.
_FATAL_UNREACH = (2, 3, 6, 7, 8, 9, 10, 13, 14, 15)
_LOOPBACK = b"\x7f\x00\x00\x01"


def _addr(addr):
    # What CPython's raw sockets take: (host, port), the port ignored (raw(7): sin_port is
    # unused). A bare address string or 4 bytes is taken too.
    if isinstance(addr, tuple):
        addr = addr[0]
    try:
        return ip_aton(addr)
    except (ValueError, TypeError, AttributeError):
        raise oserror(EINVAL)


def matches(ep, proto, src, dst):
    """Linux's raw_v4_match: would endpoint ep take a datagram of proto from src to dst?"""
    return ep.proto == proto and (ep.raddr == ANY or ep.raddr == src) and \
        (ep.laddr == ANY or ep.laddr == dst)


class RawEndpoint(Datagrams):
    """One raw endpoint. Readiness (readiness.py): a datagram or an ICMP error arrived.

    laddr, raddr: 4 bytes, ANY while unset. ttl (IP_TTL; None: the stack's), tos (IP_TOS) and
    hdrincl (IP_HDRINCL) are plain attributes the socket layer sets; ttl 1..255, tos 0..255."""

    def __init__(self, raw, proto, queue):
        Datagrams.__init__(self, queue)
        self._raw = raw
        self.proto = proto
        self.laddr = ANY
        self.raddr = ANY
        self.ttl = None
        self.tos = 0
        self.hdrincl = proto == IPPROTO_RAW
        self.closed = False
        self._bound = False  # laddr set by bind(), so disconnect() keeps it (Linux BINDADDR_LOCK)

    def _check(self):
        if self.closed:
            raise oserror(EBADF)

    def bind(self, addr):
        """Take only datagrams to this local address (ANY: all); send from it."""
        self._check()
        a = _addr(addr)
        if a != ANY and not self._raw.stack.ip.is_local(a):
            raise oserror(EADDRNOTAVAIL)
        self.laddr = a
        self._bound = a != ANY

    def connect(self, addr):
        """Take only datagrams from addr, and send() to it. As Linux's ip4_datagram_connect, an
        unbound endpoint takes the route's source as its local address, and 0.0.0.0 means
        this host (the bound address, else 127.0.0.1, as Linux's ip_route_output_key)."""
        self._check()
        a = _addr(addr)
        if a == ANY:
            a = self.laddr if self.laddr != ANY else _LOOPBACK
        src = self._raw.stack.ip.route(a)[1]
        self.raddr = a
        if self.laddr == ANY:
            self.laddr = src

    def disconnect(self):
        """connect(AF_UNSPEC): forget the remote address, and a local one connect chose."""
        self._check()
        self.raddr = ANY
        if not self._bound:
            self.laddr = ANY

    def send(self, data):
        """sendto() the connected address; EDESTADDRREQ if not connected, as Linux."""
        if self.raddr == ANY:
            self._check()
            raise oserror(EDESTADDRREQ)
        return self.sendto(data, self.raddr)

    def sendto(self, data, addr):
        """Send one datagram: data is the payload, or with hdrincl the whole datagram. Raises
        OSError like a BSD socket: EMSGSIZE, EHOSTUNREACH/ENETUNREACH, ENOBUFS (a full queue
        on the way pushes back; nothing is dropped in silence)."""
        self._check()
        dst = _addr(addr)
        raw = self._raw
        ip = raw.stack.ip
        src = None if self.laddr == ANY else self.laddr
        try:
            if self.hdrincl:
                ip.output_datagram(dst, data, src=src)
                inc(raw.stats, "tx_hdrincl")
            else:
                ip.output(dst, self.proto, data, src=src, ttl=self.ttl, tos=self.tos)
        except OSError:
            inc(raw.stats, "tx_error")
            raise
        inc(raw.stats, "tx")
        return len(data)

    def recvfrom(self):
        """-> (datagram with its IP header, (source address, 0)) for the oldest queued one, or
        None if none is queued; a pending ICMP error is raised first (once)."""
        self._check()
        return Datagrams.recvfrom(self)

    def close(self):
        if not self.closed:
            self.closed = True
            self._q = []
            self._raw._remove(self)


class Raw:
    def __init__(self, stack):
        self.stack = stack
        self.queue = stack.cfg.raw_queue
        self.max_endpoints = stack.cfg.raw_endpoints
        self.by_proto = {}  # protocol -> its endpoints, oldest first; only non-empty lists
        self.count = 0
        self.stats = {}

    def open(self, proto, queue=None):
        """A new endpoint for IP protocol proto (1..255): EPROTONOSUPPORT for 0 and EINVAL
        beyond 255, as Linux's inet_create; ENOBUFS when the table is full (as UDP)."""
        if not isinstance(proto, int) or proto < 0 or proto > 255:
            raise oserror(EINVAL)
        if proto == 0:
            raise oserror(EPROTONOSUPPORT)
        if self.count >= self.max_endpoints:
            raise oserror(ENOBUFS)
        ep = RawEndpoint(self, proto, self.queue if queue is None else queue)
        eps = self.by_proto.get(proto)
        if eps is None:
            eps = self.by_proto[proto] = []
        eps.append(ep)
        self.count += 1
        return ep

    def _remove(self, ep):
        eps = self.by_proto[ep.proto]
        eps.remove(ep)
        if not eps:
            del self.by_proto[ep.proto]
        self.count -= 1

    def endpoints(self):
        """Every open endpoint, oldest first per protocol (for limits and status)."""
        out = []
        for eps in self.by_proto.values():
            out.extend(eps)
        return out

    def input(self, h):
        """A datagram for us (reassembled; h its parsed header): queue a copy on every endpoint
        that matches. -> True if one matched, even when its queue was full, as Linux's
        raw_v4_input counts a match as delivered (the protocol then draws no unreachable)."""
        eps = self.by_proto.get(h.proto)
        if eps is None:
            return False
        src = h.src
        dst = h.dst
        item = None
        taken = False
        for ep in eps:
            if not matches(ep, h.proto, src, dst):
                continue
            taken = True
            if ep.full():
                # A reader that falls behind loses what does not fit, counted (Linux: the
                # socket's rcvbuf is full, RAW's InErrors); what is queued stays untouched.
                inc(self.stats, "drop_queue_full")
                continue
            if item is None:
                item = (bytes(h.datagram), (ip_ntoa(src), 0))
            inc(self.stats, "rx")
            ep._put(item)
        if not taken:
            inc(self.stats, "rx_unmatched")
        return taken

    def icmp_error(self, typ, code, quoted):
        """An ICMP error quoting (IP header first) a datagram of a protocol with raw endpoints:
        the endpoints that could have sent it (raw_v4_match on the quoted source and
        destination) hear of it when connected and the error is hard (Linux raw_err).
        -> True if an endpoint matched."""
        eps = self.by_proto.get(quoted[9])
        if eps is None:
            return False
        src = bytes(quoted[12:16])
        dst = bytes(quoted[16:20])
        hard = typ == icmpw.PARAM_PROBLEM or (typ == icmpw.DEST_UNREACH and
                                              code in _FATAL_UNREACH)
        taken = False
        for ep in eps:
            if not matches(ep, quoted[9], dst, src):
                continue
            taken = True
            if hard and ep.raddr != ANY:
                ep.error = error_errno(typ, code)
                inc(self.stats, "rx_icmp_error")
                ep._event()
        return taken

    def address_changed(self, old, new):
        """An interface's address changed: endpoints bound to the old one follow it (as UDP)."""
        for eps in self.by_proto.values():
            for ep in eps:
                if ep.laddr == old:
                    ep.laddr = new
