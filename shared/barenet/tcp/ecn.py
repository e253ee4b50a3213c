"""Explicit Congestion Notification for TCP (RFC 3168 6.1): the setup on the SYNs, ECT(0) on
new data, the receiver's ECN-Echo until CWR, and the sender's one reduction per window.

Loaded only when the profile turns ECN on (config `ecn`, off by default as Linux's passive-only
default and lwIP's absence of it): a connection without it never imports this module and keeps
tcb.ecn None. A connection's ECN object exists only once both SYNs agreed (6.1.1).

Sans-I/O like the rest of TCP. The caller's seams:

    offer(tcb) -> flags           # ECE|CWR for our SYN, ECE for a SYN,ACK that answers one
    take_syn(tcb, seg)            # the peer's SYN or SYN,ACK: agree or not (tcb.ecn)
    tcb.ecn.mark(tcb, sq, flags, payload) -> flags; then .tos   # every non-SYN segment out
    tcb.ecn.ack(tcb, seg)         # an acceptable ACK: ECE from the peer
    tcb.ecn.hold(cc, ssthresh)    # loss recovery began: one cut per window, ECN's or its
    tcb.ecn.received(tcb, seg, plen)  # an acceptable segment: CWR, and CE on its data
"""

from ..compat import const
from ..wire.tcp import ECE, CWR
from .state import SYN, ACK, SYN_SENT

_ECT0 = const(2)   # RFC 3168 5: ECT(0), the codepoint a sender sets (6.1.2: "SHOULD")
_CE = const(3)     # RFC 3168 5: Congestion Experienced, set by a router


def offer(tcb):
    """The ECN flags of our SYN (RFC 3168 6.1.1: an "ECN-setup SYN" has ECE and CWR) or of
    our SYN,ACK ("ECN-setup SYN-ACK": ECE alone, only to a peer whose SYN offered)."""
    if not tcb.tcp.cfg.ecn:
        return 0
    if tcb.state == SYN_SENT:
        # An active open offers; its retransmissions do not (RFC 3168 6.1.1.1: a path may
        # drop ECN-setup SYNs; Linux's tcp_ecn_fallback does the same)
        return 0 if tcb.rtx_count else ECE | CWR
    return ECE if tcb.ecn is not None else 0


def take_syn(tcb, seg):
    """RFC 3168 6.1.1: the peer's SYN agrees with ECE and CWR both set; its SYN,ACK with ECE
    and without CWR (one with both is no ECN-setup SYN-ACK: a middlebox reflected our flags).
    Only when ECN is on here; a SYN,ACK to a SYN that offered nothing cannot agree."""
    tcb.ecn = None
    if not tcb.tcp.cfg.ecn:
        return
    f = seg.flags & (ECE | CWR)
    if (f == ECE | CWR) if not seg.flags & ACK else (f == ECE):
        tcb.ecn = ECN()
        tcb.tcp.count("ecn_agreed")


class ECN:
    """One connection's ECN state once agreed (RFC 3168 6.1): echo, the receiver sends ECE
    until a CWR arrives; cwr, the sender's next new data segment carries CWR; end, the send
    offset (snd_max when it reduced) that snd_una must pass before an ECE may reduce cwnd
    again (6.1.2: at most once per window of data), None when no reduction is in force."""

    def __init__(self):
        self.echo = False
        self.cwr = False
        self.end = None
        self.tos = 0
        self.ce_received = 0      # data segments that arrived with CE
        self.ece_received = 0     # ACKs with ECE from the peer
        self.reductions = 0       # cwnd reductions they caused (each announced by a CWR)

    def mark(self, tcb, sq, flags, payload):
        """The flags and IP ECN field (self.tos) of a segment of ours, not a SYN. ECT(0)
        and CWR only on new data (sq at SND.MAX): never on pure ACKs (6.1.4), on
        retransmissions (6.1.5) or on probes into a zero window (6.1.6); ECE on every segment
        while the echo is owed (6.1.3; Linux does the same, data segments included)."""
        if self.echo:
            flags |= ECE
        if payload is not None and sq >= tcb.snd_max and tcb.snd_wnd:
            self.tos = _ECT0
            if self.cwr:
                self.cwr = False
                flags |= CWR
                tcb.tcp.count("ecn_cwr_tx")
        else:
            self.tos = 0
        return flags

    def received(self, tcb, seg, plen):
        """An acceptable segment (RFC 3168 6.1.3): its CWR ends the echo first, then CE on
        its data starts it (again). The first CE is ACKed at once, as Linux's quick-ACK on
        CE: the sender learns of the congestion one delayed-ACK time sooner."""
        if seg.flags & CWR:
            self.echo = False
        if plen and seg.ip_ecn == _CE:
            self.ce_received += 1
            tcb.tcp.count("ecn_ce_rx")
            if not self.echo:
                self.echo = True
                tcb.ack_now = True

    def ack(self, tcb, seg):
        """An acceptable ACK. ECE (not on a SYN,ACK: 6.1.1) asks for the reduction of a loss
        (6.1.2), once per window of data and not while loss recovery has already reduced;
        CWR on the next new data tells the receiver to stop echoing."""
        end = self.end
        if end is not None and tcb.snd_una > end:
            # Data sent after the cut is acknowledged: an ECE from here on is new congestion.
            # One for data up to end only echoes the CE that caused the cut (Linux leaves its
            # CWR state only once snd_una is past high_seq, too).
            self.end = end = None
        if not seg.flags & ECE or seg.flags & SYN:
            return
        self.ece_received += 1
        tcb.tcp.count("ecn_ece_rx")
        cc = tcb.cc
        if end is not None or cc is None or cc.in_recovery:
            return
        cc.cut()
        tcb.undo = None           # no undo past it: this reduction was no mistake (Linux)
        self.reductions += 1
        self.end = tcb.snd_max
        self.cwr = True

    def hold(self, cc, ssthresh):
        """Loss recovery just began (cc cut ssthresh from ssthresh): inside the window of an
        ECN cut it keeps that cut instead of making a second (RFC 3168 6.1.2: no reaction to
        congestion more than once per window; Linux enters Recovery from CWR without one)."""
        if self.end is not None and cc.ssthresh < ssthresh:
            cc.cwnd += ssthresh - cc.ssthresh      # the recovery's own inflation stays
            cc.ssthresh = ssthresh

    def rebase(self, d):
        if self.end is not None:
            self.end -= d

    def info(self):
        return {"ecn": True, "ecn_echo": self.echo, "ecn_ce_received": self.ce_received,
                "ecn_ece_received": self.ece_received, "ecn_reductions": self.reductions}
