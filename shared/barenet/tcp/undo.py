"""Undo of a spurious loss response: D-SACK detection (RFC 3708) of retransmissions the peer
already had, and the restoration of cwnd and ssthresh (Linux's undo: tcp_try_undo_dsack,
tcp_try_undo_loss), after a fast retransmit (RFC 5681 3.2, RFC 6675) or an RTO (RFC 6298 5).

Loaded on a connection's first loss response or first D-SACK: most never see either.

An episode (tcb.undo) starts when loss recovery or a retransmission timeout cuts cwnd: it keeps
cwnd and ssthresh from before the cut, and which data the response may retransmit (sent before
it: offsets [start, end)). RFC 3708 2: when every retransmission of that data has come back as a
D-SACK, none was needed, the reordering or delay that triggered them was no congestion, and the
cut is undone: cwnd and ssthresh are back to at least what they were (as Linux's
tcp_undo_cwnd_reduction). The retransmissions are counted from the TCB's own count
(tcb.retransmits) until snd_una passes end, when the episode's data is all acknowledged and the
count is final. A later cut (an ECN reduction, tcp/ecn.py) ends the episode without an undo.

    reduced(tcb, prior_cwnd, prior_ssthresh)   # a loss response just cut cwnd
    dsack_received(tcb, left, right)           # an ACK's first SACK block reports a duplicate
    tcb.undo.acked(tcb)                        # an ACK advanced snd_una

Eifel detection by timestamps (RFC 3522) is not used: D-SACK alone, which Linux also uses
without timestamps, and which needs no per-retransmission TSval record.
"""


def reduced(tcb, prior_cwnd, prior_ssthresh):
    """A loss response cut cwnd from prior_cwnd (ssthresh from prior_ssthresh). A cut while
    the episode's data is still outstanding (a repeated RTO, an RTO during recovery) extends
    that episode and keeps its first values, as Linux's tcp_enter_loss does."""
    u = tcb.undo
    if u is not None and tcb.snd_una < u.end:
        u.end = tcb.snd_max
        return
    tcb.undo = Undo(tcb, prior_cwnd, prior_ssthresh)


def dsack_received(tcb, left, right):
    """RFC 3708 2: a D-SACK (left, right: send offsets). Counted; when it reports data of the
    episode, it accounts for the retransmissions it covers (Linux counts segments too)."""
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

    def acked(self, tcb):
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
