"""TCP (RFC 9293): demultiplexing, listeners, connection setup, resets for closed ports.

`TCP(stack)` is the protocol handler the stack registers for IP protocol 6. It owns
the connection table, the TIME_WAIT table (`timewait.py`) and the listeners; each connection's
state machine is its TCB (`tcb.py`, split into input, output, recovery, timers, options and
urgent, as DESIGN.md lists them, plus `state` for the states, flag bits and teardown they all
share, and `ring` for the storage of the send and receive buffers). TCP drives the TCBs and
does what reaches beyond one: it moves a completed passive open to its listener's accept
queue, drops connections that reached CLOSED, moves those that reached TIME_WAIT to a small
record of their own, and tells IP when a connection suspects its next hop. Under a SYN flood
(RFC 4987) a listener whose SYN queue is full answers with SYN cookies (`syncookie`) and makes
the connection when the cookie's ACK comes back; with cookies off, or with the connection
table full, the oldest half-open connection makes room for the new SYN.
Sans-I/O like the rest of the core: segments and time come in through `input`/`poll`. User
calls transmit nothing: they queue the connection, and `poll` sends what they asked for at the
time it is given (tcb.py). Runners call `stack.poll` after each burst of input frames and after
the tasks (loop.py): that is when in-order data gets its one, coalesced ACK, and when queued
user work goes out.

poll() looks only at the connections that need it: those queued by user calls or touched by
input since the last poll, and those whose earliest timer is due, kept in a heap on an
unwrapped clock. A thousand idle connections cost a poll nothing.

    listener = tcp.listen(port, backlog=None, addr=None); conn = listener.accept()  # or None
    tcp.catch_all = fn     # a transparent stack's segments to other addresses (NAT gateway)
    conn = tcp.connect(dst_ip, port, src_port=0)
    conn.send(data, oob=False) -> n; conn.recv(n, oob=False) -> bytes | b"" (EOF) | None
    conn.shutdown_write(); conn.close(); conn.abort(); conn.info(); tcp.connections()
    tcp.time_wait_count(), tcp.time_wait.max    # TIME_WAIT records now, and their bound
"""

import hashlib
import struct
from heapq import heappop, heappush

from .. import ticks
from ..addr import ANY, ip_aton
from ..compat import oserror, const, EADDRINUSE, EADDRNOTAVAIL, ECONNABORTED, ENETDOWN, ENOBUFS
from ..icmp import error_errno
from ..readiness import Ready
from ..wire import Malformed, icmp as icmpw, tcp as wire
from . import seq, state
from .options import DEFAULT_MSS, rcv_wscale
from .state import STATE_NAMES, CLOSED, LISTEN, SYN_SENT, SYN_RECEIVED, ESTABLISHED, \
    FIN_WAIT_1, FIN_WAIT_2, CLOSE_WAIT, CLOSING, LAST_ACK, TIME_WAIT, FIN, SYN, RST, \
    ACK, destroy  # noqa: F401
from .tcb import TCPConnection
from .timewait import TimeWaitTable

_EPHEMERAL_LO = const(49152)   # RFC 6335 6: the dynamic port range
_EPHEMERAL_N = const(16384)


class Listener(Ready):
    """A passive open: a bounded SYN queue of half-open connections and a bounded queue of
    established ones waiting for accept() (the backlog). Readiness (readiness.py): a
    connection is ready to accept."""

    def __init__(self, tcp, port, addr, backlog, syn_backlog):
        self.tcp = tcp
        self.port = port
        self.addr = addr
        self.backlog = backlog
        self.syn_backlog = syn_backlog
        self.syn_queue = []
        self.queue = []
        self.cookie_sent = None  # the cookie clock (TCP.cookie_tick) at the last cookie sent
        # (rcvbuf, sndbuf) for its connections (TCPConnection.set_buffers), None: the
        # profile's. A connection made from a SYN cookie has the profile's: the cookie's
        # SYN,ACK already offered their window scale.
        self.buffers = None

    def accept(self):
        """The oldest established connection, or None."""
        if self.queue:
            return self.queue.pop(0)
        return None

    def readable(self):
        return len(self.queue)

    def close(self):
        """Stop listening; connections not yet accepted are reset."""
        tcp = self.tcp
        if tcp.listeners.get(self.port) is self:
            del tcp.listeners[self.port]
        for c in self.syn_queue + self.queue:
            c.abort()
        self.syn_queue = []
        self.queue = []

    def segment(self, iface, ip, seg, now, min_isn=None):
        # RFC 9293 3.10.7.2 LISTEN; min_isn: a reopened TIME_WAIT's floor (TCP.input)
        tcp = self.tcp
        flags = seg.flags
        if flags & RST:
            return
        if flags & ACK:
            # An ACK may complete a handshake of which only the cookie kept a record (RFC
            # 4987 3.6); any other draws a RST
            if flags & SYN or not self._cookie_ack(iface, ip, seg, now):
                tcp.send_rst(ip.dst, ip.src, seg.dport, seg.sport, seg.ack, 0, RST)
            return
        if not flags & SYN:
            return
        if len(self.queue) >= self.backlog:
            # The application does not keep up: the peer retries its SYN (Linux drops it
            # too, cookies or not: tcp_conn_request, ListenOverflows)
            tcp.count("listen_drop")
            return
        if len(self.syn_queue) >= self.syn_backlog:
            if tcp.cfg.syncookies:
                # RFC 4987 3.6, as Linux tcp_syncookies=1: cookies only once the queue is
                # full. No entry, so no ISN floor either: a reopened TIME_WAIT's min_isn
                # gives way to the cookie (Linux tcp_conn_request does the same).
                self._send_cookie(iface, ip, seg, now)
                return
            # RFC 4987 3.4, recycling the oldest half-open TCB: strangers who filled the
            # queue make room for the new SYN instead of locking the port
            tcp.evict(self.syn_queue[0])
        if not tcp.room():
            # The stack holds all the connections it may, none of them half-open: refuse at
            # once, so the client learns it now (ECONNREFUSED) instead of retrying its SYN
            # for minutes.
            tcp.send_rst(ip.dst, ip.src, seg.dport, seg.sport, 0, seq.add(seg.seq, 1), RST | ACK)
            return
        lip = ip.dst
        rip = ip.src
        c = TCPConnection(tcp, lip, seg.dport, rip, seg.sport, iface.mtu - 40, now, self,
                          tso_max=iface.tso_max)
        if self.buffers is not None:
            c.set_buffers(*self.buffers)
        tcp.add(c)
        self.syn_queue.append(c)
        isn = tcp.isn(lip, seg.dport, rip, seg.sport, now)
        if min_isn is not None and seq.lt(isn, min_isn):
            isn = min_isn
        c.open_passive(seg, isn, now)
        tcp.queue(c)             # its SYN-ACK timer joins the heap at the next poll

    def _send_cookie(self, iface, ip, seg, now):
        # A SYN-ACK whose ISN is the cookie (syncookie.py), sent without keeping anything;
        # it offers what open_passive's would (options.syn_offer), and a lost one is the
        # peer's SYN retry to repair.
        from . import syncookie    # only under a SYN flood: most boards never load it
        tcp = self.tcp
        cfg = tcp.cfg
        tick = tcp.cookie_tick(now)
        self.cookie_sent = tick
        ws = seg.wscale if cfg.wscale else None
        sack = seg.sack_perm and cfg.sack
        isn = syncookie.encode(tcp._secret, ip.dst, seg.dport, ip.src, seg.sport, seg.seq, tick,
                               seg.mss or DEFAULT_MSS, ws, sack)
        buf = tcp.hdr
        olen = wire.options(buf, wire.HEADER_LEN, mss=iface.mtu - 40,
                            wscale=None if ws is None else rcv_wscale(cfg.rcvbuf),
                            sack_perm=sack)
        hlen = wire.emit(buf, seg.dport, seg.sport, isn, seq.add(seg.seq, 1), SYN | ACK,
                         min(cfg.rcvbuf, 0xFFFF), 0, olen)
        tcp.count("syncookie_sent")
        tcp._out(ip.dst, ip.src, tcp._hdr_views[hlen >> 2], None)

    def _cookie_ack(self, iface, ip, seg, now):
        """An ACK with no connection: True if it acknowledged one of our cookies and was
        taken (or dropped for want of room in the accept queue), False if it gets a RST."""
        tcp = self.tcp
        if not tcp.cfg.syncookies or self.cookie_sent is None:
            return False
        from . import syncookie    # loaded when the first cookie was sent
        tick = tcp.cookie_tick(now)
        if tick - self.cookie_sent > syncookie.MAX_AGE:
            # No cookie is out any more (Linux tcp_synq_no_recent_overflow): a stray ACK
            # is not checked, so guesses cannot be tried at leisure.
            return False
        cookie = seq.add(seg.ack, -1)
        opts = syncookie.check(tcp._secret, ip.dst, seg.dport, ip.src, seg.sport,
                               seq.add(seg.seq, -1), cookie, tick)
        if opts is None:
            tcp.count("syncookie_failed")
            return False
        if len(self.queue) >= self.backlog:
            # As for a queued half-open connection (input.complete_handshake): the peer's
            # data or next ACK tries again while the cookie is valid
            tcp.count("accept_queue_full")
            return True
        if not tcp.room():
            return False
        tcp.count("syncookie_recv")
        c = TCPConnection(tcp, ip.dst, seg.dport, ip.src, seg.sport, iface.mtu - 40, now, tso_max=iface.tso_max)
        if not c.open_cookie(seg, cookie, opts[0], opts[1], opts[2], now):
            return True          # no heap for it: reset (input.established)
        tcp.add(c)
        self.queue.append(c)
        # The ACK may carry data (and a FIN): it is the new connection's first segment,
        # as Linux's tcp_child_process gives the child the segment that made it.
        ev = c.events
        c.segment(seg, now)
        tcp._touched(c, ev, now)
        self._event()
        return True

    def full(self):
        """No room for another established connection: a half-open one stays half-open."""
        return len(self.queue) >= self.backlog

    def child_ready(self, conn):
        """A half-open connection completed its handshake: it waits for accept()."""
        self.syn_queue.remove(conn)
        conn.listener = None
        self.queue.append(conn)
        self._event()


class TCP:
    def __init__(self, stack):
        c = stack.cfg
        self.stack = stack
        self.cfg = c             # the stack's Config (barenet/config.py): plain attributes
        if c.congestion != "reno":
            from .algorithms import check
            check(c.congestion)
        if c.tcp_preload:
            from . import ecn, prr, undo, urgent  # noqa: F401 (config.py tcp_preload)
        self.stats = {}
        self.conns = {}          # (local ip, local port, remote ip, remote port) -> connection
        # The same connections for input's lookup, without a tuple key per segment: local
        # port -> {remote port -> connection}, those sharing both ports chained (conn.chain)
        # and told apart by their addresses as 16-bit halves.
        self._ports = {}
        self.listeners = {}      # port -> Listener
        # fn(iface, ip, seg, now) for a segment to an address not ours that no connection
        # takes (IP.transparent): -> a Listener that takes it (for any address and port), True
        # when fn keeps it (to input again later), None: a closed port (RST).
        self.catch_all = None
        # Connections in TIME_WAIT, as records outside the connection table and its limit
        self.time_wait = TimeWaitTable(self, c.time_wait_max, 2 * c.msl_ms)
        self.hdr = bytearray(wire.MAX_HEADER_LEN)
        # A view of hdr for each header length (20..60, by hlen >> 2), so that sending a
        # segment makes no view of its own
        hv = memoryview(self.hdr)
        self._hdr_views = [hv[0:n * 4] for n in range(wire.MAX_HEADER_LEN // 4 + 1)]
        self._seg = wire.Segment()
        self._secret = hashlib.sha256(b"barenet-isn" + str(c.seed).encode()).digest()
        self._isn_fn = c.isn
        self._clock_ms = 0       # ms since start, not wrapping: drives the ISN clock
        self._clock_last = None
        # Our TSval clock (timestamps.tick): the ms clock, its wraps counted in 2 more bits
        self.ts_last = self.ts_epoch = self.ts_hi = self.ts_lo = 0
        self._challenge_start = 0
        self._challenge_n = 0
        self._ready = []         # connections the next poll must look at (queue())
        self._spare = []         # the list poll() swaps in for _ready (no list per poll)
        self._timers = []        # heap of (deadline on the ISN clock, n, conn), see poll()
        self._timer_n = 0
        self._due = []           # poll()'s list of the connections whose timer entry is due
        self._later = []         # RSTs of user aborts: (src, dst, header) for the next poll
        self._next_port = _EPHEMERAL_LO + (self._secret[0] << 8 | self._secret[1]) % _EPHEMERAL_N

    def count(self, key, n=1):
        st = self.stats
        st[key] = st.get(key, 0) + n

    # -- user calls ----------------------------------------------------------------------

    def listen(self, port, backlog=None, addr=None):
        """A passive open on port; backlog: the accept queue (default: the profile's)."""
        if backlog is None:
            backlog = self.cfg.listen_backlog
        if port == 0:
            port = self._ephemeral(None, None, 0)
        if port in self.listeners:
            raise oserror(EADDRINUSE)
        if len(self.listeners) >= self.cfg.max_listeners:
            raise oserror(ENOBUFS)  # as connect() beyond max_connections (see UDP.bind)
        if addr is not None and not isinstance(addr, bytes):
            addr = ip_aton(addr)
        backlog = max(min(backlog, self.cfg.somaxconn), 1)
        lst = Listener(self, port, addr, backlog, self.cfg.syn_backlog)
        self.listeners[port] = lst
        return lst

    def connect(self, dst, port, src_port=0):
        """Active open; raises OSError(ENETUNREACH...) when there is no route."""
        if not isinstance(dst, bytes):
            dst = ip_aton(dst)
        if len(self.conns) >= self.cfg.max_connections:
            raise oserror(ENOBUFS)
        iface, src = self.stack.ip.route(dst)
        if src_port == 0:
            src_port = self._ephemeral(src, dst, port)
        if self._taken(src, src_port, dst, port):
            raise oserror(EADDRINUSE)
        # The ISN's clock reads the last time the stack was given; the SYN itself leaves at
        # the next poll, with that poll's time.
        now = self.stack.now
        c = TCPConnection(self, src, src_port, dst, port, iface.mtu - 40, now, tso_max=iface.tso_max)
        self.add(c)
        c.open_active(self.isn(src, src_port, dst, port, now))
        return c

    def connections(self):
        """The connections in the table: every state but LISTEN and TIME_WAIT."""
        return list(self.conns.values())

    def time_wait_count(self):
        """Connections in TIME_WAIT now (at most cfg.time_wait_max)."""
        return self.time_wait.n

    def port_in_use(self, port):
        """A connection or a TIME_WAIT record has this local port (listeners aside)."""
        return port in self._ports or self.time_wait.uses_port(port)

    def _taken(self, lip, lport, rip, rport):
        # A 4-tuple in use: by a connection, or by a TIME_WAIT record (RFC 9293 3.6.1: no new
        # incarnation of ours may start before the old one's 2 MSL is over)
        return (lip, lport, rip, rport) in self.conns or \
            (self.time_wait.n and self.time_wait.holds(lip, lport, rip, rport))

    def _ephemeral(self, src, dst, port):
        for _ in range(_EPHEMERAL_N):
            p = self._next_port
            self._next_port = _EPHEMERAL_LO + (p + 1 - _EPHEMERAL_LO) % _EPHEMERAL_N
            if p not in self.listeners and not self._taken(src, p, dst, port):
                return p
        raise oserror(EADDRNOTAVAIL)

    # -- ISN (RFC 6528) ------------------------------------------------------------------

    def _clock(self, now):
        """ms since start, never wrapping and never going back: the ISN's clock, and the
        timer heap's (heap keys must stay ordered across the ticks wrap)."""
        if self._clock_last is not None:
            d = ticks.diff(now, self._clock_last)
            if d > 0:
                self._clock_ms += d
        self._clock_last = now
        return self._clock_ms

    def isn(self, lip, lport, rip, rport, now):
        """ISN = M + F(4-tuple, secret), M a 4 microsecond clock (RFC 6528 3)."""
        self._clock(now)
        if self._isn_fn is not None:
            return self._isn_fn(lip, lport, rip, rport, now) & seq.MASK
        h = hashlib.sha256(self._secret + lip + rip + struct.pack("!HH", lport, rport)).digest()
        f = struct.unpack("!I", h[0:4])[0]
        return (self._clock_ms * 250 + f) & seq.MASK

    def cookie_tick(self, now):
        """The SYN cookies' coarse clock (syncookie.py): 64 s ticks of the ISN's clock, which
        never wraps."""
        from .syncookie import TICK_MS
        return self._clock(now) // TICK_MS

    # -- SYN floods (RFC 4987) -----------------------------------------------------------

    def room(self):
        """Room in the connection table for one more: if it is full, the oldest half-open
        connection of any listener gives way (as lwIP's tcp_alloc kills the oldest in
        SYN_RCVD). False, counted, when every connection held is past its handshake."""
        if len(self.conns) < self.cfg.max_connections:
            return True
        old = None
        for lst in self.listeners.values():
            if lst.syn_queue:
                c = lst.syn_queue[0]
                if old is None or ticks.diff(c.opened, old.opened) < 0:
                    old = c
        if old is None:
            self.count("refused_conn_limit")
            return False
        self.evict(old)
        return True

    def evict(self, conn):
        """Drop a half-open connection to make room, silently: its peer is most likely a
        spoofed address, and a real one learns from the RST its ACK then draws."""
        self.count("syn_evicted")
        destroy(conn, 0)
        self.forget(conn)

    # -- from the IP layer ---------------------------------------------------------------

    def input(self, iface, ip, payload, now):
        try:
            seg = wire.parse(payload, None, None, self._seg,
                             None if iface.rx_csum_ok else ip.asum)
        except Malformed as e:
            self.count("drop_" + e.args[0])
            return
        self.count("rx")
        seg.ip_ecn = ip.tos & 3           # RFC 3168 5: the IP header's ECN field
        if ip.bcast:
            self.count("drop_broadcast")   # RFC 9293 3.9.2: TCP is unicast only
            return
        c = self._find(ip, seg.dport, seg.sport)
        if c is not None:
            ev = c.events
            parent = c.listener
            if parent is None:
                c.segment(seg, now)
            else:
                # A passive open in the SYN queue: it may complete its handshake only if the
                # accept queue has room, and then it moves there.
                c.segment(seg, now, parent.full())
                if c.state != SYN_RECEIVED and c.state != CLOSED:
                    parent.child_ready(c)
            self._touched(c, ev, now)
            return
        if self.time_wait.n:
            r = self.time_wait.find(ip, seg.dport, seg.sport)
            if r is not None:
                self._time_wait_segment(r, iface, ip, seg, now)
                return
        if self.catch_all is not None and \
                not self.stack.ip.is_local_halves(ip.dst_hi, ip.dst_lo):
            # Not for us: a transparent stack's (IP.transparent) owner decides
            lst = self.catch_all(iface, ip, seg, now)
            if lst is True:
                return
        else:
            lst = self._listener(ip, seg.dport)
        if lst is not None:
            lst.segment(iface, ip, seg, now)
            return
        self.count("rx_closed_port")
        # RFC 9293 3.10.7.1: anything but a RST to a closed port draws a RST
        flags = seg.flags
        if flags & RST:
            return
        if flags & ACK:
            self.send_rst(ip.dst, ip.src, seg.dport, seg.sport, seg.ack, 0, RST)
        else:
            n = len(seg.payload) + (1 if flags & SYN else 0) + (1 if flags & FIN else 0)
            self.send_rst(ip.dst, ip.src, seg.dport, seg.sport, 0, seq.add(seg.seq, n),
                          RST | ACK)

    def _time_wait_segment(self, r, iface, ip, seg, now):
        # A segment for a TIME_WAIT record (timewait.py)
        tw = self.time_wait
        if seg.flags & (SYN | ACK | RST | FIN) == SYN:
            lst = self._listener(ip, seg.dport)
            if lst is not None and tw.reopens(r, seg):
                # RFC 1122 4.2.2.13: a SYN above the old incarnation's sequence space may
                # reopen a connection in TIME_WAIT, with an ISN above anything the old one
                # used (Linux: tcp_timewait_state_process, ISN = old SND.NXT + 65537).
                floor = tw.floor(r)
                tw.end(r)
                self.count("time_wait_reopen")
                lst.segment(iface, ip, seg, now, seq.add(floor, 65537))
                return
        tw.segment(r, seg, now, self._clock(now))

    def _listener(self, ip, port):
        lst = self.listeners.get(port)
        if lst is not None and lst.addr is not None and lst.addr != ip.dst:
            return None
        return lst

    def add(self, c):
        """A new connection joins the tables (a passive or an active open)."""
        self.conns[(c.lip, c.lport, c.rip, c.rport)] = c
        by = self._ports.get(c.lport)
        if by is None:
            by = self._ports[c.lport] = {}
        nxt = by.get(c.rport)
        if nxt is not None:             # (None is the class default: tcb.py)
            c.chain = nxt
        by[c.rport] = c

    def _find(self, ip, lport, rport):
        # The connection a segment is for: the two ports, then the addresses in place
        by = self._ports.get(lport)
        if by is None:
            return None
        c = by.get(rport)
        while c is not None:
            if c.rip_lo == ip.src_lo and c.rip_hi == ip.src_hi and c.lip_lo == ip.dst_lo and \
                    c.lip_hi == ip.dst_hi:
                return c
            c = c.chain
        return None

    def icmp_error(self, icmp_type, code, info, quoted, now):
        # quoted holds the IP header and at least 8 bytes (IP.deliver_error checked)
        err = error_errno(icmp_type, code)
        if not err:
            return                  # source quench (RFC 6633), redirects: ignored
        ihl = (quoted[0] & 0x0F) * 4
        sport, dport, sq = struct.unpack_from("!HHI", quoted, ihl)
        c = self.conns.get((bytes(quoted[12:16]), sport, bytes(quoted[16:20]), dport))
        if c is None:
            self.count("icmp_no_conn")
            return
        # RFC 5927 4.1: the quoted sequence number must be one we have in flight
        off = state.snd_off(c, sq)
        if not c.snd_una <= off < c.snd_max:
            self.count("icmp_bad_seq")
            return
        mtu = 0
        if icmp_type == icmpw.DEST_UNREACH and code == icmpw.FRAG_NEEDED:
            if not info:
                return              # no next-hop MTU: nothing safe to do (RFC 1191 5)
            mtu = info
        self.count("icmp_error")
        ev = c.events
        c.icmp_error(icmp_type, code, err, mtu, off, now)
        self._touched(c, ev, now)

    def address_changed(self, old, new):
        """An interface's address changed from old: connections on it are aborted without a
        word (the address is no longer ours to send from, RFC 1122 3.2.1.3), and listeners
        bound to it follow the new one (as lwIP's tcp_netif_ip_addr_changed)."""
        for c in list(self.conns.values()):
            if c.lip == old:
                state.destroy(c, ECONNABORTED)
                self.forget(c)
        self.time_wait.drop_address((old[0] << 8) | old[1], (old[2] << 8) | old[3])
        for lst in self.listeners.values():
            if lst.addr == old:
                lst.addr = None if new == ANY else new

    def link_changed(self, iface, up, now):
        """The carrier of iface went down or came back (Stack.set_link)."""
        ip = iface.ip
        for c in self.conns.values():
            if c.lip != ip:
                continue
            if not up:
                # RFC 1122 4.2.3.9: a soft error, not a reason to abort; it is what the user
                # learns if the connection then times out.
                c.soft_error = ENETDOWN
            elif c.snd_max != c.snd_una and c.t_rtx is not None:
                # Back after a disruption: retransmit now rather than after a backed-off RTO
                # (the idea of RFC 6069's TCP-LD, with the link itself as the signal).
                c.rto.reset_backoff()
                c.t_rtx = now
                if not c.queued:
                    self.queue(c)

    # -- driving the connections ------------------------------------------------------------

    def queue(self, conn):
        """conn needs the next poll: a user call queued work, or its timers changed."""
        conn.queued = True
        self._ready.append(conn)

    def pending(self):
        """True when user calls queued work that waits for the next poll (a runner that let
        user code run between steps must then step again at once)."""
        return bool(self._ready or self._later)

    def _touched(self, c, events, now):
        # After a segment or an ICMP error for c: drop it if it closed, move it to the
        # TIME_WAIT table if it entered TIME_WAIT, else have the next poll send what it owes
        # (the burst's ACK) and file its timers; tell its waiter.
        st = c.state
        if st == CLOSED:
            self.forget(c)
        elif st == TIME_WAIT:
            self.forget(c)
            self.time_wait.enter(c, self._clock(now))
        elif not c.queued:
            c.queued = True
            self._ready.append(c)
        if c.events != events and c.on_event is not None:
            c.on_event(c)

    def poll(self, now):
        """Send what is queued, run what is due; -> ms until the next timer, or None."""
        t = self._clock(now)
        if self._later:
            later = self._later
            self._later = []
            for src, dst, hdr in later:
                self._out(src, dst, hdr, None)
        if self._ready:
            ready = self._ready
            self._ready = self._spare
            for c in ready:
                c.queued = False
                self._service(c, now, t)
            ready.clear()                   # for the next swap (del ready[:] allocates
            self._spare = ready             # on MicroPython, clear() does not)
        heap = self._timers
        if heap and heap[0][0] <= t:
            due = self._due
            while heap and heap[0][0] <= t:
                at, _, c = heappop(heap)
                if c.sched == at:           # else a stale entry: rescheduled or gone
                    c.sched = None
                    due.append(c)
            for c in due:                   # each once: a timer re-armed for now waits
                self._service(c, now, t)    # for the next poll
            due.clear()
        wait = self.time_wait.poll(t)
        while heap:
            at, _, c = heap[0]
            if c.sched == at:
                at = at - t if at > t else 0
                return at if wait is None or at < wait else wait
            heappop(heap)
        return wait

    def _service(self, c, now, t):
        ev = c.events
        wait = c.poll(now)
        if c.neighbor_suspect:
            self._neighbor_suspect(c)
        if c.state == CLOSED:
            self.forget(c)
        elif wait is not None:
            # A connection keeps at most one live heap entry, at or before its earliest
            # deadline: an entry that fires early (the deadline moved later: an RTO restarted
            # by an ACK) costs one idle service and is filed again.
            at = t + wait
            if c.sched is None or at < c.sched:
                c.sched = at
                self._timer_n += 1
                heappush(self._timers, (at, self._timer_n, c))
        if c.events != ev and c.on_event is not None:
            c.on_event(c)

    # -- output --------------------------------------------------------------------------

    def transmit(self, conn, hlen, payload, later=False, gso=0, tos=0):
        """Send the segment the TCB emitted into self.hdr (hlen bytes of header); later: a user
        abort's RST, sent at the next poll. gso: a TSO super-segment for the NIC to cut into
        segments of gso payload bytes (nic.py send_tso). tos: the IP TOS byte (ECN, ecn.py)."""
        hdr = self._hdr_views[hlen >> 2]
        if later:
            self._later.append((conn.lip, conn.rip, bytearray(hdr)))
            return
        if conn.neighbor_suspect:
            self._neighbor_suspect(conn)     # before the retransmission it asked for
        self._out(conn.lip, conn.rip, hdr, payload, conn.asum, conn.ttl, gso, tos)

    def _neighbor_suspect(self, conn):
        # A connection's timer found no answer through the next hop (RFC 1122 2.3.2.1):
        # IP has the neighbour cache probe that hop's MAC before it forgets it.
        conn.neighbor_suspect = False
        self.stack.ip.neighbor_suspect(conn.rip)

    def send_rst(self, lip, rip, lport, rport, sq, ak, flags):
        hlen = wire.emit(self.hdr, lport, rport, sq, ak, flags, 0)
        self.count("rst_tx")
        self.send_header(lip, rip, hlen)

    def send_header(self, lip, rip, hlen):
        """Send the header emitted into self.hdr (hlen bytes) without payload."""
        self._out(lip, rip, self._hdr_views[hlen >> 2], None)

    def _out(self, src, dst, hdr, payload, asum=None, ttl=None, gso=0, tos=0):
        if gso:
            # The NIC completes the checksum of each segment it cuts (and never of ours)
            wire.partial_checksum(hdr, len(hdr) + len(payload), asum)
            self.count("tx_tso")
        else:
            wire.finish_checksum(hdr, payload, src, dst, asum)
        self.count("tx")
        try:
            self.stack.ip.output(dst, wire.PROTO, payload if payload is not None else b"",
                                 src=src, hdr=hdr, ttl=ttl, df=True, gso=gso, tos=tos)
        except OSError:
            self.count("tx_error")  # lost like any segment; retransmission recovers

    def challenge_allowed(self, now):
        """RFC 5961 7: at most challenge_ack_limit challenge ACKs per second, stack-wide."""
        if ticks.diff(now, self._challenge_start) >= 1000:
            self._challenge_start = now
            self._challenge_n = 0
        if self._challenge_n >= self.cfg.challenge_ack_limit:
            self.count("challenge_ack_limited")
            return False
        self._challenge_n += 1
        return True

    def forget(self, conn):
        """A connection reached CLOSED: drop it from the tables. The TCB never reaches up
        here from inside a step: TCP checks the state after each segment(), poll() and
        icmp_error(), and the user calls that can close (close, abort, shutdown_write) hand
        the connection back themselves."""
        key = (conn.lip, conn.lport, conn.rip, conn.rport)
        if self.conns.get(key) is conn:
            del self.conns[key]
            by = self._ports[conn.lport]
            c = by[conn.rport]
            if c is conn:
                if conn.chain is None:
                    del by[conn.rport]
                    if not by:
                        del self._ports[conn.lport]
                else:
                    by[conn.rport] = conn.chain
            else:
                while c.chain is not conn:
                    c = c.chain
                c.chain = conn.chain
            conn.chain = None
        conn.sched = None                   # its heap entries are stale now
        lst = conn.listener
        if lst is not None:
            if conn in lst.syn_queue:
                lst.syn_queue.remove(conn)
            conn.listener = None
