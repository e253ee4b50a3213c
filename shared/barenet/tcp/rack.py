"""RACK-TLP loss detection (RFC 8985) for SACK senders, beside the RFC 6675 scoreboard.

RACK (section 6) decides loss by time: a segment is lost once a segment sent after it has been
delivered and a reordering window has passed since. That needs each segment's transmit time,
kept here in a bounded ring of the segments in flight (offsets from a base in preallocated
lists, so the hot path stays in small ints; the base moves only every 2**28 bytes, so an ACK
costs no walk over the ring). What RACK marks lost reaches the scoreboard as a
lost prefix (Scoreboard.mark_lost), so NextSeg rule (1) resends it; a lost retransmission,
which RFC 6675 cannot see, is offered by lost_rxt(). When the ring is full, new segments go
unrecorded and only RFC 6675 watches them. TLP (section 7) state lives here too; its timer is
the connection's.

Sans-I/O and allocation-light; time only through barenet.ticks. The connection calls:

    rk = RACK(snd_una, max_segs=128)
    rk.on_send(start, end, now)        # every data/FIN segment sent (new or retransmitted)
    rk.on_ack(snd_una, sb, sacked, now)  # every ACK, after sb.update(); sacked = its result
    wait = rk.detect_loss(sb, now, srtt, in_recovery)   # RFC 8985 6.2 step 5; ms to re-run or 0
    rk.lost, rk.lost_rxt() -> bytes (then rk.rxt_start / rk.rxt_end: offsets from snd_una)
    rk.rtt_sample(ms)                  # every other valid RTT measurement (RFC 6298 ones)
    rk.on_timeout(snd_max)             # the RTO fired
    rk.rebase(d)                       # the connection moved its sequence base up by d
    rk.tlp_end, rk.tlp_rxt, rk.tlp_ack(ack, advanced, sack) -> True: the probe repaired a loss
"""

from .. import ticks
from ..compat import const
from . import seq

_SACKED = const(1)  # delivered by a SACK block
_RXT = const(2)     # retransmitted at least once (RFC 8985 Segment.retransmitted)
_LOST = const(4)    # marked lost and not retransmitted since

_NO_RTT = const(0x3FFFFFFF)
_DUPTHRESH = const(3)       # RFC 8985 6.2 step 4 (RFC 6675's DupThresh)
WCDELACK_MS = const(200)    # RFC 8985 7.2 WCDelAckT: worst-case delayed-ACK timer
_REBASE = const(1 << 28)        # move the offsets' base once snd_una is this far past it


class RACK:
    def __init__(self, snd_una, max_segs=128):
        self._cap = max_segs
        self._start = [0] * max_segs   # ring of segments in sequence order: offsets from
        self._end = [0] * max_segs     # self._base (snd_una), transmit time, flags
        self._ts = [0] * max_segs
        self._flag = [0] * max_segs
        self._head = 0
        self._n = 0
        self._base = snd_una           # the sequence number the offsets count from
        self._una = 0                  # snd_una's offset
        self.unrecorded = 0            # segments sent while the ring was full
        # RFC 8985 6.1 per-connection state
        self.min_rtt = _NO_RTT
        self.rtt = 0
        self._xmit_ts = None           # RACK.xmit_ts; None: nothing delivered yet
        self._end_seq = 0              # RACK.end_seq (offset)
        self._rxt = False              # that segment was a retransmission
        self._fack = 0                 # RACK.fack (offset)
        self.reordering_seen = False
        self._segs_sacked = 0
        self.lost = 0                  # segments now marked lost
        self.rxt_start = self.rxt_end = 0
        # RFC 8985 7 TLP state; rto_end: RTO recovery lasts until snd_una passes it
        self.tlp_end = None
        self.tlp_rxt = False
        self.rto_end = None

    def _at(self, i):
        return (self._head + i) % self._cap

    def on_send(self, start, end, now):
        """A segment [start, end) left now: retransmitted parts restamp their entries (RFC 8985
        6.1 Segment.xmit_ts, .retransmitted), what lies past the ring's tail is appended."""
        lo = seq.sub(start, self._base)
        hi = seq.sub(end, self._base)
        n = self._n
        sts = self._start
        ends = self._end
        tail = ends[self._at(n - 1)] if n else lo
        i = 0 if lo < tail else n
        while i < n:
            k = self._at(i)
            if sts[k] >= hi:
                break
            if ends[k] > lo:
                f = self._flag[k]
                if f & _LOST:
                    self.lost -= 1
                self._flag[k] = (f | _RXT) & ~_LOST
                self._ts[k] = now
            i += 1
        if hi <= tail:
            return
        if n == self._cap:
            self.unrecorded += 1   # degrade to RFC 6675 for this segment
            return
        k = self._at(n)
        sts[k] = tail if tail > lo else lo
        ends[k] = hi
        self._ts[k] = now
        self._flag[k] = 0
        self._n = n + 1

    def settled(self, snd_una):
        """True when an ACK of snd_una with no SACK information would change nothing here:
        no segment recorded, no probe or RTO episode open, snd_una already followed (input's
        header prediction relies on it; detect_loss then finds nothing and asks no timer)."""
        return not self._n and self.tlp_end is None and self.rto_end is None and \
            seq.sub(snd_una, self._base) == self._una

    def on_ack(self, snd_una, sb, sacked, now):
        """RFC 8985 6.2 steps 1-3 for the segments this ACK delivered, cumulatively or (when
        sacked > 0: it brought new SACK information) selectively."""
        una = seq.sub(snd_una, self._base)
        delta = una - self._una
        self._una = una
        if self.rto_end is not None and seq.ge(snd_una, self.rto_end):
            self.rto_end = None
        if delta:
            ends = self._end
            while self._n and ends[self._head] <= una:
                k = self._head
                f = self._flag[k]
                if f & _SACKED:
                    self._segs_sacked -= 1
                else:
                    if f & _LOST:
                        self.lost -= 1
                    self._deliver(k, now)
                self._head = (k + 1) % self._cap
                self._n -= 1
            if una >= _REBASE:
                self._rebase(snd_una, una)
                una = 0
        if sacked > 0:
            for i in range(self._n):
                k = self._at(i)
                f = self._flag[k]
                # the scoreboard counts from snd_una
                if not f & _SACKED and sb.covers(self._start[k] - una, self._end[k] - una):
                    if f & _LOST:
                        self.lost -= 1
                    self._flag[k] = (f | _SACKED) & ~_LOST
                    self._segs_sacked += 1
                    self._deliver(k, now)

    def _rebase(self, snd_una, una):
        # Rare (every 2**28 bytes): keeps offsets small ints on 32-bit MicroPython ports.
        sts = self._start
        ends = self._end
        for i in range(self._n):
            k = self._at(i)
            sts[k] -= una
            ends[k] -= una
        self._end_seq -= una
        self._fack -= una
        self._base = snd_una
        self._una = 0

    def rebase(self, d):
        """The connection moved its sequence base up by d (tcp/state.py): the sequence numbers
        kept here follow; the ring's offsets count from _base and stay."""
        self._base -= d
        if self.tlp_end is not None:
            self.tlp_end -= d
        if self.rto_end is not None:
            self.rto_end -= d

    def _deliver(self, k, now):
        ts = self._ts[k]
        end = self._end[k]
        rxt = self._flag[k] & _RXT
        # step 3 RACK_detect_reordering
        if end > self._fack:
            self._fack = end
        elif not rxt:
            self.reordering_seen = True
        # step 2 RACK_update (no timestamps: Karn's ambiguity is settled by min_RTT alone)
        rtt = ticks.diff(now, ts)
        if rtt < 0:
            return
        if rxt:
            if rtt < self.min_rtt:
                return  # the ACK may be for the original transmission
        else:
            self.rtt_sample(rtt)  # step 1 (a plain minimum; Linux filters over a window)
        if self._after(ts, end, rxt):
            self._xmit_ts = ts
            self._end_seq = end
            self._rxt = rxt
            self.rtt = rtt

    def _after(self, ts, end, rxt):
        # RFC 8985 6.2 RACK_sent_after(ts, end, RACK.xmit_ts, RACK.end_seq). Within one
        # millisecond only original transmissions are ordered (by sequence, the order they
        # leave in); a retransmission in the same tick may have left before or after.
        x = self._xmit_ts
        if x is None:
            return True
        d = ticks.diff(ts, x)
        return d > 0 or (d == 0 and not rxt and not self._rxt and end > self._end_seq)

    def rtt_sample(self, rtt):
        """An RTT measured elsewhere (the handshake, Karn-safe timing): RACK.min_RTT is the
        connection's minimum RTT (RFC 8985 6.1), not only what RACK itself measured."""
        if 0 <= rtt < self.min_rtt:
            self.min_rtt = rtt

    def reo_wnd(self, srtt, in_recovery):
        """RFC 8985 6.2 step 4 RACK_update_reo_wnd (the DSACK-driven multiplier stays 1:
        barenet does not act on D-SACK)."""
        if not self.reordering_seen and (in_recovery or self._segs_sacked >= _DUPTHRESH):
            return 0
        w = self.min_rtt >> 2 if self.min_rtt != _NO_RTT else 0
        return w if w < srtt else srtt

    def detect_loss(self, sb, now, srtt, in_recovery):
        """RFC 8985 6.2 step 5 RACK_detect_loss: mark what is lost; returns the ms after which
        to run it again for segments still within the reordering window (6.3), or 0."""
        x = self._xmit_ts
        if x is None:
            return 0
        wait = self.rtt + self.reo_wnd(srtt, in_recovery)
        timeout = 0
        lost_end = 0
        ends = self._end
        for i in range(self._n):
            k = self._at(i)
            f = self._flag[k]
            if f & (_SACKED | _LOST):
                continue
            ts = self._ts[k]
            if self._after(ts, ends[k], f & _RXT):
                if not f & _RXT:
                    # Originals leave in sequence order and a retransmission after its
                    # original, so everything past this one left later still: stop, as
                    # Linux's walk of its time-ordered list does (an ACK costs O(1) then).
                    break
                continue
            if ts == x and (f & _RXT or self._rxt):
                continue  # not known to be sent before the most recently delivered segment
            remaining = ticks.diff(ticks.add(ts, wait), now)
            if remaining <= 0:
                self._flag[k] = f | _LOST
                self.lost += 1
                if not f & _RXT:
                    lost_end = ends[k]
            elif remaining > timeout:
                timeout = remaining
        if lost_end > self._una:
            # Original transmissions leave in sequence order, so the lost ones are a prefix
            # of them: every unSACKed octet below lost_end is lost (or was resent).
            sb.mark_lost(lost_end - self._una)
        return timeout

    def lost_rxt(self):
        """Bytes of retransmissions RACK found lost (RFC 6675 cannot: they lie below
        HighRxt); rxt_start / rxt_end then give the lowest one, as offsets from snd_una."""
        if not self.lost:
            return 0
        total = 0
        first = True
        una = self._una
        for i in range(self._n):
            k = self._at(i)
            if self._flag[k] & (_LOST | _RXT) == _LOST | _RXT:
                lo = self._start[k] - una
                if lo < 0:
                    lo = 0
                total += self._end[k] - una - lo
                if first:
                    self.rxt_start = lo
                    self.rxt_end = self._end[k] - una
                    first = False
        return total

    def last_start(self):
        """Offset from snd_una of the highest recorded segment (the TLP's retransmission)."""
        if not self._n:
            return None
        s = self._start[self._at(self._n - 1)] - self._una
        return s if s > 0 else 0

    def on_timeout(self, snd_max):
        """The RTO fired: everything is resent from snd_una (go-back-N), so no segment stays
        marked lost, and no probe is sent until the data outstanding now is acknowledged."""
        for i in range(self._n):
            k = self._at(i)
            self._flag[k] &= ~_LOST
        self.lost = 0
        self.tlp_end = None
        self.rto_end = snd_max

    def tlp_ack(self, ack, advanced, sack):
        """RFC 8985 7.4.2 (as Linux tcp_process_tlp_ack, without D-SACK): ends the probe's
        episode; True when a retransmitted probe repaired a loss and cwnd must be reduced."""
        end = self.tlp_end
        if end is None or seq.lt(ack, end):
            return False
        if not self.tlp_rxt:
            self.tlp_end = None
        elif seq.gt(ack, end):
            self.tlp_end = None
            return True
        elif not advanced and not sack:
            self.tlp_end = None  # a pure duplicate: the original and the probe both arrived
        return False
