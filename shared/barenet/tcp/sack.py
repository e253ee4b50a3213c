"""Sender-side SACK scoreboard and loss recovery queries (RFC 6675, blocks from RFC 2018).

Sans-I/O and bounded: at most max_blocks disjoint SACKed ranges, kept as offsets from snd_una
in two preallocated lists, so everything after the conversion at the edge is small-int
arithmetic and the 2**32 wrap is handled once, by tcp.seq. Receiver-side SACK generation is
not here (it belongs to the receive path).

The connection code calls (sequence numbers are ints in [0, 2**32), or a connection's offsets
from its base, tcp/state.py: tcp.seq compares both; sb.rebase(d) when the base moves by d):

    sb = Scoreboard(mss, dupthresh=3, max_blocks=16)
    new = sb.update(snd_una, blocks, snd_nxt)
        # on EVERY ACK (blocks = () when it carries no SACK option), so the scoreboard follows
        # snd_una. blocks: (left, right) pairs from the option, right exclusive (RFC 2018 3).
        # Returns the bytes newly SACKed: > 0 makes the ACK a DupAck in RFC 6675 2's sense.
    sb.should_enter_recovery(dupacks, snd_una) -> bool       # RFC 6675 5 steps (1), (2)
    sb.pipe(snd_una, snd_nxt, high_rxt) -> bytes in flight    # RFC 6675 4 SetPipe
    sb.next_seg(snd_una, snd_nxt, high_rxt, unsent, recover) -> (start, end) or None
        # RFC 6675 4 NextSeg; unsent = new bytes the peer's window and the send buffer allow,
        # recover = NewReno.recover (RecoveryPoint), which enables the rescue rule (4).
        # sb.rule tells which rule answered. A range below snd_nxt is a retransmission: set
        # high_rxt = end unless sb.rule == 4 (RFC 6675 5 (C.2)).
    sb.is_lost(seq) -> bool                                    # RFC 6675 4 IsLost
    sb.mark_lost(off)       # RACK (RFC 8985): every unSACKed octet below snd_una + off is lost
    sb.covers(lo, hi) -> bool   # [snd_una + lo, snd_una + hi) is all SACKed
    sb.sacked_bytes() -> int; sb.blocks() -> [(left, right), ...]
    sb.reset()                                                 # on RTO, see reset()

high_rxt follows snd_nxt's convention: one past the highest octet retransmitted in this
recovery (RFC 6675's HighRxt + 1); set it to snd_una on entering recovery.

RFC 6675 5 per ACK, with cc = NewReno(mss, sack=True) and snd_max the highest sequence sent + 1:

    new = sb.update(snd_una, seg.sack, snd_max)
    if <duplicate ACK per RFC 5681 2> or (new and ack == snd_una): dupacks += 1
    if not cc.in_recovery and sb.should_enter_recovery(dupacks, snd_una):
        if cc.enter_recovery(snd_una, snd_max, flight):
            retransmit the segment at snd_una; high_rxt = its end
    if cc.in_recovery:                                   # (C)
        pipe = sb.pipe(snd_una, snd_max, high_rxt)
        while cc.cwnd - pipe >= mss:
            rng = sb.next_seg(snd_una, snd_max, high_rxt, unsent, cc.recover)
            if rng is None: break
            send rng; pipe += its length
            if seq.lt(rng[0], snd_max) and sb.rule != 4: high_rxt = rng[1]
    on RTO: sb.reset() (and cc.on_timeout as usual)
"""

from ..compat import const
from . import seq

# A SACK block must end within the largest window TCP can have (RFC 7323 2.3: 2**30).
_MAX_SPAN = const(0x3FFFFFFF)


class Scoreboard:
    def __init__(self, mss, dupthresh=3, max_blocks=16):
        self.mss = mss
        self.dupthresh = dupthresh
        self._max = max_blocks
        # Sorted, disjoint, non-adjacent [left, right) offsets from self._base.
        self._left = [0] * max_blocks
        self._right = [0] * max_blocks
        self._n = 0
        self._base = 0  # the snd_una the offsets count from
        self._sacked = 0
        # Every unSACKed octet below this offset is lost: octets within one hole share their
        # IsLost value and IsLost only falls as the sequence number rises (RFC 6675 4).
        self._lost_end = 0
        self._rack_end = 0  # the same bound as RACK (RFC 8985) found it: see mark_lost()
        self.invalid = 0  # blocks that are malformed or cover unsent data: dropped
        self.overflows = 0  # disjoint blocks that did not fit: the highest was dropped
        self.rule = 0  # the NextSeg rule behind the last next_seg() answer (0: none)
        # RescueRxt (RFC 6675 4 rule (4)); None until used, and again once HighACK passes it.
        self._rescue = None

    def reset(self):
        """Forget every SACKed range (call on RTO).

        Choice: RFC 6675 5.1 allows keeping the scoreboard, but RFC 2018 8 warns that the
        receiver may have reneged, and after an RTO the caller resends from snd_una anyway
        (RFC 5681 3.1). The receiver repeats its SACK blocks, so the board refills from the
        next ACKs at the cost of some resent SACKed data.
        """
        self._n = 0
        self._sacked = 0
        self._lost_end = 0
        self._rack_end = 0
        self._rescue = None

    def mark_lost(self, off):
        """RACK (RFC 8985 6.2) found every unSACKed octet below snd_una + off lost: IsLost
        answers for either detector, so NextSeg rule (1) resends what RACK marked."""
        if off > self._rack_end:
            self._rack_end = off
            if off > self._lost_end:
                self._lost_end = off

    def covers(self, lo, hi):
        """Whether [snd_una + lo, snd_una + hi) lies within one SACKed range."""
        left = self._left
        right = self._right
        k = 0
        while k < self._n and left[k] < hi:
            if left[k] <= lo and hi <= right[k]:
                return True
            k += 1
        return False

    def sacked_bytes(self):
        return self._sacked

    def blocks(self):
        """The SACKed ranges as absolute (left, right) pairs, lowest first (for introspection)."""
        base = self._base
        return [(seq.add(base, self._left[k]), seq.add(base, self._right[k]))
                for k in range(self._n)]

    def settled(self, snd_una):
        """True when update(snd_una, ()) would change nothing: no SACKed range, no rescue
        retransmission, already following snd_una (input's header prediction relies on it)."""
        return not self._n and self._base == snd_una and self._rescue is None

    def update(self, snd_una, blocks, snd_nxt=None):
        """Follow snd_una and record SACK blocks; returns the bytes newly SACKed."""
        self._rebase(snd_una)
        new = 0
        limit = seq.sub(snd_nxt, snd_una) if snd_nxt is not None else _MAX_SPAN
        for left, right in blocks:
            lo = seq.sub(left, snd_una)
            hi = seq.sub(right, snd_una)
            if hi <= lo or hi > limit:
                self.invalid += 1
                continue
            if hi <= 0:
                continue  # all below snd_una: a D-SACK (RFC 2883) or a stale block
            new += self._insert(lo if lo > 0 else 0, hi)
        if new:
            self._recount()
        return new

    def is_lost(self, sn):
        """RFC 6675 4 IsLost for an outstanding octet; SACKed octets are never lost."""
        off = seq.sub(sn, self._base)
        if off < 0 or off >= self._lost_end:
            return False
        return not self._contains(off)

    def should_enter_recovery(self, dupacks, snd_una):
        """RFC 6675 5 steps (1) and (2): DupThresh DupAcks, or IsLost(HighACK + 1)."""
        return dupacks >= self.dupthresh or self.is_lost(snd_una)

    def pipe(self, snd_una, snd_nxt, high_rxt):
        """RFC 6675 4 SetPipe: outstanding octets not SACKed and not lost, plus retransmitted."""
        self._rebase(snd_una)
        nxt = seq.sub(snd_nxt, snd_una)
        lost = self._lost_end if self._lost_end < nxt else nxt
        rxt = seq.sub(high_rxt, snd_una)
        rxt = 0 if rxt < 0 else (nxt if rxt > nxt else rxt)
        return (self._unsacked_below(nxt) - self._unsacked_below(lost)
                + self._unsacked_below(rxt))

    def next_seg(self, snd_una, snd_nxt, high_rxt, unsent=0, recover=None):
        """RFC 6675 4 NextSeg: the (start, end) range to send next, or None; self.rule says
        which of the rules (1)-(4) chose it. Rule (4) needs recover (RecoveryPoint)."""
        self._rebase(snd_una)
        left = self._left
        right = self._right
        n = self._n
        # The smallest unSACKed octet above HighRxt: (1.a).
        s = seq.sub(high_rxt, snd_una)
        if s < 0:
            s = 0
        k = 0
        while k < n and right[k] <= s:
            k += 1
        if k < n and left[k] <= s:
            s = right[k]
            k += 1
        # (1.b): a SACKed block above s. Stop at it so no SACKed data is resent.
        if k < n:
            end = s + self.mss
            if end > left[k]:
                end = left[k]
            if s < self._lost_end:  # (1.c)
                self.rule = 1
                return (seq.add(snd_una, s), seq.add(snd_una, end))
        if unsent > 0:
            self.rule = 2
            return (snd_nxt, seq.add(snd_nxt, unsent if unsent < self.mss else self.mss))
        if k < n:
            self.rule = 3
            return (seq.add(snd_una, s), seq.add(snd_una, end))
        if recover is not None and self._rescue is None:
            # (4) One rescue per recovery: the segment ending at the highest unSACKed octet,
            # so a lost tail is repaired without waiting for the RTO.
            top = seq.sub(snd_nxt, snd_una)
            if n and right[n - 1] == top:
                top = left[n - 1]
            if top > 0:
                self._rescue = recover
                self.rule = 4
                start = top - self.mss
                return (seq.add(snd_una, start if start > 0 else 0), seq.add(snd_una, top))
        self.rule = 0
        return None

    def rebase(self, d):
        """The connection moved its sequence base up by d: the sequence numbers kept here
        follow (the blocks themselves are offsets from _base)."""
        self._base -= d
        if self._rescue is not None:
            self._rescue -= d

    def _rebase(self, snd_una):
        # Re-express the blocks relative to snd_una, dropping what it now covers.
        delta = seq.sub(snd_una, self._base)
        self._base = snd_una
        if self._rescue is not None and seq.sub(snd_una, self._rescue) > 1:
            # HighACK > RescueRxt: the rescue is available again. Dropping the value then
            # also keeps it from being compared after the sequence space wraps.
            self._rescue = None
        if delta and self._rack_end:
            r = self._rack_end - delta
            self._rack_end = r if r > 0 else 0
        if delta == 0 or self._n == 0:
            if delta:
                self._lost_end = self._rack_end
            return
        left = self._left
        right = self._right
        n = self._n
        kept = 0
        i = 0
        while i < n:
            r = right[i] - delta
            if r > 0:
                lo = left[i] - delta
                left[kept] = lo if lo > 0 else 0
                right[kept] = r
                kept += 1
            i += 1
        self._n = kept
        self._recount()

    def _insert(self, lo, hi):
        # Returns the bytes of [lo, hi) that no block covered before.
        left = self._left
        right = self._right
        n = self._n
        i = 0
        while i < n and right[i] < lo:
            i += 1
        j = i
        while j < n and left[j] <= hi:
            j += 1
        if j > i:
            # [lo, hi) touches blocks i..j-1: merge them into slot i.
            if left[i] < lo:
                lo = left[i]
            if right[j - 1] > hi:
                hi = right[j - 1]
            new = hi - lo
            k = i
            while k < j:
                new -= right[k] - left[k]
                k += 1
            gap = j - i - 1
            while j < n:
                left[j - gap] = left[j]
                right[j - gap] = right[j]
                j += 1
            n -= gap
        else:
            if n == self._max:
                # Keep the lowest blocks: they decide the next retransmissions, and losing
                # a block only makes pipe and IsLost more conservative.
                self.overflows += 1
                if i == n:
                    return 0
                n -= 1
            new = hi - lo
            j = n
            while j > i:
                left[j] = left[j - 1]
                right[j] = right[j - 1]
                j -= 1
            n += 1
        left[i] = lo
        right[i] = hi
        self._n = n
        return new

    def _recount(self):
        # From the highest block down: the hole below block k has n - k SACKed ranges and
        # the bytes of blocks k.. above it (RFC 6675 4 IsLost).
        left = self._left
        right = self._right
        threshold = (self.dupthresh - 1) * self.mss
        total = 0
        lost_end = 0
        k = self._n - 1
        ranges = 0
        while k >= 0:
            total += right[k] - left[k]
            ranges += 1
            if not lost_end and (ranges >= self.dupthresh or total > threshold):
                lost_end = left[k]
            k -= 1
        self._sacked = total
        self._lost_end = lost_end if lost_end > self._rack_end else self._rack_end

    def _contains(self, off):
        left = self._left
        right = self._right
        k = 0
        while k < self._n and left[k] <= off:
            if off < right[k]:
                return True
            k += 1
        return False

    def _unsacked_below(self, off):
        # Octets in [0, off) that no block covers.
        left = self._left
        right = self._right
        count = off
        k = 0
        while k < self._n and left[k] < off:
            count -= (right[k] if right[k] < off else off) - left[k]
            k += 1
        return count
