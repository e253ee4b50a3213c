"""TIME_WAIT (RFC 9293 3.6.1, 3.10.7.4): the connections that closed first, each kept for 2 MSL
as a small fixed record instead of its whole TCB, in a table of their own. The table is bounded
by `time_wait_max` (Linux tcp_max_tw_buckets) and apart from `max_connections`, so closing
connections never keeps new ones out; when it is full the oldest record makes room.

A record holds only what TIME_WAIT answers with: the 4-tuple (the addresses as 16-bit halves,
as a TCB holds them), SND.NXT and RCV.NXT as absolute 16-bit halves, the window it accepts and
advertises, the largest window the peer offered (for RFC 5961 5.2's ACK check), and when it
ends. No buffers, no loss-recovery state, nothing per segment. The TCB leaves TCP's connection
table as it enters TIME_WAIT (tcp/__init__.py); TCP looks a segment up here when no
connection has it (`find`, which allocates nothing) and passes it to `segment`.

Records end in the order they came: a FIFO with a moving head, compacted as the head passes
half of it, so expiry is O(1) amortised. A retransmitted FIN restarts a record's 2 MSL
(`restart`); the record keeps its place until its first expiry comes, then goes to the back of
the line with the new one. So a restarted record lasts from 2 MSL to twice that after the
restart (RFC 9293 asks for at least 2 MSL), and never holds up the records behind it.

The application may still hold the TCB: it keeps reading TIME_WAIT (`info()`) while its record
lives (tcb.tw, `live`), and CLOSED once the record has ended (expired, reused, reset or
reopened). The record does not point back at the TCB, so the TCB's memory goes as soon as the
application lets go of it.
"""

from ..compat import const
from ..wire import tcp as wire
from . import seq
from .state import FIN, SYN, RST, ACK, acceptable

_COMPACT = const(64)     # the FIFO's head moves this far before the list is compacted

# A record is a list, not an object: 80 bytes on a 32-bit port, where an object with these
# sixteen attributes is 152. Its fields:
_LPORT = const(0)
_RPORT = const(1)
_LIP_HI = const(2)       # the addresses as 16-bit halves, as the TCB holds them
_LIP_LO = const(3)
_RIP_HI = const(4)
_RIP_LO = const(5)
_CHAIN = const(6)        # the next record in the same index slot
_SND_HI = const(7)       # SND.NXT: everything we sent, our FIN included (it was acknowledged)
_SND_LO = const(8)
_RCV_HI = const(9)       # RCV.NXT, past the peer's FIN
_RCV_LO = const(10)
_RWND = const(11)        # the window last advertised, in bytes: what acceptability tests
_WND = const(12)         # ... and as the header's field (scaled as agreed, RFC 7323 2.3)
_MAX_SNDWND = const(13)  # the peer's largest window, for RFC 5961 5.2's ACK check
_EXPIRY = const(14)      # on TCP's unwrapped clock; None once the record has ended
_RESTART = const(15)     # a later expiry set by a retransmitted FIN, or None


def record(tcb, expiry):
    """The TIME_WAIT record of the TCB, made as it enters that state."""
    rwnd = tcb.rcv_adv - tcb.rcv_nxt if tcb.rcv_adv > tcb.rcv_nxt else 0
    w = rwnd >> tcb.rcv_wscale
    return [tcb.lport, tcb.rport, tcb.lip_hi, tcb.lip_lo, tcb.rip_hi, tcb.rip_lo, None,
            seq.hi(tcb.snd_bh, tcb.snd_bl, tcb.snd_max), seq.lo(tcb.snd_bl, tcb.snd_max),
            seq.hi(tcb.rcv_bh, tcb.rcv_bl, tcb.rcv_nxt), seq.lo(tcb.rcv_bl, tcb.rcv_nxt),
            rwnd, w if w < 0xFFFF else 0xFFFF, tcb.max_sndwnd, expiry, None]


def live(r):
    """r is still in TIME_WAIT (tcb.info() asks)."""
    return r[_EXPIRY] is not None


def _key(lport, rport):
    # The index's key: a small int on a 32-bit port (under 2**30), equal for the records
    # that share both ports, which the chain then tells apart by their addresses
    return (lport << 14) ^ rport


def _addr(h, l):
    return bytes((h >> 8, h & 0xFF, l >> 8, l & 0xFF))


class TimeWaitTable:
    """The records, oldest first, at most `size` of them (ended ones waiting in the FIFO
    count too, so memory stays bounded whatever ends them). `ms`: how long one lasts."""

    def __init__(self, tcp, size, ms):
        self.tcp = tcp
        self.max = size
        self.ms = ms
        self.n = 0               # live records
        self._index = {}         # _key(lport, rport) -> record, chained
        self._fifo = []
        self._head = 0

    def find(self, ip, lport, rport):
        """The record a segment is for (ip: its IP header), or None; allocates nothing."""
        r = self._index.get(_key(lport, rport))
        while r is not None:
            if r[_LPORT] == lport and r[_RPORT] == rport and r[_RIP_LO] == ip.src_lo and \
                    r[_RIP_HI] == ip.src_hi and r[_LIP_LO] == ip.dst_lo and \
                    r[_LIP_HI] == ip.dst_hi:
                return r
            r = r[_CHAIN]
        return None

    def holds(self, lip, lport, rip, rport):
        """A record holds this 4-tuple (the addresses as bytes): no new connection of ours
        may take it (TCP.connect)."""
        r = self._index.get(_key(lport, rport))
        while r is not None:
            if r[_LPORT] == lport and r[_RPORT] == rport and \
                    _addr(r[_LIP_HI], r[_LIP_LO]) == lip and _addr(r[_RIP_HI], r[_RIP_LO]) == rip:
                return True
            r = r[_CHAIN]
        return False

    def uses_port(self, lport):
        """A live record has this local port (a bind() without SO_REUSEADDR must not take
        it); a scan, as bind is rare and the table bounded."""
        if self.n:
            fifo = self._fifo
            for i in range(self._head, len(fifo)):
                r = fifo[i]
                if r is not None and r[_LPORT] == lport and r[_EXPIRY] is not None:
                    return True
        return False

    def enter(self, tcb, t):
        """The TCB (already out of the connection table) enters TIME_WAIT at t (TCP's clock):
        its record joins the table, the oldest making room when it is full (Linux drops the
        new TIME_WAIT instead; the new one is the likelier to meet a retransmitted FIN)."""
        tcp = self.tcp
        fifo = self._fifo
        while len(fifo) - self._head >= self.max and self._head < len(fifo):
            old = self._pop()
            if old[_EXPIRY] is not None:
                self.end(old)
                tcp.count("time_wait_recycled")
        r = record(tcb, t + self.ms)
        k = _key(r[_LPORT], r[_RPORT])
        r[_CHAIN] = self._index.get(k)
        self._index[k] = r
        fifo.append(r)
        self.n += 1
        tcp.count("time_wait_entered")
        tcb.tw = r

    def end(self, r):
        """r leaves TIME_WAIT (its time is up, it was reused, reset or reopened)."""
        k = _key(r[_LPORT], r[_RPORT])
        p = self._index[k]
        if p is r:
            if r[_CHAIN] is None:
                del self._index[k]
            else:
                self._index[k] = r[_CHAIN]
        else:
            while p[_CHAIN] is not r:
                p = p[_CHAIN]
            p[_CHAIN] = r[_CHAIN]
        r[_CHAIN] = r[_EXPIRY] = r[_RESTART] = None
        self.n -= 1

    def _pop(self):
        fifo = self._fifo
        h = self._head
        r = fifo[h]
        fifo[h] = None
        h += 1
        if h >= _COMPACT and h * 2 >= len(fifo):
            del fifo[:h]
            h = 0
        self._head = h
        return r

    def poll(self, t):
        """End the records whose time is up at t; -> ms until the next one ends, or None."""
        fifo = self._fifo
        while self._head < len(fifo):
            r = fifo[self._head]
            at = r[_EXPIRY]
            if at is None:
                self._pop()              # ended early: its place in line is all that was left
                continue
            if at > t:
                return at - t
            self._pop()
            if r[_RESTART] is not None:
                # a retransmitted FIN restarted it: to the back of the line, with the new time
                r[_EXPIRY] = r[_RESTART]
                r[_RESTART] = None
                fifo.append(r)
                continue
            self.end(r)
            self.tcp.count("time_wait_expired")
        return None

    def reopens(self, r, seg):
        """RFC 1122 4.2.2.13 (RFC 6191 without timestamps): a SYN whose SEQ lies above the
        old incarnation's RCV.NXT may start a new one."""
        return seq.rel(seg.seq_hi, seg.seq_lo, r[_RCV_HI], r[_RCV_LO], 0) > 0

    def floor(self, r):
        """The ISN a new incarnation must start above: the old SND.NXT (32 bits)."""
        return seq.value(r[_SND_HI], r[_SND_LO])

    def segment(self, r, seg, now, t):
        """A segment for r (RFC 9293 3.10.7.4 in TIME-WAIT, with RFC 5961's checks, as a TCB
        in that state answered it): a retransmitted FIN is acknowledged and restarts 2 MSL,
        an exact RST ends it, other unacceptable segments are acknowledged, and the rest is
        dropped (data after the FIN is ignored)."""
        tcp = self.tcp
        flags = seg.flags
        n = len(seg.payload) + (1 if flags & SYN else 0) + (1 if flags & FIN else 0)
        off = seq.rel(seg.seq_hi, seg.seq_lo, r[_RCV_HI], r[_RCV_LO], 0)
        if not acceptable(off, n, r[_RWND]):
            tcp.count("rx_out_of_window")
            if not flags & RST:
                if flags & FIN:
                    self._fin(r, t)
                else:
                    tcp.count("time_wait_ack")
                self._ack(r)
            return
        if flags & RST:
            if off == 0:
                tcp.count("rst_rx")
                tcp.count("time_wait_rst")
                self.end(r)
            else:
                self._challenge(r, now)          # RFC 5961 3.2
            return
        if flags & SYN:
            self._challenge(r, now)              # RFC 5961 4.2
            return
        if not flags & ACK:
            return
        ack = seq.rel(seg.ack_hi, seg.ack_lo, r[_SND_HI], r[_SND_LO], 0)
        if ack > 0 or ack < -r[_MAX_SNDWND]:
            self._challenge(r, now)              # RFC 5961 5.2
        elif flags & FIN:
            self._fin(r, t)
            self._ack(r)

    def _fin(self, r, t):
        # RFC 9293 3.10.7.4: acknowledge it and restart the 2 MSL timeout
        r[_RESTART] = t + self.ms
        self.tcp.count("time_wait_fin")

    def _challenge(self, r, now):
        tcp = self.tcp
        if tcp.challenge_allowed(now):
            tcp.count("challenge_ack")
            self._ack(r)

    def _ack(self, r):
        tcp = self.tcp
        hlen = wire.emit_halves(tcp.hdr, r[_LPORT], r[_RPORT], r[_SND_HI], r[_SND_LO],
                                r[_RCV_HI], r[_RCV_LO], ACK, r[_WND])
        tcp.send_header(_addr(r[_LIP_HI], r[_LIP_LO]), _addr(r[_RIP_HI], r[_RIP_LO]), hlen)

    def drop_address(self, hi, lo):
        """Our address (hi, lo) is gone: its records end without a word (TCP.address_changed)."""
        for r in self._fifo:
            if r is not None and r[_EXPIRY] is not None and r[_LIP_HI] == hi and \
                    r[_LIP_LO] == lo:
                self.end(r)
