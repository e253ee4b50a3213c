"""ICMP (RFC 792, RFC 1122 3.2.2): echo responder and client, rate-limited error messages,
and delivery of received errors to the protocol that sent the offending datagram."""

import struct

from .addr import ip_aton, ip_ntoa
from .compat import (oserror, ECONNREFUSED, EHOSTUNREACH, EMSGSIZE, ENETUNREACH, ENOPROTOOPT,
                     EADDRINUSE, const)
from . import ticks
from .stats import inc
from .wire import icmp as w
from .wire.checksum import csum, finish

_PROTO = const(1)
_IP_HLEN = const(20)
# RFC 1812 4.3.2.3: quote as much of the datagram as fits in a 576-byte error.
_MAX_QUOTE = const(576 - 20 - 8)
_ERROR_TYPES = (w.DEST_UNREACH, 4, 5, w.TIME_EXCEEDED, 12)


def error_errno(typ, code):
    """The errno a socket reports for an ICMP error (the table Linux uses in icmp_err_convert)."""
    if typ == w.DEST_UNREACH:
        if code == w.NET_UNREACH:
            return ENETUNREACH
        if code == w.PROTO_UNREACH:
            return ENOPROTOOPT
        if code == w.PORT_UNREACH:
            return ECONNREFUSED
        if code == w.FRAG_NEEDED:
            return EMSGSIZE
    return EHOSTUNREACH


class EchoEndpoint:
    """Sends echo requests with one identifier and queues the replies (a ping client)."""

    def __init__(self, icmp, ident, queue):
        self._icmp = icmp
        self.ident = ident
        self.queue_len = queue
        self._q = []

    def send(self, dst, seq, data=b""):
        hdr = bytearray(w.HEADER_LEN)
        self._icmp.send(ip_aton(dst), w.ECHO_REQUEST, 0, w.echo_rest(self.ident, seq), data, hdr)

    def recv(self):
        """-> (source address, seq, data) of the oldest reply, or None."""
        if self._q:
            return self._q.pop(0)
        return None

    def close(self):
        self._icmp.echo.pop(self.ident, None)


class ICMP:
    def __init__(self, stack, error_burst=10, error_interval_ms=100, echo_queue=8):
        self.stack = stack
        self.stats = {}
        self.echo = {}  # identifier -> EchoEndpoint
        self.echo_queue = echo_queue
        self.error_burst = error_burst
        self.error_interval_ms = error_interval_ms
        self._tokens = error_burst
        self._stamp = 0
        self._hdr = bytearray(w.HEADER_LEN)

    def echo_endpoint(self, ident):
        if ident in self.echo:
            raise oserror(EADDRINUSE)
        ep = EchoEndpoint(self, ident & 0xFFFF, self.echo_queue)
        self.echo[ep.ident] = ep
        return ep

    def send(self, dst, typ, code, rest, body, hdr=None, src=None):
        """Send one ICMP message: the 8-byte header is built in hdr, body follows it."""
        if hdr is None:
            hdr = self._hdr
        struct.pack_into("!BBHI", hdr, 0, typ, code, 0, rest)
        c = finish(csum(body, csum(hdr)))
        hdr[2] = c >> 8
        hdr[3] = c & 0xFF
        self.stack.ip.output(dst, _PROTO, body, src=src, hdr=hdr)
        inc(self.stats, "tx")

    def input(self, iface, h, payload, now):
        try:
            typ, code, rest, body = w.parse(payload)
        except ValueError as e:
            inc(self.stats, "drop_" + e.args[0])
            return
        inc(self.stats, "rx")
        if typ == w.ECHO_REQUEST:
            if h.src[0] == 0:
                # RFC 1122 3.2.1.3: 0.0.0.0 is only a source while a host learns its address;
                # there is nobody to answer.
                inc(self.stats, "drop_echo_from_zero")
                return
            if self.stack.ip.is_broadcast(iface, h.dst):
                # Like Linux's icmp_echo_ignore_broadcasts=1 (RFC 1122 3.2.2.6 allows it).
                inc(self.stats, "drop_broadcast_echo")
                return
            try:
                self.send(h.src, w.ECHO_REPLY, 0, rest, body, src=h.dst)
                inc(self.stats, "tx_echo_reply")
            except OSError:
                inc(self.stats, "drop_reply_failed")
        elif typ == w.ECHO_REPLY:
            ep = self.echo.get(rest >> 16)
            if ep is None:
                inc(self.stats, "drop_no_endpoint")
            elif len(ep._q) >= ep.queue_len:
                inc(self.stats, "drop_queue_full")
            else:
                ep._q.append((ip_ntoa(h.src), rest & 0xFFFF, bytes(body)))
        elif typ == w.DEST_UNREACH or typ == w.TIME_EXCEEDED:
            # body quotes the offending datagram: its IP header and at least 8 bytes.
            if len(body) < _IP_HLEN or len(body) < (body[0] & 0x0F) * 4 + 8:
                inc(self.stats, "drop_short_quote")
                return
            handler = self.stack.ip.handlers.get(body[9])
            if handler is None:
                inc(self.stats, "drop_no_handler")
                return
            inc(self.stats, "rx_error")
            info = rest & 0xFFFF if (typ == w.DEST_UNREACH and code == w.FRAG_NEEDED) else 0
            handler.icmp_error(typ, code, info, body, now)
        else:
            inc(self.stats, "rx_other")

    def icmp_error(self, typ, code, info, quoted, now):
        # An error about an ICMP message we sent: only echo requests can have an owner.
        ihl = (quoted[0] & 0x0F) * 4
        if quoted[ihl] == w.ECHO_REQUEST:
            inc(self.stats, "rx_echo_error")

    def send_error(self, typ, code, datagram, info=0):
        """Report an error about a received datagram (its bytes, header first) to its sender."""
        if not self._may_send_error(datagram):
            return
        if not self._take_token(self.stack.now):
            inc(self.stats, "error_rate_limited")
            return
        try:
            self.send(bytes(datagram[12:16]), typ, code, info & 0xFFFF, datagram[0:_MAX_QUOTE])
            inc(self.stats, "tx_error")
        except OSError:
            inc(self.stats, "drop_error_unroutable")

    def _take_token(self, now):
        # Token bucket, like Linux's icmp_ratelimit: a burst of error_burst, then one per interval.
        d = ticks.diff(now, self._stamp)
        if self._tokens >= self.error_burst or d < 0 or d >= self.error_burst * self.error_interval_ms:
            self._tokens = self.error_burst
            self._stamp = now
        else:
            n = d // self.error_interval_ms
            if n:
                self._tokens = min(self.error_burst, self._tokens + n)
                self._stamp = ticks.add(self._stamp, n * self.error_interval_ms)
        if self._tokens == 0:
            return False
        self._tokens -= 1
        return True

    def _may_send_error(self, d):
        # RFC 1122 3.2.2: never about an ICMP error, a non-first fragment, or a datagram
        # whose source is not a unicast host or whose destination was a broadcast.
        if len(d) < _IP_HLEN:
            return False
        src = d[12:16]
        dst = d[16:20]
        if (d[6] & 0x1F) or d[7]:
            return False
        if src[0] == 0 or src[0] >= 224 or dst[0] >= 224 or bytes(dst) == b"\xff\xff\xff\xff":
            return False
        for i in self.stack.interfaces:
            if dst == i.broadcast or src == i.broadcast:
                return False
        ihl = (d[0] & 0x0F) * 4
        if d[9] == _PROTO and len(d) > ihl and d[ihl] in _ERROR_TYPES:
            return False
        return True

    def poll(self, now):
        return None
