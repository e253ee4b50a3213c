"""DNS resolver for A records (RFC 1035 7, RFC 1123 6.1.3), sans-I/O: the stack polls it
(Stack.poll), the socket layer's getaddrinfo/gethostbyname wait on it through their driver.

    r = Resolver(stack)                   # servers: from DHCP (interfaces' dns) or given
    q = r.lookup("board.example", now_ms) # a Lookup: done at once from the cache, or later
    ... stack.poll(now) ...
    q.done, q.addresses (4-byte), q.error (an EAI_* code, 0 when found)

Each server is tried `dns_attempts` times in turn over UDP, each try waiting `dns_timeout_ms`
(resolv.conf(5)'s order and defaults); an answer with TC set is asked again over TCP to the
same server (RFC 7766 5). Answers are cached for their TTL (at most dns_max_ttl_s) in a bounded
table, the soonest to expire evicted first. Errors are getaddrinfo's EAI codes, with glibc's
values and meanings: NXDOMAIN is EAI_NONAME, a name without A records EAI_NODATA, no answer
from any server (or only SERVFAIL/REFUSED) EAI_AGAIN.
"""

from . import ticks
from .addr import ip_aton, ip_ntoa
from .compat import const
from .readiness import Ready
from .stats import inc
from .udp import EPHEMERAL_HIGH, EPHEMERAL_LOW
from .wire import Malformed, dns as w

from .eai import EAI_NONAME, EAI_AGAIN, EAI_NODATA, LOCALHOST

_MAX_INFLIGHT = const(8)        # lookups waiting for a server at once; beyond, EAI_AGAIN


class Lookup(Ready):
    """One name being resolved. done: finished; addresses: [4-byte address] when found;
    error: 0 or an EAI_* code. Its readiness signal (readiness.py) fires when it is done."""

    def __init__(self, name):
        self.name = name
        self.done = False
        self.addresses = []
        self.error = 0
        self.tries = 0          # UDP tries made (server index = tries % servers)
        self.server = None
        self.id = 0
        self.query = None
        self.deadline = None
        self.conn = None        # the TCP connection of a truncated answer's retry
        self.tcp_buf = b""

    def _finish(self, error, addresses=()):
        self.done = True
        self.error = error
        self.addresses = list(addresses)
        self.deadline = None
        self._event()


def valid_name(name):
    """RFC 1035 2.3.4: labels of 1-63 octets, at most 253 characters in all."""
    if name.endswith("."):
        name = name[:-1]
    if not name or len(name) > 253:
        return False
    for label in name.split("."):
        if not 0 < len(label) <= 63:
            return False
    return True


class Resolver:
    def __init__(self, stack, servers=None, port=w.PORT):
        """servers: name server addresses ("192.0.2.1" or 4 bytes); None: those the
        interfaces learned with their address (DHCP option 6)."""
        cfg = stack.cfg
        self.stack = stack
        self.fixed = None if servers is None else [ip_aton(s) for s in servers]
        self.port = port
        self.timeout_ms = cfg.dns_timeout_ms
        self.attempts = cfg.dns_attempts
        self.cache_size = cfg.dns_cache
        self.max_inflight = _MAX_INFLIGHT
        self.max_ttl_ms = cfg.dns_max_ttl_s * 1000
        self.cache = {}         # name -> [addresses, expires at]
        self.inflight = {}      # name -> Lookup
        self.stats = {}
        self.ep = None          # bound at the first query
        stack.resolver = self
        stack.services.append(self)

    def servers(self):
        if self.fixed is not None:
            return self.fixed
        out = []
        for i in self.stack.interfaces:
            if i.configured:
                for d in i.dns:
                    if d not in out:
                        out.append(d)
        return out

    def lookup(self, name, now):
        name = name.lower()
        if name.endswith("."):
            name = name[:-1]
        q = self.inflight.get(name)
        if q is not None:
            return q
        q = Lookup(name)
        if name == "localhost" or name.endswith(".localhost"):
            q._finish(0, [LOCALHOST])
            return q
        if not valid_name(name):
            q._finish(EAI_NONAME)
            return q
        c = self.cache.get(name)
        if c is not None:
            if not ticks.due(c[1], now):
                inc(self.stats, "cache_hit")
                q._finish(0, c[0])
                return q
            del self.cache[name]
        full = len(self.inflight) >= self.max_inflight
        if full or not self.servers():
            inc(self.stats, "busy" if full else "no_server")
            q._finish(EAI_AGAIN)
            return q
        self.inflight[name] = q
        self._try(q, now)
        return q

    # -- tries ------------------------------------------------------------------------------

    def _try(self, q, now):
        """The next UDP try of q, or its end with EAI_AGAIN when every try is spent."""
        servers = self.servers()
        if not servers or q.tries >= self.attempts * len(servers):
            self._end(q, EAI_AGAIN)
            return
        q.server = servers[q.tries % len(servers)]
        q.tries += 1
        q.id = self.stack.rng.below(0x10000)
        q.query = w.query(q.id, q.name)
        q.deadline = ticks.add(now, self.timeout_ms)
        if self.ep is None:
            self.ep = self._bind()
        try:
            self.ep.sendto(q.query, (ip_ntoa(q.server), self.port))
            inc(self.stats, "tx_udp")
        except OSError:
            inc(self.stats, "tx_error")     # no route yet: the try times out like a loss

    def _bind(self):
        """The queries' UDP endpoint, on a random port of the dynamic range (RFC 5452 4.5:
        with the random id, what a blind spoofer must guess)."""
        udp = self.stack.udp
        for _ in range(8):
            port = EPHEMERAL_LOW + self.stack.rng.below(EPHEMERAL_HIGH - EPHEMERAL_LOW + 1)
            if port not in udp.endpoints:
                return udp.bind(port, queue=_MAX_INFLIGHT)
        return udp.bind(0, queue=_MAX_INFLIGHT)

    def _tcp(self, q, now):
        """RFC 7766 5: the truncated answer's question again, over TCP, length-prefixed."""
        inc(self.stats, "truncated")
        q.deadline = ticks.add(now, self.timeout_ms)
        q.tcp_buf = b""
        try:
            c = self.stack.tcp.connect(q.server, self.port)
        except OSError:
            self._try(q, now)
            return
        n = len(q.query)
        c.send(bytes([n >> 8, n & 0xFF]) + q.query)
        q.conn = c

    def _drop_tcp(self, q):
        c = q.conn
        if c is not None:
            q.conn = None
            try:
                c.close()
            except OSError:
                pass

    def _end(self, q, error, addresses=(), ttl_ms=0):
        self._drop_tcp(q)
        q._finish(error, addresses)
        self.inflight.pop(q.name, None)
        if not error and ttl_ms > 0:
            self._cache(q.name, addresses, ttl_ms)

    def _cache(self, name, addresses, ttl_ms, now=None):
        now = self.stack.now if now is None else now
        if len(self.cache) >= self.cache_size and name not in self.cache:
            del self.cache[ticks.oldest(self.cache, 1)]
        self.cache[name] = [list(addresses), ticks.add(now, min(ttl_ms, self.max_ttl_ms))]

    # -- answers ----------------------------------------------------------------------------

    def _answer(self, q, data, now, tcp):
        try:
            m = w.parse(data)
        except Malformed as e:
            inc(self.stats, "drop_" + e.args[0])
            return False
        if not m.response or m.id != q.id or len(m.questions) != 1 or \
                m.questions[0][0] != q.name:
            inc(self.stats, "drop_mismatch")    # RFC 5452 9.1: id and question must match
            return False
        rc = m.rcode
        if m.truncated and not tcp:
            self._tcp(q, now)
            return True
        inc(self.stats, "rx_tcp" if tcp else "rx_udp")
        if rc == w.NXDOMAIN:
            self._end(q, EAI_NONAME)
        elif rc == w.NOERROR:
            recs = m.a_records(q.name)
            if recs:
                ttl = min(t for _, t in recs)
                self._end(q, 0, [a for a, _ in recs], ttl * 1000)
            else:
                self._end(q, EAI_NODATA)
        else:
            # SERVFAIL, REFUSED, FORMERR, NOTIMP: the next server may do better (RFC 1035 7.3)
            inc(self.stats, "rcode_%d" % rc)
            self._drop_tcp(q)
            self._try(q, now)
        return True

    def poll(self, now):
        ep = self.ep
        if ep is not None:
            # a port unreachable from a server is cleared: its try times out
            for data, (src, sport) in ep.datagrams(_MAX_INFLIGHT):
                for q in list(self.inflight.values()):
                    if q.conn is None and ip_ntoa(q.server) == src and sport == self.port:
                        if self._answer(q, data, now, False):
                            break
                else:
                    inc(self.stats, "drop_unmatched")
        wait = None
        for q in list(self.inflight.values()):
            c = q.conn
            if c is not None:
                self._read_tcp(q, c, now)
            if q.done:
                continue
            if ticks.due(q.deadline, now):
                inc(self.stats, "timeout")
                self._drop_tcp(q)
                self._try(q, now)
            if not q.done:
                wait = ticks.earliest(wait, ticks.until(q.deadline, now))
        return wait

    def _read_tcp(self, q, c, now):
        try:
            while True:
                d = c.recv(4096)
                if not d:
                    break
                q.tcp_buf += d
        except OSError:
            d = b""     # reset or refused: the try ends
        buf = q.tcp_buf
        if len(buf) >= 2 and len(buf) >= 2 + ((buf[0] << 8) | buf[1]):
            n = (buf[0] << 8) | buf[1]
            if not self._answer(q, memoryview(buf)[2:2 + n], now, True):
                self._drop_tcp(q)
                self._try(q, now)
        elif d == b"":
            # The server closed (or reset) before a whole answer: the next try
            self._drop_tcp(q)
            self._try(q, now)
