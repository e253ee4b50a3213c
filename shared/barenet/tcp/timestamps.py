"""TCP timestamps (RFC 7323 3-5): our TSval clock, TS.Recent (4.3), PAWS (5.3) and RTT
samples from TSecr (4.1, 4.2).

Every 32-bit value here is kept as two 16-bit halves, as sequence numbers are (seq.py): on a
32-bit MicroPython port an int of 2**30 or more is a heap object, and a segment must not
allocate. The halves go to and come from the wire as they are (wire/tcp.py ts_option).

Our TSval is the millisecond clock (RFC 7323 5.4: between 1 ms and 1 s a tick). Runners'
clocks wrap at 2**30 (ticks.py), which would make TSval jump back and the peer's PAWS drop
our segments, so the stack counts the wraps in two more bits (tick()): the 32-bit TSval
then wraps every 49.7 days as RFC 7323 expects. This needs the TCP to see a time at least
once per 12.4 days, which the keepalive and any traffic give. Unlike Linux there is no
per-connection random offset (RFC 7323 7.1 allows either).
"""

from .. import ticks
from ..compat import const

# RFC 7323 5.5: TS.Recent is invalid after 24 days of idleness (2073600000 ms), as halves
_IDLE_HI = const(0x7B98)
_IDLE_LO = const(0xA000)


def tick(tcp, now):
    """Bring the stack's TSval (tcp.ts_hi, tcp.ts_lo) to now; now None keeps the last one."""
    if now is None:
        return
    last = tcp.ts_last
    if now < last and ticks.diff(now, last) >= 0:
        tcp.ts_epoch = (tcp.ts_epoch + 1) & 3        # the 2**30 clock wrapped
    tcp.ts_last = now
    tcp.ts_hi = (tcp.ts_epoch << 14) | (now >> 16)
    tcp.ts_lo = now & 0xFFFF


def _top(a_hi, a_lo, b_hi, b_lo):
    # the high half of (a - b) mod 2**32
    return (a_hi - b_hi - (1 if a_lo < b_lo else 0)) & 0xFFFF


def older(a_hi, a_lo, b_hi, b_lo):
    """a < b in 32-bit modular order (RFC 7323 5.3: timestamps compare modulo 2**32)."""
    return _top(a_hi, a_lo, b_hi, b_lo) >= 0x8000


class Recent:
    """A connection's timestamp state, made only when both SYNs carried a TSopt (tcb.ts):
    TS.Recent (hi, lo), our TSval when it was set (age_hi, age_lo: the 24-day rule), and
    last_ack, RCV.NXT of our last ACK (Last.ACK.sent of RFC 7323 4.3, a receive offset)."""

    def __init__(self):
        self.hi = self.lo = self.age_hi = self.age_lo = self.last_ack = 0
        self.rtt_samples = 0        # RTT samples taken from TSecr


def take_syn(tcb, seg):
    """The peer's SYN or SYN,ACK: timestamps are used if both sides sent the option (RFC
    7323 3.2); TS.Recent starts from its TSval."""
    tcb.ts = None
    if seg.ts and tcb.tcp.cfg.timestamps:
        tcb.ts = Recent()
        tcb.ts.last_ack = tcb.rcv_nxt
        _set_recent(tcb, seg)


def _set_recent(tcb, seg):
    tcp = tcb.tcp
    t = tcb.ts
    t.hi = seg.tsv_hi
    t.lo = seg.tsv_lo
    t.age_hi = tcp.ts_hi
    t.age_lo = tcp.ts_lo


def paws_reject(tcb, seg):
    """RFC 7323 5.3 R1: True when seg (not a RST, with a TSopt) carries a TSval older than
    TS.Recent and is to be dropped as a duplicate from an earlier incarnation of the
    sequence space. After 24 days idle TS.Recent is stale instead, and taken from seg
    (5.5)."""
    t = tcb.ts
    if not older(seg.tsv_hi, seg.tsv_lo, t.hi, t.lo):
        return False
    tcp = tcb.tcp
    idle = _top(tcp.ts_hi, tcp.ts_lo, t.age_hi, t.age_lo)
    if idle > _IDLE_HI or (idle == _IDLE_HI and ((tcp.ts_lo - t.age_lo) & 0xFFFF) > _IDLE_LO):
        _set_recent(tcb, seg)
        return False
    return True


def update_recent(tcb, seg):
    """RFC 7323 4.3 (2), for a segment the sequence check accepted: TS.Recent follows the
    TSval of a segment that starts at or before the last ACK we sent, so the TSecr we echo
    times the segment that made the peer's data progress, not a later or reordered one."""
    t = tcb.ts
    if seg.seq_off <= t.last_ack and not older(seg.tsv_hi, seg.tsv_lo, t.hi, t.lo):
        _set_recent(tcb, seg)


def rtt(tcb, seg):
    """RFC 7323 4.1: an RTT sample in ms from seg's TSecr (now minus the TSval it echoes),
    or None. Valid for retransmitted segments too, which Karn's rule cannot time: the echo
    says which transmission the ACK answers. A zero TSecr is taken as no echo (as Linux)."""
    if not seg.ts or (seg.tse_hi == 0 and seg.tse_lo == 0):
        return None
    tcp = tcb.tcp
    top = _top(tcp.ts_hi, tcp.ts_lo, seg.tse_hi, seg.tse_lo)
    if top >= 0x4000:
        return None                 # an echo from the future, or older than 12 days
    tcb.ts.rtt_samples += 1
    return (top << 16) | ((tcp.ts_lo - seg.tse_lo) & 0xFFFF)
