"""Undo of a spurious loss response: D-SACK detection (RFC 3708) of retransmissions the peer
already had, or with timestamps the Eifel detection (RFC 3522), and the restoration of cwnd
and ssthresh (Linux's undo: tcp_try_undo_dsack, tcp_try_undo_loss), after a fast retransmit
(RFC 5681 3.2, RFC 6675) or an RTO (RFC 6298 5).

Loaded on a connection's first loss response or first D-SACK: most never see either.

An episode (tcb.undo) starts when loss recovery or a retransmission timeout cuts cwnd: it keeps
cwnd and ssthresh from before the cut, and which data the response may retransmit (sent before
it: offsets [start, end)). RFC 3708 2: when every retransmission of that data has come back as a
D-SACK, none was needed, the reordering or delay that triggered them was no congestion, and the
cut is undone: cwnd and ssthresh are back to at least what they were (as Linux's
tcp_undo_cwnd_reduction). The retransmissions are counted from the TCB's own count
(tcb.retransmits) until snd_una passes end, when the episode's data is all acknowledged and the
count is final. A later cut (an ECN reduction, tcp/ecn.py) ends the episode without an undo.

With timestamps, RFC 3522 tells sooner, from the first ACK after the first retransmission: an
echo older than the retransmission's TSval answers the original transmission, which therefore
arrived (Linux's tcp_packet_delayed does the same). The TSval is the one the retransmission
leaves with: the ms clock at the cut, which sends it in the same step.

    reduced(tcb, prior_cwnd, prior_ssthresh, now)   # a loss response just cut cwnd
    dsack(tcb, blocks, ack)                    # an ACK's SACK blocks (send offsets)
    tcb.undo.acked(tcb, seg)                   # an ACK (seg) advanced snd_una
"""

from .timestamps import older, tick


def reduced(tcb, prior_cwnd, prior_ssthresh, now):
    """A loss response cut cwnd from prior_cwnd (ssthresh from prior_ssthresh) at now, and
    its first retransmission leaves now. A cut while the episode's data is still outstanding
    (a repeated RTO, an RTO during recovery) extends that episode and keeps its first values
    (the first retransmission's TSval too), as Linux's tcp_enter_loss does."""
    u = tcb.undo
    if u is not None and tcb.snd_una < u.end:
        u.end = tcb.snd_max
        return
    u = tcb.undo = Undo(tcb, prior_cwnd, prior_ssthresh)
    if tcb.ts is not None:
        tcp = tcb.tcp
        tick(tcp, now)
        u.eifel = True
        u.ts_hi = tcp.ts_hi         # RFC 3522 2: RetransmitTS
        u.ts_lo = tcp.ts_lo


def dsack(tcb, blocks, ack):
    """An ACK's SACK blocks (send offsets) and cumulative ACK: when the first block is a
    D-SACK (RFC 2883 4 / RFC 3708 2: below the ACK, or inside the second block) it is
    counted, and when it reports data of the episode it accounts for the retransmissions it
    covers (Linux counts segments too)."""
    left, right = blocks[0]
    if right > ack and (len(blocks) < 2 or blocks[1][0] > left or right > blocks[1][1]):
        return
    tcb.dsack_received += 1
    tcb.tcp.count("dsack_rx")
    u = tcb.undo
    if u is None or left < u.start or right > u.end:
        return
    mss = tcb.mss
    u.dsacked += (right - left + mss - 1) // mss
    n = u.retransmits(tcb)
    if n and u.dsacked >= n:
        u.undo(tcb)


class Undo:
    eifel = False                 # the first ACK after the retransmission is still to come
    ts_hi = ts_lo = 0

    def __init__(self, tcb, prior_cwnd, prior_ssthresh):
        self.cwnd = prior_cwnd
        self.ssthresh = prior_ssthresh
        self.start = tcb.snd_una
        self.end = tcb.snd_max
        self.rtx_base = tcb.retransmits
        self.final = None         # the episode's retransmissions once its data is acked
        self.dsacked = 0          # of them, the ones the peer reported as duplicates

    def retransmits(self, tcb):
        f = self.final
        return tcb.retransmits - self.rtx_base if f is None else f

    def acked(self, tcb, seg):
        if self.eifel:
            # RFC 3522 2: only the first acceptable ACK after the retransmission tells
            self.eifel = False
            if seg.ts and (seg.tse_hi or seg.tse_lo) and \
                    older(seg.tse_hi, seg.tse_lo, self.ts_hi, self.ts_lo):
                tcb.tcp.count("undo_eifel")
                self.undo(tcb)
                return
        if self.final is None and tcb.snd_una >= self.end:
            self.final = tcb.retransmits - self.rtx_base
            if not self.final:
                tcb.undo = None   # nothing was retransmitted: nothing to undo

    def undo(self, tcb):
        """RFC 3708 2 response, as Linux: cwnd and ssthresh at least as before the cut, and
        the recovery it started is over; after an RTO, what go-back-N would resend is taken
        as delivered (RFC 4015 3.2: resume with new data)."""
        cc = tcb.cc
        if cc.cwnd < self.cwnd:
            cc.cwnd = self.cwnd
        if cc.ssthresh < self.ssthresh:
            cc.ssthresh = self.ssthresh
        cc.in_recovery = False
        if tcb.snd_nxt < tcb.snd_max:
            tcb.snd_nxt = tcb.snd_max
        tcb.dupacks = 0
        tcb.undo = None
        tcb.undo_count += 1
        tcb.tcp.count("undo")

    def rebase(self, d):
        self.start -= d
        self.end -= d
