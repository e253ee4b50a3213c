"""NewReno congestion control (RFC 5681, RFC 6582, RFC 3465 ABC L=2, RFC 6928 IW) as cwnd traces.

A tiny ACK-clocked sender drives the module one round trip at a time; every trace runs with an
ISN at 0, just below the 2**32 wrap and at the 2**31 sign boundary, so the flight crosses them.
Units in the traces are segments of MSS bytes.
"""

import os
import subprocess
import sys

import pytest

from barenet.tcp import seq
from barenet.tcp.congestion import INFINITE, NewReno

MSS = 1000
ISNS = [0, 2**32 - 7 * MSS - 123, 2**31 - 5 * MSS]


class Sender:
    """Enough of a TCP sender to produce cwnd traces: snd_una, snd_nxt, snd_max, dupack count."""

    def __init__(self, isn, **kw):
        self.cc = NewReno(MSS, **kw)
        self.una = self.nxt = self.max = isn
        self.dups = 0

    def flight(self):
        return seq.sub(self.nxt, self.una)

    def segs(self):
        return self.cc.cwnd / MSS

    def fill(self):
        """Send whole new segments while the window allows (RFC 5681 3.1)."""
        while self.flight() + MSS <= self.cc.cwnd:
            self.nxt = seq.add(self.nxt, MSS)
            if seq.gt(self.nxt, self.max):
                self.max = self.nxt

    def ack(self, nsegs):
        """The peer acknowledges nsegs more segments; returns on_ack's answer."""
        return self.ack_bytes(nsegs * MSS)

    def ack_bytes(self, acked):
        self.una = seq.add(self.una, acked)
        self.dups = 0
        return self.cc.on_ack(acked, self.una, self.nxt, self.flight())

    def dupack(self):
        self.dups += 1
        return self.cc.on_dupack(self.dups, self.una, self.nxt, self.flight())

    def rtt(self, ack_every=1):
        """One loss-free round trip: fill the window, then the whole flight is ACKed in order."""
        self.fill()
        while self.una != self.nxt:
            self.ack(min(ack_every, self.flight() // MSS))
        return self.segs()

    def timeout(self):
        self.cc.on_timeout(self.flight(), self.max)
        self.nxt = self.una  # go-back-N (RFC 5681 3.1); snd_max stays


def test_initial_window_rfc6928():
    assert NewReno(1460).cwnd == 14600
    assert NewReno(536).cwnd == 5360  # 10 * MSS is below 14600
    assert NewReno(9000).cwnd == 18000  # 2 * MSS is above 14600
    assert NewReno(1460, initial_window=2920).cwnd == 2920
    assert NewReno(1460).ssthresh == INFINITE
    with pytest.raises(OSError):
        NewReno(0)


@pytest.mark.parametrize("isn", ISNS)
def test_cwnd_trace_slow_start_recovery_avoidance_timeout(isn):
    s = Sender(isn)
    # Slow start: one segment more per ACK, so cwnd doubles every RTT.
    assert [s.rtt() for _ in range(2)] == [20, 40]

    # Segment 1 of a 40-segment flight is lost: 39 duplicate ACKs come back.
    s.fill()
    assert s.flight() == 40 * MSS
    fast = [s.dupack() for _ in range(2)]
    assert fast == [False, False] and s.segs() == 40  # nothing happens before the 3rd
    assert s.dupack() is True  # 3rd: fast retransmit, RFC 6582 3.2 (2)
    assert s.cc.in_recovery and s.cc.ssthresh == 20 * MSS and s.segs() == 23
    assert s.cc.recover == seq.add(s.nxt, -1)
    for _ in range(36):
        assert s.dupack() is False
        s.fill()  # inflated cwnd lets new data out as duplicates arrive
    assert s.segs() == 59 and s.flight() == 59 * MSS  # 19 new segments went out
    # The retransmission arrives: the ACK covers all 40 (full ACK), 19 remain outstanding.
    assert s.ack(40) is False
    assert not s.cc.in_recovery
    assert s.segs() == 20  # min(ssthresh, flight + MSS) = halved window (RFC 6582 3.2 (3))

    # Congestion avoidance: one segment more per RTT.
    assert [s.rtt() for _ in range(4)] == [21, 22, 23, 24]

    # The whole flight is lost: RTO halves the flight into ssthresh, cwnd = 1 segment.
    s.fill()
    s.timeout()
    assert s.segs() == 1 and s.cc.ssthresh == 12 * MSS and s.cc.timeouts == 1
    # The retransmission is lost too: ssthresh is held, not halved again (RFC 5681 3.1).
    s.timeout()
    assert s.segs() == 1 and s.cc.ssthresh == 12 * MSS and s.cc.timeouts == 2
    # Slow start back to ssthresh, then linear growth.
    assert [s.rtt() for _ in range(6)] == [2, 4, 8, 12, 13, 14]
    assert s.cc.fast_retransmits == 1


def test_slow_start_doubles_with_delayed_acks():
    # RFC 3465 2.2 with L = 2: one ACK per two segments still doubles cwnd per RTT
    # (with L = 1 it would grow by half).
    s = Sender(0)
    assert [s.rtt(ack_every=2) for _ in range(3)] == [20, 40, 80]


def test_stretch_ack_is_capped_in_slow_start():
    cc = NewReno(MSS)
    cc.on_ack(10 * MSS, 10 * MSS, 10 * MSS, 0)
    assert cc.cwnd == 12 * MSS  # + min(acked, 2*SMSS)


def test_congestion_avoidance_counts_bytes_not_acks():
    # RFC 3465 2.1: many small ACKs give the same growth as few big ones.
    cc = NewReno(MSS, initial_window=10 * MSS)
    cc.ssthresh = 10 * MSS
    for _ in range(100):
        cc.on_ack(100, 0, 0, 0)  # 10000 bytes in 100-byte ACKs
    assert cc.cwnd == 11 * MSS
    for _ in range(109):
        cc.on_ack(100, 0, 0, 0)
    assert cc.cwnd == 11 * MSS  # 10900 < 11000 bytes: not yet
    cc.on_ack(100, 0, 0, 0)
    assert cc.cwnd == 12 * MSS


@pytest.mark.parametrize("isn", ISNS)
def test_partial_acks(isn):
    # Segments 1 and 11 of a 20-segment flight are lost (RFC 6582 3.2 (5)).
    s = Sender(isn)
    s.rtt()
    s.fill()
    assert s.flight() == 20 * MSS
    for _ in range(3):
        s.dupack()
    assert s.cc.in_recovery and s.segs() == 13 and s.cc.ssthresh == 10 * MSS
    # The retransmission of segment 1 is ACKed up to the second hole: a partial ACK.
    assert s.ack(10) is True  # retransmit the segment at snd_una now
    assert s.cc.in_recovery and s.segs() == 13 - 10 + 1 and s.cc.partial_acks == 1
    # A partial ACK of less than one MSS deflates without adding back.
    assert s.ack_bytes(500) is True
    assert s.cc.cwnd == 4 * MSS - 500 and s.cc.in_recovery
    # Further duplicates still inflate during recovery.
    s.dupack()
    assert s.cc.cwnd == 5 * MSS - 500
    # The second retransmission fills the last hole: full ACK, nothing left outstanding.
    assert s.ack_bytes(9500) is False
    assert not s.cc.in_recovery and s.segs() == 2  # min(ssthresh, max(0, MSS) + MSS)


@pytest.mark.parametrize("isn", ISNS)
def test_full_ack_with_large_flight_exits_to_ssthresh(isn):
    cc = NewReno(MSS, initial_window=20 * MSS)
    una, nxt = isn, seq.add(isn, 20 * MSS)
    assert cc.on_dupack(3, una, nxt, 20 * MSS) is True
    # 30 new segments went out on the inflated window, so much stays in flight.
    nxt2 = seq.add(nxt, 30 * MSS)
    assert cc.on_ack(20 * MSS, nxt, nxt2, 30 * MSS) is False
    assert not cc.in_recovery and cc.cwnd == cc.ssthresh == 10 * MSS


@pytest.mark.parametrize("isn", ISNS)
def test_rfc6582_guard_against_spurious_reentry(isn):
    s = Sender(isn)
    s.rtt()
    s.fill()
    for _ in range(3):
        s.dupack()
    assert s.ack(20) is False and not s.cc.in_recovery  # full ACK at exactly recover + 1
    cwnd = s.cc.cwnd
    # Duplicates of that same ACK (the receiver saw our retransmissions twice) must not
    # start a new recovery: snd_una - 1 is not above recover.
    s.fill()
    assert [s.dupack() for _ in range(5)] == [False] * 5
    assert not s.cc.in_recovery and s.cc.cwnd == cwnd and s.cc.guarded == 3
    assert s.cc.fast_retransmits == 1
    # Once snd_una has moved beyond recover + 1, a real loss is recovered again.
    s.ack(1)
    assert [s.dupack() for _ in range(3)] == [False, False, True]
    assert s.cc.fast_retransmits == 2


@pytest.mark.parametrize("isn", ISNS)
def test_guard_after_timeout(isn):
    s = Sender(isn)
    s.rtt()
    s.fill()
    s.timeout()
    recover = s.cc.recover
    assert recover == seq.add(s.max, -1)
    # Go-back-N retransmissions make the receiver send duplicates below recover.
    s.fill()
    s.ack(1)
    assert [s.dupack() for _ in range(3)] == [False] * 3 and s.cc.guarded == 1
    assert s.cc.cwnd == 2 * MSS  # unchanged by the refused recovery
    # snd_una reaches snd_max = recover + 1: still refused (not above it).
    s.nxt = seq.add(s.max, 5 * MSS)
    s.ack_bytes(seq.sub(s.max, s.una))
    assert [s.dupack() for _ in range(3)] == [False] * 3 and s.cc.guarded == 2
    # One segment beyond: losses are fast-retransmitted again.
    s.ack(1)
    assert [s.dupack() for _ in range(3)] == [False, False, True]


def test_first_segment_loss_is_fast_retransmitted():
    # No recovery has happened yet, so the guard is off (recover is not compared to the ISN).
    cc = NewReno(MSS)
    assert cc.on_dupack(3, 1, 10 * MSS + 1, 10 * MSS) is True


def test_no_stale_recover_after_2_31_bytes():
    cc = NewReno(MSS, initial_window=10 * MSS)
    assert cc.on_dupack(3, 0, 10 * MSS, 10 * MSS)
    cc.on_ack(10 * MSS, 10 * MSS, 10 * MSS, 0)
    cc.on_ack(MSS, 11 * MSS, 11 * MSS, 0)  # past the guard
    # 2**31 bytes later snd_una compares "below" the old recover; it must not matter.
    una = seq.add(cc.recover, 2**31 + 10)
    assert seq.lt(una, cc.recover)
    assert cc.on_dupack(3, una, seq.add(una, 10 * MSS), 10 * MSS) is True


def test_sack_mode_recovery_keeps_cwnd_fixed():
    cc = NewReno(MSS, initial_window=20 * MSS, sack=True)
    una, nxt = 2**32 - 5 * MSS, 15 * MSS  # flight of 20 segments across the wrap
    # SACK senders enter through enter_recovery (Scoreboard.should_enter_recovery decides).
    assert cc.on_dupack(3, una, nxt, 20 * MSS) is False and not cc.in_recovery
    assert cc.enter_recovery(una, nxt, 20 * MSS) is True
    assert cc.cwnd == cc.ssthresh == 10 * MSS  # RFC 6675 5 (4.2)
    assert cc.enter_recovery(una, nxt, 20 * MSS) is False  # already in recovery
    assert cc.on_dupack(4, una, nxt, 20 * MSS) is False
    assert cc.cwnd == 10 * MSS  # no inflation: pipe does that job
    assert cc.on_ack(5 * MSS, 0, nxt, 15 * MSS) is False  # partial: NextSeg decides
    assert cc.cwnd == 10 * MSS and cc.in_recovery
    assert cc.on_ack(15 * MSS, nxt, nxt, 0) is False
    assert not cc.in_recovery and cc.cwnd == 10 * MSS
    # No RFC 6582 guard after a normal SACK recovery: a new hole right away is recovered,
    # here on IsLost before the third duplicate (RFC 6675 5 (2)).
    assert cc.enter_recovery(nxt, seq.add(nxt, 10 * MSS), 10 * MSS) is True
    assert cc.fast_retransmits == 2


def test_sack_mode_guard_after_timeout_rfc6675_5_1():
    cc = NewReno(MSS, sack=True)
    cc.on_timeout(10 * MSS, 10 * MSS)  # RecoveryPoint = HighData = 10*MSS - 1
    assert cc.enter_recovery(10 * MSS - 1, 12 * MSS, 2 * MSS) is False
    # HighACK (snd_una - 1) >= RecoveryPoint: allowed again.
    cc.on_ack(MSS, 10 * MSS, 12 * MSS, 2 * MSS)
    assert cc.enter_recovery(10 * MSS, 12 * MSS, 2 * MSS) is True


def test_timeout_leaves_recovery():
    cc = NewReno(MSS, initial_window=20 * MSS)
    cc.on_dupack(3, 0, 20 * MSS, 20 * MSS)
    cc.on_timeout(20 * MSS, 20 * MSS)
    assert not cc.in_recovery and cc.cwnd == MSS and cc.ssthresh == 10 * MSS
    # An ACK ends the series of timeouts: the next one halves the flight again.
    cc.on_ack(MSS, MSS, 4 * MSS, 3 * MSS)
    cc.on_timeout(4 * MSS, 4 * MSS)
    assert cc.ssthresh == 2 * MSS  # max(FlightSize / 2, 2 * SMSS)


def test_restart_after_idle_rfc5681_4_1():
    s = Sender(0)
    s.rtt()
    s.rtt()
    assert s.segs() == 40
    s.cc.on_idle(1000, 1000)  # not longer than the RTO
    assert s.segs() == 40
    s.cc.on_idle(1001, 1000)
    assert s.segs() == 10  # RW = min(IW, cwnd)
    s.cc.cwnd = 3 * MSS
    s.cc.on_idle(5000, 1000)
    assert s.segs() == 3
    assert s.cc.ssthresh == INFINITE


def test_cwnd_is_bounded():
    cc = NewReno(MSS, initial_window=INFINITE - MSS)
    for _ in range(3):
        cc.on_ack(2 * MSS, 0, 0, 0)
    assert cc.cwnd == INFINITE


def test_info():
    cc = NewReno(MSS)
    info = cc.info()
    assert info["cwnd"] == 10 * MSS and info["ssthresh"] == INFINITE
    assert info["in_recovery"] is False
    assert {"recover", "fast_retransmits", "partial_acks", "timeouts", "guarded"} <= set(info)


_MP_SCRIPT = """
from barenet.tcp import seq
from barenet.tcp.congestion import NewReno
from barenet.tcp.sack import Scoreboard
cc = NewReno(1000)
una = 2**32 - 3000
for _ in range(10):
    una = seq.add(una, 1000)
    cc.on_ack(1000, una, una, 0)
assert cc.cwnd == 20000, cc.cwnd
assert cc.on_dupack(3, una, seq.add(una, 20000), 20000)
sb = Scoreboard(1000)
una = 2**32 - 2000
nxt = seq.add(una, 10000)
assert sb.update(una, [(seq.add(una, 1000), seq.add(una, 4000))], nxt) == 3000
assert sb.is_lost(una) and sb.pipe(una, nxt, una) == 6000
assert sb.next_seg(una, nxt, una) == (una, seq.add(una, 1000))
print("ok")
"""


def test_runs_in_micropython():
    # The real MicroPython VM runs both modules (across the wrap), not just imports them.
    vm = os.path.join(os.path.dirname(sys.executable), "micropython")
    shared = os.path.join(os.path.dirname(__file__), "..", "..", "shared")
    out = subprocess.run([vm, "-c", _MP_SCRIPT], cwd=shared, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stdout + out.stderr
