"""Proportional Rate Reduction (RFC 6937, PRR-SSRB) in SACK loss recovery: the send pattern on
both targets (tcp_script.py; Linux does PRR too), and the formulas of prr.py against RFC 6937
3.1 written out here in fractions of segments.
"""

from fractions import Fraction
import math
import socket

import pytest

from barenet.tcp.prr import PRR
from tcp_script import US_PORT, script  # noqa: F401 (fixture)

MSS = 1460          # no timestamps in these scripts: the whole MSS is payload
RTT = 200           # ms the peer takes to answer: RACK's window is 50 ms (see prr_script)
QUIET = 20          # ms to watch for nothing: on Linux, well inside its 200 ms RTO floor
BASE = 2001         # the SUT's first data byte (its nominal ISN is 2000)


def seg(k):
    return BASE + k * MSS


def prr_script(script, congestion):
    """A connection that has 20 full segments in flight and cwnd 20 (slow start from IW 10,
    RFC 6928, one ACK per segment), with 40 more segments queued behind them. Every RTT
    sample is RTT ms, so RACK's reordering window (RFC 8985 6.2: min_RTT / 4) is wide enough
    that the duplicate ACKs, not its timer, start the recovery on both targets."""
    s = script(isn=2000, profile="host", congestion=congestion)
    lst = s.tcp.listen(US_PORT)
    s.inject("S", seq=1000, mss=MSS, sack_perm=True)
    sa = s.expect("SA", ack=1001)
    s.wait(RTT)
    s.inject("A", seq=1001, ack=sa.seq + 1)
    s.expect_nothing()
    c = lst.accept()
    if s.linux:
        # the namespace may not take cubic as its default (tcp_allowed_congestion_control
        # is the host's); the socket option may, as root (CAP_NET_ADMIN)
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, congestion)
        c.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)   # all 60 at once
    c.send(b"p" * (60 * MSS))
    assert [t.seq for t in s.expect_many(10)] == [seg(k) for k in range(10)]
    s.wait(RTT)
    for k in range(10):
        # each ACK of one segment opens cwnd by one: two segments go out (RFC 5681 3.1)
        s.inject("A", seq=1001, ack=seg(k + 1))
        assert [t.seq for t in s.expect_many(2)] == [seg(10 + 2 * k), seg(11 + 2 * k)]
    s.wait(RTT)
    return s, c


def dupack(s, sacked_to):
    """The peer still misses segment 10 and SACKs 11 up to (not including) sacked_to."""
    s.inject("A", seq=1001, ack=seg(10), sack=[(seg(11), seg(sacked_to))])


@pytest.mark.parametrize("congestion, beta", [("reno", Fraction(1, 2)),
                                              ("cubic", Fraction(7, 10))])
def test_prr_send_pattern_in_sack_recovery(script, congestion, beta):
    # ssthresh = beta * RecoverFS (Reno 1/2, CUBIC 0.7, RFC 9438 4.6), and once D segments
    # were delivered in the recovery PRR has let out CEIL(D * beta) segments in all
    # (RFC 6937 3.1; pipe stays above ssthresh here): Reno one per two ACKs, CUBIC 7 per 10.
    s, c = prr_script(script, congestion)
    # Segment 10 is lost; the first ACK after it SACKs three segments: recovery at once
    # (RFC 6675 IsLost, RACK's DupThresh rule), so no Limited Transmit comes first. D = 3:
    # the retransmission and CEIL(3 beta) - 1 new segments.
    dupack(s, 14)
    first = math.ceil(3 * beta)
    got = [t.seq for t in s.expect_many(first)]
    assert got == [seg(10)] + [seg(30 + k) for k in range(first - 1)]
    s.expect_nothing(QUIET)
    nxt = 30 + first - 1
    sends = []
    for d in range(4, 13):
        dupack(s, 11 + d)
        n = math.ceil(d * beta) - math.ceil((d - 1) * beta)
        if n:
            s.expect("A|PA", seq=seg(nxt), within=(0, 0))    # Linux pushes some
            nxt += 1
            sends.append(d)
        else:
            s.expect_nothing(QUIET)
    assert sends == ([5, 7, 9, 11] if beta == Fraction(1, 2) else [5, 6, 8, 9, 11, 12])
    # A full ACK ends the recovery: cwnd = ssthresh (RFC 6937 3.1), beta of the 20 segments
    # that were in flight.
    s.inject("A", seq=1001, ack=seg(nxt))
    s.take()
    i = c.info()
    assert i.get("cc", congestion) == congestion
    assert i["ssthresh"] == int(beta * 20) * MSS, i
    if not s.linux:
        assert i["cwnd"] == i["ssthresh"] and not i["in_recovery"]
        assert i["prr_delivered"] == 12 * MSS and i["prr_out"] == math.ceil(12 * beta) * MSS
        assert i["timeouts"] == 0 and i["fast_retransmits"] == 1


# -- the formulas ---------------------------------------------------------------------------

def rfc6937(delivered_per_ack, pipes, ssthresh, recover_fs, mss):
    """RFC 6937 3.1 with exact fractions, sndcnt rounded up to whole segments as Linux does;
    -> sndcnt per ACK, with prr_out += sndcnt (the sender sends all it may)."""
    prr_delivered = prr_out = 0
    out = []
    for dd, pipe in zip(delivered_per_ack, pipes):
        prr_delivered += dd
        if pipe > ssthresh:
            sndcnt = math.ceil(Fraction(prr_delivered * ssthresh, recover_fs * mss)) * mss \
                - prr_out
        else:
            limit = max(prr_delivered - prr_out, dd) + mss
            sndcnt = min(ssthresh - pipe, limit)
        sndcnt = max(sndcnt, 0)
        prr_out += sndcnt
        out.append(sndcnt)
    return out


@pytest.mark.parametrize("ssthresh, recover_fs", [(7, 10), (10, 20), (15, 22), (3, 4)])
def test_sndcnt_matches_rfc6937(ssthresh, recover_fs):
    mss = 1000
    delivered = [mss, 2 * mss, 0, mss, 3 * mss, mss, mss, 500, mss, 4 * mss]
    # pipe falls through ssthresh halfway: both the proportional part and PRR-SSRB run
    pipes = [recover_fs * mss * (10 - k) // 10 for k in range(len(delivered))]
    want = rfc6937(delivered, pipes, ssthresh * mss, recover_fs * mss, mss)
    p = PRR()
    p.start(recover_fs * mss)
    got = []
    for dd, pipe in zip(delivered, pipes):
        n = p.sndcnt(dd, pipe, ssthresh * mss, mss)
        p.out += n
        got.append(n)
    assert got == want
    assert any(pp > ssthresh * mss for pp in pipes) and any(pp <= ssthresh * mss for pp in pipes)


def test_ssrb_grows_by_delivered_plus_one_segment():
    # RFC 6937 3.1 PRR-SSRB: pipe below ssthresh (more losses than the reduction): each ACK
    # may send what it delivered and one SMSS more, never past ssthresh.
    p = PRR()
    p.start(20000)
    p.out = p.delivered = 0
    assert p.sndcnt(1000, 4000, 10000, 1000) == 2000
    p.out += 2000
    assert p.sndcnt(3000, 5000, 10000, 1000) == 4000     # max(4000 - 2000, 3000) + 1000
    assert p.sndcnt(1000, 9500, 10000, 1000) == 500      # ssthresh - pipe
    assert p.sndcnt(-1000, 10000, 10000, 1000) == 0      # a renege delivers nothing
    assert p.delivered == 5000
