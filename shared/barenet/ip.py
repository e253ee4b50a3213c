"""IPv4 for a host without an OS: routing (loopback / on-link / gateway / broadcast),
fragmentation on send, bounded reassembly on receive, and dispatch to protocol handlers.

barenet is a host, not a router (RFC 1122 3.3.1): datagrams for other addresses are dropped.
"""

from .addr import LIMITED_BROADCAST, is_multicast
from .compat import oserror, EHOSTUNREACH, EINVAL, EMSGSIZE, ENETUNREACH, ENOBUFS, const
from .iface import Loopback
from .reasm import Reassembler
from .stats import inc
from .wire import Malformed, icmp as icmpw, ipv4

_IP_HLEN = const(20)
_MAX_DATAGRAM = const(65535)


class IP:
    def __init__(self, stack):
        cfg = stack.cfg
        self.stack = stack
        self.ttl = cfg.ttl
        self.handlers = {}
        self.handler_list = []  # the same, for the stack's poll (a dict view allocates)
        # True: datagrams to any unicast address are taken in (see input), for the transports'
        # catch_all hooks. Set by the one who sets those (barenet_host/nat/gateway.py).
        self.transparent = False
        self.stats = {}
        self.loopback = Loopback()
        self.loop_queue = cfg.loop_queue
        self._loop = []  # datagrams to ourselves, delivered by poll()
        self._ident = cfg.seed & 0xFFFF
        self._hdr = ipv4.Header()   # every datagram received is parsed into this one
        self._hop = None            # what _route found besides the interface
        self._rsrc = None
        self.reasm = Reassembler(self, cfg.reasm_datagrams, cfg.reasm_bytes, cfg.reasm_timeout_ms,
                                 cfg.reasm_share_pct)

    def register(self, proto, handler):
        old = self.handlers.get(proto)
        if old is not None:
            self.handler_list.remove(old)
        self.handlers[proto] = handler
        self.handler_list.append(handler)

    # -- routing -------------------------------------------------------------------------

    def is_local(self, dst):
        if dst[0] == 127:
            return True
        for i in self.stack.interfaces:
            if i.ip == dst and i.configured:
                return True
        return False

    def is_local_halves(self, hi, lo):
        # is_local for an address as 16-bit halves (a received header's), making no bytes
        if hi >> 8 == 127:
            return True
        for i in self.stack.interfaces:
            if i.ip_hi == hi and i.ip_lo == lo and i.configured:
                return True
        return False

    def _route(self, dst):
        """-> iface; self._hop is the next hop (None: link broadcast), self._rsrc the source.
        Not a tuple: output() routes every datagram, and a tuple is an allocation on
        MicroPython."""
        if self.is_local(dst):
            self._hop = self._rsrc = dst
            return self.loopback
        ifaces = self.stack.interfaces
        if dst == LIMITED_BROADCAST:
            # Also from an unconfigured interface, with source 0.0.0.0 (DHCP, RFC 2131 4.1).
            for i in ifaces:
                if i.running:
                    self._hop = None
                    self._rsrc = i.ip
                    return i
            raise oserror(ENETUNREACH)
        if is_multicast(dst):
            # A group leaves by the first running configured interface (RFC 1112 6.1: the
            # default interface), its MAC made from the group; a sender bound to one
            # interface (UDP's `device`) goes through _route_via instead
            for i in ifaces:
                if i.running and i.configured:
                    self._hop = dst
                    self._rsrc = i.ip
                    return i
            raise oserror(ENETUNREACH)
        for i in ifaces:
            if i.running and i.configured and i.on_link(dst):
                self._hop = None if dst == i.broadcast else dst
                self._rsrc = i.ip
                return i
        for i in ifaces:
            if i.running and i.gateway is not None:
                self._hop = i.gateway
                self._rsrc = i.ip
                return i
        raise oserror(ENETUNREACH if ifaces else EHOSTUNREACH)

    def _route_via(self, iface, dst):
        """_route restricted to iface (SO_BINDTODEVICE): the DHCP client and server speak on
        their own link whatever else the stack has."""
        if not iface.running:
            raise oserror(ENETUNREACH)
        if dst == LIMITED_BROADCAST or dst == iface.broadcast:
            self._hop = None
        elif is_multicast(dst):
            self._hop = dst              # a group: its MAC, no ARP (iface.output)
        elif iface.configured and iface.on_link(dst):
            self._hop = dst
        elif iface.gateway is not None:
            self._hop = iface.gateway
        else:
            raise oserror(ENETUNREACH)
        self._rsrc = iface.ip
        return iface

    def route(self, dst):
        """-> (iface, source address) for dst; raises OSError(ENETUNREACH) without a route."""
        iface = self._route(dst)
        return iface, self._rsrc

    def neighbor_suspect(self, dst):
        """A transport got no answer from dst: have the neighbour cache probe the MAC of its
        next hop (unicast, still using it meanwhile) and forget it only if the probes go
        unanswered. ARP has no checksum, so a corrupted reply can plant a wrong MAC; this is
        RFC 1122 2.3.2.1's "advice from the transport layer" that Linux's NUD acts on."""
        try:
            iface = self._route(dst)
        except OSError:
            return
        next_hop = self._hop
        if iface is not self.loopback and next_hop is not None:
            iface.suspect_neighbor(next_hop, self.stack.now)

    # -- output --------------------------------------------------------------------------

    def next_ident(self):
        self._ident = (self._ident + 1) & 0xFFFF
        return self._ident

    def output(self, dst, proto, payload, src=None, hdr=None, ttl=None, df=False, tos=0,
               now=None, via=None, gso=0):
        """Send one datagram: hdr (optional transport header) then payload. now: the time
        (for ARP); user sends without one act at the stack's last input or poll. gso: a TCP
        super-segment up to the interface's tso_max, cut into segments of gso payload bytes
        by the NIC (nic.py send_tso). via: only through that interface."""
        iface = self._route(dst) if via is None else self._route_via(via, dst)
        next_hop = self._hop
        if src is None:
            src = self._rsrc
        if ttl is None:
            ttl = self.ttl
        if now is None:
            now = self.stack.now
        hl = len(hdr) if hdr is not None else 0
        plen = hl + len(payload)
        if plen + _IP_HLEN > _MAX_DATAGRAM:
            raise oserror(EMSGSIZE)
        ident = self.next_ident()
        if iface is self.loopback:
            self._loop_room()
            d = bytearray(_IP_HLEN + plen)
            ipv4.emit(d, 0, src, dst, proto, plen, ident, ttl, tos, df)
            if hl:
                d[_IP_HLEN:_IP_HLEN + hl] = hdr
            d[_IP_HLEN + hl:] = payload
            self._loop_put(d)
            return
        if plen + _IP_HLEN <= iface.mtu or (gso and plen + _IP_HLEN <= iface.tso_max):
            buf = iface.txbuf
            h = iface.hlen
            ipv4.emit(buf, h, src, dst, proto, plen, ident, ttl, tos, df)
            o = h + _IP_HLEN
            if hl:
                buf[o:o + hl] = hdr
            buf[o + hl:o + plen] = payload
            inc(self.stats, "tx")
            iface.output(_IP_HLEN + plen, next_hop, now, gso)
            return
        if df:
            raise oserror(EMSGSIZE)
        self._fragment(iface, next_hop, src, dst, proto, hdr, payload, ident, ttl, tos, now)

    def output_datagram(self, dst, datagram, src=None, now=None):
        """IP_HDRINCL (raw(7)): send the caller's datagram, its own header first, to dst.
        Filled in as Linux's raw_send_hdrinc does (wire.ipv4.complete): total length, a zero
        source (with src, or the route's), a zero ident, the checksum. Never fragmented:
        Linux refuses a datagram larger than the MTU with EMSGSIZE. A header length under 20
        bytes is EINVAL here; Linux sends such a header unmodified, which nobody can parse."""
        n = len(datagram)
        if n < _IP_HLEN or datagram[0] & 0x0F < 5 or (datagram[0] & 0x0F) * 4 > n:
            raise oserror(EINVAL)
        if n > _MAX_DATAGRAM:
            raise oserror(EMSGSIZE)
        iface = self._route(dst)
        next_hop = self._hop
        if src is None:
            src = self._rsrc
        if now is None:
            now = self.stack.now
        if iface is self.loopback:
            self._loop_room()
            d = bytearray(datagram)
            ipv4.complete(d, 0, n, src, self.next_ident)
            self._loop_put(d)
            return
        if n > iface.mtu:
            raise oserror(EMSGSIZE)
        buf = iface.txbuf
        h = iface.hlen
        buf[h:h + n] = datagram
        ipv4.complete(buf, h, n, src, self.next_ident)
        inc(self.stats, "tx")
        iface.output(n, next_hop, now)

    def _loop_room(self):
        if len(self._loop) >= self.loop_queue:
            inc(self.stats, "drop_loop_full")
            raise oserror(ENOBUFS)

    def _loop_put(self, d):
        self._loop.append(d)
        inc(self.stats, "tx_loopback")

    def _fragment(self, iface, next_hop, src, dst, proto, hdr, payload, ident, ttl, tos, now):
        # RFC 791 3.2: every fragment but the last carries a multiple of 8 data bytes.
        data = memoryview(bytes(hdr) + bytes(payload)) if hdr is not None else memoryview(payload)
        step = (iface.mtu - _IP_HLEN) & ~7
        buf = iface.txbuf
        h = iface.hlen
        o = h + _IP_HLEN
        off = 0
        n = len(data)
        while off < n:
            chunk = min(step, n - off)
            ipv4.emit(buf, h, src, dst, proto, chunk, ident, ttl, tos, False,
                      off + chunk < n, off)
            buf[o:o + chunk] = data[off:off + chunk]
            inc(self.stats, "tx_fragment")
            iface.output(_IP_HLEN + chunk, next_hop, now)
            off += chunk
        inc(self.stats, "tx")

    def resolution_failed(self, datagram, now):
        """ARP gave up: tell the sender, as a local ICMP host unreachable would (RFC 1122 2.3.2.2)."""
        if (datagram[6] & 0x1F) or datagram[7]:
            return  # a later fragment quotes no transport header: its first fragment reports
        self.deliver_error(icmpw.DEST_UNREACH, icmpw.HOST_UNREACH, 0,
                           memoryview(datagram)[0:(datagram[0] & 0x0F) * 4 + 8], now)

    def deliver_error(self, typ, code, info, quoted, now):
        """An ICMP error (received, or made up locally) about a datagram we sent, which
        `quoted` holds from its IP header on: hand it to the transport that sent it.
        False when the quote is too short or names a protocol nobody speaks."""
        if len(quoted) < _IP_HLEN or len(quoted) < (quoted[0] & 0x0F) * 4 + 8:
            inc(self.stats, "icmp_error_short_quote")
            return False
        # Linux's icmp_socket_deliver: raw endpoints of the protocol hear of it as well as
        # its handler (raw_icmp_error, then the protocol's err_handler).
        raw = self.stack.raw
        taken = raw.by_proto and raw.icmp_error(typ, code, quoted)
        handler = self.handlers.get(quoted[9])
        if handler is None:
            if taken:
                return True
            inc(self.stats, "icmp_error_no_handler")
            return False
        handler.icmp_error(typ, code, info, quoted, now)
        return True

    # -- input ---------------------------------------------------------------------------

    def input(self, iface, data, now):
        h = self._hdr
        try:
            ipv4.parse_into(data, h)
        except Malformed as e:
            inc(self.stats, "drop_" + e.args[0])
            return
        inc(self.stats, "rx")
        if iface is not self.loopback:
            # Addresses compared as 16-bit halves: bytes for them would be allocations.
            hi = h.dst_hi
            lo = h.dst_lo
            if hi != iface.ip_hi or lo != iface.ip_lo or not iface.configured:
                if not (hi == 0xFFFF and lo == 0xFFFF) and \
                        (hi != iface.bcast_hi or lo != iface.bcast_lo) and \
                        not (0xE000 <= hi < 0xF000 and iface.groups and (hi, lo) in iface.groups):
                    # A transparent stack (a NAT gateway, barenet_host/nat) takes unicast to
                    # any address; its transports hand what is not ours to their catch_all.
                    if not self.transparent or hi >= 0xE000 or not iface.configured:
                        inc(self.stats, "drop_not_ours")
                        return
                else:
                    # Decided once here for every transport: TCP drops it (RFC 9293 3.9.2),
                    # UDP sends no port unreachable and ICMP no echo reply (RFC 1122 3.2.2).
                    h.bcast = True
            hi = h.src_hi
            lo = h.src_lo
            # RFC 1122 3.2.1.3: a source must be a unicast host, and never a loopback or one
            # of our own addresses when it comes from a NIC (Linux drops these as martians).
            if (hi == 0xFFFF and lo == 0xFFFF) or (hi == iface.bcast_hi and lo == iface.bcast_lo) \
                    or hi >= 0xE000 or self.is_local_halves(hi, lo):
                inc(self.stats, "drop_bad_src")
                return
        payload = h.payload
        if h.mf or h.frag_off:
            done = self.reasm.add(h, payload, now)
            if done is None:
                return
            h, payload = done
        # Linux's ip_protocol_deliver_rcu: raw endpoints get their copy first (of the whole
        # datagram, reassembled), then the protocol's handler runs as if they were not there.
        raw = self.stack.raw
        taken = raw.by_proto and raw.input(h)
        handler = self.handlers.get(h.proto)
        if handler is None:
            if taken:
                return  # a raw endpoint speaks the protocol: no protocol unreachable (Linux)
            inc(self.stats, "drop_proto")
            self.stack.icmp.send_error(icmpw.DEST_UNREACH, icmpw.PROTO_UNREACH, h.datagram,
                                       h.bcast, now)
            return
        handler.input(iface, h, payload, now)

    # -- timers --------------------------------------------------------------------------

    def pending(self):
        return bool(self._loop)

    def poll(self, now):
        """Deliver datagrams queued on the loopback; expire reassembly; ms until next timer."""
        wait = self.reasm.poll(now)
        if self._loop:
            q = self._loop
            self._loop = []
            for d in q:
                inc(self.loopback.stats, "rx")
                self.input(self.loopback, memoryview(d), now)
            # What was delivered may be what a task waits for: ask to be run again at once.
            return 0
        return wait
