"""Proportional Rate Reduction (RFC 6937) for SACK loss recovery: how much may be sent on
each ACK while cwnd falls from what was in flight to ssthresh.

RFC 6675 alone sets cwnd = ssthresh at once: with pipe far above it the sender stalls for
half an RTT, then bursts when pipe drops below. PRR spreads the reduction over the recovery
RTT (sndcnt in proportion to what the peer delivered: ssthresh / RecoverFS per byte), and once
pipe is below ssthresh grows back by at most what was delivered plus one SMSS per ACK
(PRR-SSRB, RFC 6937 3.1, the bound Linux uses too). Sans-I/O, integers only.

The recovery code (recovery.py) calls:

    prr.start(flight)         # entering recovery: RecoverFS = snd.nxt - snd.una
    prr.sndcnt(delivered, pipe, ssthresh, mss) -> bytes
        # every ACK in recovery, the one that started it too; delivered = DeliveredData,
        # the change in snd.una plus the change in SACKed bytes. cwnd = pipe + sndcnt.
    prr.out += n              # every byte sent or resent during recovery (prr_out)
"""


class PRR:
    def __init__(self):
        self.recover_fs = 1
        self.delivered = 0  # prr_delivered: bytes the peer got since recovery began
        self.out = 0  # prr_out: bytes sent since recovery began

    def start(self, flight):
        # RFC 6937 3.1: RecoverFS = snd.nxt - snd.una (never 0, it divides)
        self.recover_fs = flight if flight > 0 else 1
        self.delivered = 0
        self.out = 0

    def sndcnt(self, delivered, pipe, ssthresh, mss):
        """RFC 6937 3.1 "on every ACK during recovery": the bytes this ACK lets out."""
        if delivered > 0:
            self.delivered += delivered
        else:
            delivered = 0  # a renege shrinks the SACKed bytes: nothing was delivered
        if pipe > ssthresh:
            # Proportional part: CEIL(prr_delivered * ssthresh / RecoverFS) - prr_out, the
            # CEIL taken in whole segments, as Linux (tcp_cwnd_reduction counts packets): a
            # byte quota short of one SMSS would otherwise hold the segment for one more ACK
            n = -(-self.delivered * ssthresh // (self.recover_fs * mss)) * mss - self.out
        else:
            # PRR-SSRB: limit = MAX(prr_delivered - prr_out, DeliveredData) + MSS
            limit = self.delivered - self.out
            if limit < delivered:
                limit = delivered
            n = ssthresh - pipe
            if n > limit + mss:
                n = limit + mss
        return n if n > 0 else 0

    def info(self):
        return {"prr_delivered": self.delivered, "prr_out": self.out,
                "prr_recover_fs": self.recover_fs}
