"""UDP endpoints (RFC 768): bind (fixed or ephemeral port), sendto, recvfrom with a bounded
queue, broadcast, port unreachable for closed ports, ICMP errors reported to the sender."""

from .addr import ANY, ip_aton, ip_ntoa
from .compat import oserror, EADDRINUSE, EADDRNOTAVAIL, EINVAL, EMSGSIZE, ENOBUFS, const
from .icmp import error_errno
from .readiness import Datagrams
from .stats import inc
from .wire import Malformed, icmp as icmpw, udp as w

_PROTO = const(17)
_MAX_PAYLOAD = const(65535 - 20 - 8)
EPHEMERAL_LOW = const(49152)  # RFC 6335 6: the dynamic port range
EPHEMERAL_HIGH = const(65535)


class UDPEndpoint(Datagrams):
    """A bound port. Readiness (readiness.py): a datagram or an ICMP error arrived.
    recvfrom() -> (data, (ip, port)), or None."""

    def __init__(self, udp, addr, port, queue):
        Datagrams.__init__(self, queue)
        self._udp = udp
        self.addr = addr  # 4 bytes; ANY accepts datagrams for every local address
        self.port = port
        self._hdr = bytearray(w.HEADER_LEN)
        self.ttl = None  # IP_TTL of what sendto() sends; None: the stack's (cfg.ttl)
        # An interface the endpoint is bound to (SO_BINDTODEVICE): it sends only through it
        # and hears only what arrives on it; None: every interface
        self.device = None

    def sendto(self, data, addr):
        """Send one datagram to (ip, port); raises OSError like a BSD socket would."""
        dst = ip_aton(addr[0])
        port = addr[1]
        if not 0 < port < 65536:
            raise oserror(EINVAL)
        if len(data) > _MAX_PAYLOAD:
            raise oserror(EMSGSIZE)
        dev = self.device
        if self.addr != ANY:
            src = self.addr
        elif dev is None:
            src = self._udp.stack.ip.route(dst)[1]
        else:
            src = dev.ip
        self._udp.output(src, self.port, dst, port, data, self.ttl, self._hdr, dev)
        return len(data)

    def close(self):
        self._udp.endpoints.pop(self.port, None)


class UDP:
    def __init__(self, stack):
        self.stack = stack
        self.queue = stack.cfg.udp_queue
        self.max_endpoints = stack.cfg.udp_endpoints
        self.endpoints = {}  # port -> UDPEndpoint
        self.stats = {}
        self._hdr = bytearray(w.HEADER_LEN)
        # fn(h, sport, dport, data, now) for a datagram to an address not ours
        # (IP.transparent): a NAT gateway carries it on
        self.catch_all = None
        self._next_port = EPHEMERAL_LOW + (stack.cfg.seed % (EPHEMERAL_HIGH - EPHEMERAL_LOW))

    def bind(self, port=0, addr=None, queue=None):
        a = ANY if addr is None else ip_aton(addr)
        if a != ANY and not self.stack.ip.is_local(a):
            raise oserror(EADDRNOTAVAIL)
        if len(self.endpoints) >= self.max_endpoints:
            # ENOBUFS, not EMFILE: the table is the stack's, not a per-process descriptor limit
            # (EMFILE tells a Linux user to raise RLIMIT_NOFILE, which would not help). lwIP
            # says the same of its exhausted memp pools (ERR_MEM), and TCP's connect() beyond
            # max_connections already raises ENOBUFS: one errno for "a stack table is full".
            raise oserror(ENOBUFS)
        if port == 0:
            port = self._ephemeral()
        elif not 0 < port < 65536:
            raise oserror(EINVAL)
        elif port in self.endpoints:
            raise oserror(EADDRINUSE)
        ep = UDPEndpoint(self, a, port, self.queue if queue is None else queue)
        self.endpoints[port] = ep
        return ep

    def output(self, src, sport, dst, dport, data, ttl=None, hdr=None, via=None):
        """Send one datagram from src:sport (a NAT gateway's: any address) to dst:dport, out
        of interface `via` when the sender is bound to one."""
        if hdr is None:
            hdr = self._hdr
        w.emit_header(hdr, src, dst, sport, dport, data)
        try:
            self.stack.ip.output(dst, _PROTO, data, src=src, hdr=hdr, ttl=ttl, via=via)
        except OSError:
            # Not queued anywhere (no route, ARP's queue full, loopback full): the caller hears
            # of it, as a full buffer must push back rather than lose the datagram in silence.
            inc(self.stats, "tx_error")
            raise
        inc(self.stats, "tx")

    def _ephemeral(self):
        span = EPHEMERAL_HIGH - EPHEMERAL_LOW + 1
        for _ in range(span):
            p = self._next_port
            self._next_port = EPHEMERAL_LOW + (p - EPHEMERAL_LOW + 1) % span
            if p not in self.endpoints:
                return p
        raise oserror(EADDRINUSE)

    def input(self, iface, h, payload, now):
        try:
            sport, dport, data = w.parse(payload, h.src, h.dst, not iface.rx_csum_ok)
        except Malformed as e:
            inc(self.stats, "drop_" + e.args[0])
            return
        inc(self.stats, "rx")
        if self.catch_all is not None and not h.bcast and \
                not self.stack.ip.is_local_halves(h.dst_hi, h.dst_lo):
            self.catch_all(h, sport, dport, data, now)
            return
        ep = self.endpoints.get(dport)
        if ep is None or (ep.addr != ANY and ep.addr != h.dst) or \
                (ep.device is not None and ep.device is not iface):
            inc(self.stats, "drop_no_port")
            self.stack.icmp.send_error(icmpw.DEST_UNREACH, icmpw.PORT_UNREACH, h.datagram,
                                       h.bcast, now)
            return
        if ep.full():
            # RFC 768 has no flow control: a reader that falls behind loses what does not fit,
            # counted (Linux UDP_MIB_RCVBUFERRORS); what is queued stays untouched.
            inc(self.stats, "drop_queue_full")
            return
        ep._put((bytes(data), (ip_ntoa(h.src), sport)))

    def icmp_error(self, typ, code, info, quoted, now):
        ihl = (quoted[0] & 0x0F) * 4
        src = bytes(quoted[12:16])
        sport = (quoted[ihl] << 8) | quoted[ihl + 1]
        ep = self.endpoints.get(sport)
        # The quoted datagram must be one we could have sent from that endpoint.
        if ep is None or not self.stack.ip.is_local(src) or (ep.addr != ANY and ep.addr != src):
            inc(self.stats, "drop_icmp_no_port")
            return
        err = error_errno(typ, code)
        if err:
            inc(self.stats, "rx_icmp_error")
            ep.error = err
            ep._event()

    def address_changed(self, old, new):
        """An interface's address changed: endpoints bound to the old one follow it (lwIP's
        udp_netif_ip_addr_changed), or fall back to any address when it went away."""
        for ep in self.endpoints.values():
            if ep.addr == old:
                ep.addr = new

    def poll(self, now):
        return None
