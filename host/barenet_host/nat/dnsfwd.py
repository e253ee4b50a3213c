"""The NAT gateway's DNS forwarder (issue 10 item 5): queries to port 53 of the gateway's stack
go to the host's resolver through one host UDP socket, and the answers come back to the board.

A query over TCP (the board's retry of a truncated answer, RFC 7766 5) goes upstream over the
same UDP socket with an EDNS0 OPT record offering 4096 bytes (RFC 6891 6.2.3), which the host's
resolver fills with the whole answer; it returns over the board's TCP connection. So the
gateway needs no host TCP connection per query, and its loop never waits on one.

Every query gets an id of our own upstream (the board's ids could collide with each other and
a spoofed answer should be hard to guess), is matched by it on the way back, and waits in a
bounded table: when the table is full, or the upstream stays silent past the timeout, the board
is answered SERVFAIL (RFC 1035 4.1.1) instead of being left to time out in silence.

    fwd = DNSForwarder(stack, runner, upstream_from_resolv_conf())   # or ("198.51.100.1", 53)
    runner.add_task(fwd.poll)
"""

import os
import socket
import struct

from barenet import ticks
from barenet.stats import inc
from barenet.wire import dns

RESOLV_CONF = "/etc/resolv.conf"
# An OPT pseudo-record: root name, type 41, UDP payload 4096, no extended flags (RFC 6891 6.1.2)
_OPT_4096 = b"\x00\x00\x29\x10\x00\x00\x00\x00\x00\x00\x00"
_MAX_TCP = 8            # board connections served at once; more are refused (closed)


def upstream_from_resolv_conf(path=RESOLV_CONF):
    """(address, 53) of the first IPv4 `nameserver` in resolv.conf(5); ValueError if none."""
    try:
        with open(path) as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 2 and parts[0] == "nameserver":
                    try:
                        socket.inet_aton(parts[1])
                    except OSError:
                        continue    # an IPv6 server: the forwarder speaks IPv4
                    return parts[1], dns.PORT
    except OSError as e:
        raise ValueError("cannot read %s: %s" % (path, e.strerror))
    raise ValueError("no IPv4 nameserver in %s (give one with --dns ADDR)" % path)


class DNSForwarder:
    """pending: our id -> (board: a UDP (address, port) or a _TCPQuery, board's id,
    question bytes, deadline ms)."""

    def __init__(self, stack, runner, upstream, timeout_ms=5000, max_pending=64, port=dns.PORT,
                 addr=None):
        self.stack = stack
        self.upstream = (upstream[0], int(upstream[1]))
        self.timeout_ms = timeout_ms
        self.max_pending = max_pending
        self.pending = {}
        self.stats = {}
        self.ep = stack.udp.bind(port, addr=addr, queue=16)
        self.listener = stack.tcp.listen(port, addr=addr)
        self.tcp = []           # _TCPQuery: board connections
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setblocking(False)
        self.sock.connect(self.upstream)    # the kernel then drops datagrams from anyone else
        self._runner = runner
        self._next = struct.unpack("!H", os.urandom(2))[0]
        runner.add_fd(self.sock.fileno(), self._from_upstream)

    def close(self):
        self._runner.remove_fd(self.sock.fileno())
        self.sock.close()
        self.ep.close()
        self.listener.close()
        for t in self.tcp:
            t.conn.abort()
        self.tcp = []

    def _new_id(self):
        for _ in range(4):
            i = struct.unpack("!H", os.urandom(2))[0]
            if i not in self.pending:
                return i
        while self._next in self.pending:       # a nearly full 16-bit space: walk it
            self._next = (self._next + 1) & 0xFFFF
        return self._next

    def poll(self, now):
        """Forward the board's queries; answer those that timed out. -> ms to the next deadline."""
        for data, peer in self.ep.datagrams(16):
            self._from_board(data, peer, now)
        self._poll_tcp(now)
        wait = 0 if self.ep.pending() else None
        for t in self.tcp:
            if not t.asked:
                wait = ticks.earliest(wait, ticks.until(t.deadline, now))
        for i in list(self.pending):
            p = self.pending[i]
            if ticks.due(p[3], now):
                del self.pending[i]
                inc(self.stats, "timeout")
                self._answer_failure(p[0], p[1], p[2])
            else:
                wait = ticks.earliest(wait, ticks.until(p[3], now))
        return wait

    def _poll_tcp(self, now):
        c = self.listener.accept()
        while c is not None:
            if len(self.tcp) >= _MAX_TCP:
                inc(self.stats, "drop_tcp_full")
                c.abort()
            else:
                self.tcp.append(_TCPQuery(c, ticks.add(now, self.timeout_ms)))
            c = self.listener.accept()
        for t in list(self.tcp):
            if not t.asked and ticks.due(t.deadline, now):
                inc(self.stats, "tcp_idle")     # a connection that never asks
                t.conn.abort()
                self.tcp.remove(t)
                continue
            q = t.read()
            if q is not None:
                # RFC 6891 6.2.3: ask for the whole answer in one datagram
                if q[10:12] == b"\x00\x00":
                    q = q[:10] + b"\x00\x01" + q[12:] + _OPT_4096
                inc(self.stats, "tcp_queries")
                self._from_board(q, t, now)
            if t.done():
                self.tcp.remove(t)

    def _from_board(self, data, peer, now):
        if len(data) < dns.HEADER_LEN or data[2] & 0x80:
            inc(self.stats, "drop_malformed")   # too short for a header, or not a query
            if isinstance(peer, _TCPQuery):
                peer.conn.abort()
            return
        ident = (data[0] << 8) | data[1]
        question = _question(data)
        if len(self.pending) >= self.max_pending:
            inc(self.stats, "drop_full")
            self._answer_failure(peer, ident, question)
            return
        ours = self._new_id()
        try:
            self.sock.send(struct.pack("!H", ours) + data[2:])
        except OSError:
            inc(self.stats, "upstream_error")
            self._answer_failure(peer, ident, question)
            return
        self.pending[ours] = (peer, ident, question, ticks.add(now, self.timeout_ms))
        inc(self.stats, "forwarded")

    def _from_upstream(self, now):
        for _ in range(64):
            try:
                data = self.sock.recv(65535)
            except BlockingIOError:
                return
            except OSError:
                inc(self.stats, "upstream_error")   # ICMP port unreachable from upstream
                return
            if len(data) < dns.HEADER_LEN:
                inc(self.stats, "drop_upstream_short")
                continue
            p = self.pending.pop((data[0] << 8) | data[1], None)
            if p is None:
                inc(self.stats, "drop_upstream_unknown_id")
                continue
            self._to_board(p[0], struct.pack("!H", p[1]) + data[2:])
            inc(self.stats, "answered")

    def _answer_failure(self, peer, ident, question):
        # The question echoed back (RFC 1035 4.1.1), QR and RA set, RCODE SERVFAIL
        flags = dns.QR | dns.RD | dns.RA | dns.SERVFAIL
        hdr = struct.pack("!HHHHHH", ident, flags, 1 if question else 0, 0, 0, 0)
        self._to_board(peer, hdr + question)

    def _to_board(self, peer, data):
        if isinstance(peer, _TCPQuery):
            peer.answer(data)
            return
        try:
            self.ep.sendto(data, peer)
        except OSError:
            inc(self.stats, "tx_error")


class _TCPQuery:
    """A board's TCP connection to port 53: one length-prefixed query in (RFC 1035 4.2.2),
    its answer out, then the connection closed (RFC 7766 6.2.3 lets the server close)."""

    def __init__(self, conn, deadline):
        self.conn = conn
        self.deadline = deadline    # for the query to arrive
        self.buf = b""
        self.asked = False
        self.out = b""
        self.answered = False

    def read(self):
        """-> the query once it is whole, else None."""
        try:
            d = self.conn.recv(4096)
        except OSError:
            self.answered = True
            return None
        if d:
            self.buf += d
        elif d == b"" and not self.asked:
            self.answered = True            # closed before asking
            self.conn.close()
        b = self.buf
        if self.asked or len(b) < 2 or len(b) < 2 + ((b[0] << 8) | b[1]):
            self._flush()
            return None
        self.asked = True
        return b[2:2 + ((b[0] << 8) | b[1])]

    def answer(self, data):
        self.out = struct.pack("!H", len(data)) + data
        self.answered = True
        self._flush()

    def _flush(self):
        if self.out:
            try:
                n = self.conn.send(self.out)
            except OSError:
                self.out = b""
                return
            self.out = self.out[n:]
            if not self.out:
                self.conn.close()

    def done(self):
        return self.answered and not self.out


def _question(data):
    """The first question's bytes of a query, or b"" when it has none we can read."""
    try:
        m = dns.parse(data)
    except ValueError:
        return b""
    if not m.questions:
        return b""
    name, qtype, qclass = m.questions[0]
    return dns.build(0, 0, [(name, qtype, qclass)])[dns.HEADER_LEN:]
