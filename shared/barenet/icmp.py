"""ICMP (RFC 792, RFC 1122 3.2.2): echo responder and client, rate-limited error messages,
and delivery of received errors to the protocol that sent the offending datagram."""

from .addr import ip_aton, ip_ntoa
from .compat import (oserror, ECONNREFUSED, EHOSTDOWN, EHOSTUNREACH, EMSGSIZE, ENETUNREACH,
                     ENONET, ENOPROTOOPT, EOPNOTSUPP, EPROTO, EADDRINUSE, const)
from . import ticks
from .readiness import Ready
from .stats import inc
from .wire import Malformed, icmp as w

_PROTO = const(1)
_IP_HLEN = const(20)
# RFC 1812 4.3.2.3: quote as much of the datagram as fits in a 576-byte error.
_MAX_QUOTE = const(576 - 20 - 8)
_ERROR_TYPES = (w.DEST_UNREACH, w.SOURCE_QUENCH, w.REDIRECT, w.TIME_EXCEEDED, w.PARAM_PROBLEM)
# Destination unreachable code -> errno, as Linux's icmp_err_convert[] (net/ipv4/icmp.c).
_UNREACH_ERRNO = (ENETUNREACH, EHOSTUNREACH, ENOPROTOOPT, ECONNREFUSED, EMSGSIZE, EOPNOTSUPP,
                  ENETUNREACH, EHOSTDOWN, ENONET, ENETUNREACH, EHOSTUNREACH, ENETUNREACH,
                  EHOSTUNREACH, EHOSTUNREACH, EHOSTUNREACH, EHOSTUNREACH)


def error_errno(typ, code):
    """The errno a socket reports for an ICMP error, as Linux (icmp_err_convert[] for
    destination unreachable; tcp_v4_err / __udp4_lib_err for the other types); 0 for the
    messages a host ignores (source quench, RFC 6633; redirects; anything else)."""
    if typ == w.DEST_UNREACH:
        return _UNREACH_ERRNO[code] if code < len(_UNREACH_ERRNO) else EHOSTUNREACH
    if typ == w.TIME_EXCEEDED:
        return EHOSTUNREACH
    if typ == w.PARAM_PROBLEM:
        return EPROTO
    return 0


class EchoEndpoint(Ready):
    """Sends echo requests with one identifier and queues the replies (a ping client).
    Readiness (readiness.py): a reply arrived."""

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
    def __init__(self, stack):
        cfg = stack.cfg
        self.stack = stack
        self.stats = {}
        self.echo = {}  # identifier -> EchoEndpoint
        self.echo_queue = cfg.echo_queue
        self.error_burst = cfg.icmp_error_burst
        self.error_interval_ms = cfg.icmp_error_interval_ms
        self._bucket = [self.error_burst, 0]  # [tokens, time of the last refill]
        self.dest_burst = cfg.icmp_dest_burst
        self.dest_interval_ms = cfg.icmp_dest_interval_ms
        self.dest_table = cfg.icmp_dest_table
        self.dests = {}  # destination address -> its bucket, at most dest_table of them
        self._hdr = bytearray(w.HEADER_LEN)
        # fn(h, rest, body, now) for an echo request to an address not ours
        # (IP.transparent): a NAT gateway carries it on
        self.catch_all = None

    def echo_endpoint(self, ident):
        if ident in self.echo:
            raise oserror(EADDRINUSE)
        ep = EchoEndpoint(self, ident & 0xFFFF, self.echo_queue)
        self.echo[ep.ident] = ep
        return ep

    def send(self, dst, typ, code, rest, body, hdr=None, src=None, now=None):
        """Send one ICMP message: the 8-byte header is built in hdr, body follows it."""
        if hdr is None:
            hdr = self._hdr
        w.emit_header(hdr, typ, code, rest, body)
        self.stack.ip.output(dst, _PROTO, body, src=src, hdr=hdr, now=now)
        inc(self.stats, "tx")

    def input(self, iface, h, payload, now):
        try:
            typ, code, rest, body = w.parse(payload)
        except Malformed as e:
            inc(self.stats, "drop_" + e.args[0])
            return
        inc(self.stats, "rx")
        if typ == w.ECHO_REQUEST:
            if h.src[0] == 0:
                # RFC 1122 3.2.1.3: 0.0.0.0 is only a source while a host learns its address;
                # there is nobody to answer.
                inc(self.stats, "drop_echo_from_zero")
                return
            if h.bcast:
                # Like Linux's icmp_echo_ignore_broadcasts=1 (RFC 1122 3.2.2.6 allows it).
                inc(self.stats, "drop_broadcast_echo")
                return
            if self.catch_all is not None and \
                    not self.stack.ip.is_local_halves(h.dst_hi, h.dst_lo):
                self.catch_all(h, rest, body, now)
                return
            try:
                self.send(h.src, w.ECHO_REPLY, 0, rest, body, src=h.dst, now=now)
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
                ep._event()
        elif typ in _ERROR_TYPES:
            # body quotes the offending datagram: its IP header and at least 8 bytes.
            info = rest & 0xFFFF if (typ == w.DEST_UNREACH and code == w.FRAG_NEEDED) else 0
            if self.stack.ip.deliver_error(typ, code, info, body, now):
                inc(self.stats, "rx_error")
            else:
                inc(self.stats, "drop_error")
        else:
            inc(self.stats, "rx_other")

    def icmp_error(self, typ, code, info, quoted, now):
        # An error about an ICMP message we sent: only echo requests can have an owner.
        ihl = (quoted[0] & 0x0F) * 4
        if quoted[ihl] == w.ECHO_REQUEST:
            inc(self.stats, "rx_echo_error")

    def send_error(self, typ, code, datagram, bcast, now, info=0):
        """Report an error about a received datagram (its bytes, header first) to its sender;
        bcast: it was sent to a broadcast address (IP.input's verdict). Rate limited in all and
        per destination, as Linux (icmp_msgs_per_sec, and icmp_ratelimit, whose mask covers
        the error types only: echo replies, sent by input(), are never limited)."""
        if bcast or not self._may_send_error(datagram):
            return
        g = self._bucket
        _refill(g, now, self.error_burst, self.error_interval_ms)
        if g[0] == 0:
            inc(self.stats, "error_rate_limited")
            return
        dst = bytes(datagram[12:16])
        if not self._take_dest(dst, now):
            inc(self.stats, "error_rate_limited_dest")
            return
        g[0] -= 1  # charged only once the destination allows it, as Linux's icmp_global_consume
        try:
            self.send(dst, typ, code, info & 0xFFFF, datagram[0:_MAX_QUOTE], now=now)
            inc(self.stats, "tx_error")
        except OSError:
            inc(self.stats, "drop_error_unroutable")

    def _take_dest(self, dst, now):
        # Linux keeps a bucket per peer (inetpeer); this table is bounded: a new destination
        # replaces the one that needed an error least recently. The scan is paid only for
        # errors the global bucket lets through, so at most icmp_error_burst per interval.
        b = self.dests.get(dst)
        if b is None:
            if len(self.dests) >= self.dest_table:
                del self.dests[ticks.oldest(self.dests, 2)]
                inc(self.stats, "error_dest_evicted")
            b = self.dests[dst] = [self.dest_burst, now, now]  # [tokens, refilled, last used]
        else:
            _refill(b, now, self.dest_burst, self.dest_interval_ms)
            b[2] = now
        if b[0] == 0:
            return False
        b[0] -= 1
        return True

    def _may_send_error(self, d):
        # RFC 1122 3.2.2: never about an ICMP error, a non-first fragment, or a datagram
        # whose source is not a unicast host (IP.input already dropped broadcast and
        # multicast sources; 0.0.0.0 is left) or whose destination was a broadcast.
        if len(d) < _IP_HLEN:
            return False
        if (d[6] & 0x1F) or d[7] or d[12] == 0:
            return False
        ihl = (d[0] & 0x0F) * 4
        if d[9] == _PROTO and len(d) > ihl and d[ihl] in _ERROR_TYPES:
            return False
        return True

    def poll(self, now):
        return None


def _refill(b, now, burst, interval):
    """Token bucket b = [tokens, stamp, ...], as Linux's icmp_ratelimit: a burst of `burst`,
    then one token per `interval` ms. The stamp moves by whole intervals only, so no fraction
    of one is lost."""
    d = ticks.diff(now, b[1])
    if b[0] >= burst or d < 0 or d >= burst * interval:
        b[0] = burst
        b[1] = now
    else:
        n = d // interval
        if n:
            b[0] = min(burst, b[0] + n)
            b[1] = ticks.add(b[1], n * interval)
