"""The NAT gateway's DNS forwarder (issue 10 item 5): queries to UDP port 53 of the gateway's
stack go to the host's resolver through one host UDP socket, and the answers come back to the
board.

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
    """pending: our id -> (board address, board's id, question bytes, deadline ms)."""

    def __init__(self, stack, runner, upstream, timeout_ms=5000, max_pending=64, port=dns.PORT,
                 addr=None):
        self.stack = stack
        self.upstream = (upstream[0], int(upstream[1]))
        self.timeout_ms = timeout_ms
        self.max_pending = max_pending
        self.pending = {}
        self.stats = {}
        self.ep = stack.udp.bind(port, addr=addr, queue=16)
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
        ep = self.ep
        for _ in range(16):
            try:
                got = ep.recvfrom()
            except OSError:
                continue
            if got is None:
                break
            self._from_board(got[0], got[1], now)
        wait = None
        for i in list(self.pending):
            p = self.pending[i]
            if ticks.due(p[3], now):
                del self.pending[i]
                inc(self.stats, "timeout")
                self._answer_failure(p[0], p[1], p[2])
            else:
                wait = ticks.earliest(wait, ticks.until(p[3], now))
        return wait

    def _from_board(self, data, peer, now):
        if len(data) < dns.HEADER_LEN or data[2] & 0x80:
            inc(self.stats, "drop_malformed")   # too short for a header, or not a query
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
        try:
            self.ep.sendto(data, peer)
        except OSError:
            inc(self.stats, "tx_error")


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
