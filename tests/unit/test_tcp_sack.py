"""SACK scoreboard (RFC 6675 IsLost / SetPipe / NextSeg over RFC 2018 blocks).

Offsets in the scenarios are bytes from the ISN of the flight; every scenario runs at ISN 0,
just below the 2**32 wrap and at the 2**31 sign boundary. A per-octet model written straight
from the RFC 6675 definitions checks the range-based scoreboard on random ACK streams.
"""

from collections import deque

import pytest
from hypothesis import given, settings, strategies as st

from barenet.tcp import seq
from barenet.tcp.congestion import NewReno
from barenet.tcp.sack import Scoreboard

MSS = 1000
ISNS = [0, 2**32 - 3500, 2**31 - 2500]


@pytest.fixture(params=ISNS)
def at(request):
    """at(off): the absolute sequence number off bytes after the ISN."""
    isn = request.param
    return lambda off: seq.add(isn, off)


def sack(sb, at, una, nxt, *blocks):
    """An ACK of una carrying SACK blocks given as offsets; returns the newly SACKed bytes."""
    return sb.update(at(una), [(at(lo), at(hi)) for lo, hi in blocks], at(nxt))


def rel(at, rng):
    return None if rng is None else (seq.sub(rng[0], at(0)), seq.sub(rng[1], at(0)))


def test_blocks_merge_sort_and_clip(at):
    sb = Scoreboard(MSS)
    assert sack(sb, at, 0, 10000, (5000, 6000)) == 1000
    assert sack(sb, at, 0, 10000, (2000, 3000), (8000, 9000)) == 2000  # out of order
    assert sb.blocks() == [(at(2000), at(3000)), (at(5000), at(6000)), (at(8000), at(9000))]
    assert sack(sb, at, 0, 10000, (3000, 4000)) == 1000  # adjacent: merges
    assert sack(sb, at, 0, 10000, (3500, 8500)) == 3000  # bridges three blocks
    assert sb.blocks() == [(at(2000), at(9000))] and sb.sacked_bytes() == 7000
    assert sack(sb, at, 0, 10000, (2000, 9000)) == 0  # old news is not a DupAck
    # snd_una advances into the block: it is clipped, then dropped.
    assert sack(sb, at, 2500, 10000) == 0
    assert sb.blocks() == [(at(2500), at(9000))] and sb.sacked_bytes() == 6500
    sack(sb, at, 9000, 10000)
    assert sb.blocks() == [] and sb.sacked_bytes() == 0


def test_peer_blocks_are_checked(at):
    sb = Scoreboard(MSS)
    # A D-SACK below snd_una (RFC 2883) is ignored; one straddling it is clipped.
    assert sack(sb, at, 3000, 10000, (1000, 2000), (2500, 4000)) == 1000
    assert sb.blocks() == [(at(3000), at(4000))] and sb.invalid == 0
    # Empty, inverted and beyond-snd_nxt blocks are counted and dropped.
    assert sack(sb, at, 3000, 10000, (5000, 5000), (6000, 5000), (9000, 10001)) == 0
    assert sb.invalid == 3 and sb.blocks() == [(at(3000), at(4000))]
    # Without snd_nxt a block is still bounded by the largest possible window.
    sb.update(at(3000), [(at(5000), seq.add(at(3000), 2**30))])
    assert sb.invalid == 4


def test_block_count_is_bounded(at):
    sb = Scoreboard(MSS, max_blocks=4)
    for k in (1, 3, 5, 7):
        sack(sb, at, 0, 20000, (k * 1000, k * 1000 + 500))
    # A fifth disjoint block above all others does not fit: dropped.
    assert sack(sb, at, 0, 20000, (9000, 9500)) == 0
    assert sb.overflows == 1 and len(sb.blocks()) == 4
    # A lower one evicts the highest: the low holes decide the next retransmissions.
    assert sack(sb, at, 0, 20000, (500, 600)) == 100
    assert sb.overflows == 2
    assert sb.blocks()[0] == (at(500), at(600)) and sb.blocks()[-1] == (at(5000), at(5500))
    # Merging needs no room.
    assert sack(sb, at, 0, 20000, (1500, 3000)) == 1500
    assert len(sb.blocks()) == 3


def test_is_lost_by_bytes(at):
    # Segment 1 of 10 is lost; the receiver SACKs segments 2, 3, 4 in turn.
    sb = Scoreboard(MSS)
    sack(sb, at, 0, 10000, (1000, 2000))
    assert not sb.is_lost(at(0))
    sack(sb, at, 0, 10000, (1000, 3000))
    assert not sb.is_lost(at(0))  # 2 * SMSS is not "more than (DupThresh - 1) * SMSS"
    assert not sb.should_enter_recovery(2, at(0))
    sack(sb, at, 0, 10000, (1000, 4000))
    assert sb.is_lost(at(0)) and sb.is_lost(at(999))
    assert sb.should_enter_recovery(0, at(0))  # RFC 6675 5 step (2)
    assert not sb.is_lost(at(1000))  # SACKed: it arrived
    assert not sb.is_lost(at(4000))  # nothing SACKed above
    assert not sb.is_lost(seq.add(at(0), -1))  # already acknowledged


def test_is_lost_by_discontiguous_blocks(at):
    # Three small segments above the hole, each on its own: DupThresh ranges.
    sb = Scoreboard(MSS)
    sack(sb, at, 0, 10000, (1000, 1100), (2000, 2100))
    assert not sb.is_lost(at(0))
    sack(sb, at, 0, 10000, (3000, 3100))
    assert sb.is_lost(at(0)) and not sb.is_lost(at(1100))  # two ranges above 1100


def test_should_enter_recovery_on_dupacks():
    # RFC 6675 5 step (1): DupThresh DupAcks suffice even when IsLost is still false.
    sb = Scoreboard(MSS)
    sb.update(0, [(1000, 1100)], 5000)
    assert not sb.should_enter_recovery(2, 0)
    assert sb.should_enter_recovery(3, 0)
    assert Scoreboard(MSS, dupthresh=2).should_enter_recovery(2, 0)


def test_rfc6675_three_holes(at):
    # Ten segments sent; 1, 3 and 5 are lost, the rest SACKed. All three holes are lost.
    sb = Scoreboard(MSS)
    sack(sb, at, 0, 10000, (1000, 2000), (3000, 4000), (5000, 10000))
    assert sb.sacked_bytes() == 7000
    assert all(sb.is_lost(at(h)) for h in (0, 2000, 4000))
    una, nxt = at(0), at(10000)
    assert sb.pipe(una, nxt, una) == 0  # nothing thought to be in flight
    # NextSeg rule (1) walks the holes; each retransmission raises HighRxt.
    rxt = una
    sent = []
    while True:
        rng = sb.next_seg(una, nxt, rxt)
        if rng is None:
            break
        assert sb.rule == 1
        sent.append(rel(at, rng))
        rxt = rng[1]
        assert sb.pipe(una, nxt, rxt) == 1000 * len(sent)  # each retransmission is in flight
    assert sent == [(0, 1000), (2000, 3000), (4000, 5000)]
    # With new data available, rule (2) sends it once no hole is left.
    assert rel(at, sb.next_seg(una, nxt, rxt, unsent=300)) == (10000, 10300)
    assert rel(at, sb.next_seg(una, nxt, rxt, unsent=5000)) == (10000, 11000)


def test_rfc6675_hole_not_yet_lost(at):
    # Segments 1 and 9 lost out of 10: only segment 9's successor is SACKed above it.
    sb = Scoreboard(MSS)
    sack(sb, at, 0, 10000, (1000, 8000), (9000, 10000))
    una, nxt = at(0), at(10000)
    assert sb.is_lost(at(0)) and not sb.is_lost(at(8000))
    assert sb.pipe(una, nxt, una) == 1000  # segment 9 is assumed still in flight
    assert rel(at, sb.next_seg(una, nxt, una)) == (0, 1000)  # rule (1)
    assert sb.pipe(una, nxt, at(1000)) == 2000
    # Rule (2) (new data) comes before rule (3) (a hole not known to be lost) ...
    assert rel(at, sb.next_seg(una, nxt, at(1000), unsent=1)) == (10000, 10001)
    # ... and with no new data, rule (3) retransmits the hole below the highest SACK.
    assert rel(at, sb.next_seg(una, nxt, at(1000))) == (8000, 9000) and sb.rule == 3
    assert sb.next_seg(una, nxt, at(9000)) is None


def test_rescue_retransmission_rule_4(at):
    # Segments 1 and 10 (the tail) are lost; 2..9 are SACKed. Nothing SACKs the tail, so
    # without the rescue only the RTO would repair it.
    sb = Scoreboard(MSS)
    sack(sb, at, 0, 10000, (1000, 9000))
    una, nxt, recover = at(0), at(10000), at(9999)
    assert rel(at, sb.next_seg(una, nxt, una, recover=recover)) == (0, 1000) and sb.rule == 1
    assert sb.next_seg(una, nxt, at(1000)) is None and sb.rule == 0  # rule (4) needs recover
    assert rel(at, sb.next_seg(una, nxt, at(1000), recover=recover)) == (9000, 10000)
    assert sb.rule == 4
    # One rescue per recovery.
    assert sb.next_seg(una, nxt, at(1000), recover=recover) is None
    sack(sb, at, 9000, 10000)  # HighACK is still below RescueRxt
    assert sb.next_seg(at(9000), nxt, at(9000), recover=recover) is None
    # HighACK = RescueRxt is not "greater than" it: still no rescue.
    sack(sb, at, 10000, 20000, (11000, 19500))
    una, nxt, recover = at(10000), at(20000), at(19999)
    assert rel(at, sb.next_seg(una, nxt, una, recover=recover)) == (10000, 11000)
    assert sb.next_seg(una, nxt, at(11000), recover=recover) is None
    # A recovery with HighACK beyond the old RescueRxt gets its own rescue.
    sack(sb, at, 19500, 30000, (20500, 29000))
    una, nxt, recover = at(19500), at(30000), at(29999)
    assert rel(at, sb.next_seg(una, nxt, una, recover=recover)) == (19500, 20500)
    assert rel(at, sb.next_seg(una, nxt, at(20500), recover=recover)) == (29000, 30000)
    assert sb.rule == 4


def test_rescue_ends_at_highest_unsacked_octet(at):
    # The last block reaches snd_nxt: the highest unSACKed octet is just below it.
    sb = Scoreboard(MSS)
    sack(sb, at, 0, 10000, (1500, 10000))
    rng = sb.next_seg(at(0), at(10000), at(1500), recover=at(9999))
    assert rel(at, rng) == (500, 1500) and sb.rule == 4
    # Everything SACKed but snd_una's segment already resent: no rescue of nothing.
    sb.reset()
    sack(sb, at, 0, 10000, (0, 10000))
    assert sb.next_seg(at(0), at(10000), at(0), recover=at(9999)) is None


def test_next_seg_stops_at_sacked_data(at):
    # A 300-byte hole: the retransmission must not resend the SACKed bytes after it.
    sb = Scoreboard(MSS)
    sack(sb, at, 0, 10000, (300, 5000))
    una, nxt = at(0), at(10000)
    assert rel(at, sb.next_seg(una, nxt, una)) == (0, 300)
    # HighRxt inside a SACKed block moves the search to the block's end.
    assert sb.next_seg(una, nxt, at(2000)) is None


def test_cumulative_ack_moves_the_board(at):
    sb = Scoreboard(MSS)
    sack(sb, at, 0, 10000, (1000, 2000), (3000, 4000), (5000, 10000))
    # Hole 1 was repaired: the ACK moves to 1000 (covering the first block's data too).
    sack(sb, at, 2000, 10000)
    assert sb.blocks() == [(at(3000), at(4000)), (at(5000), at(10000))]
    assert sb.is_lost(at(2000)) and sb.sacked_bytes() == 6000
    # Queries with a newer snd_una follow it even before update() sees it.
    assert sb.pipe(at(4000), at(10000), at(4000)) == 0
    assert rel(at, sb.next_seg(at(4000), at(10000), at(4000))) == (4000, 5000)


def test_reset_on_rto(at):
    sb = Scoreboard(MSS)
    sack(sb, at, 0, 10000, (1000, 4000))
    sb.reset()
    assert sb.blocks() == [] and sb.sacked_bytes() == 0 and not sb.is_lost(at(0))
    assert sb.pipe(at(0), at(10000), at(0)) == 10000
    # The receiver repeats its blocks: the board refills from the next ACK.
    assert sack(sb, at, 0, 10000, (1000, 4000)) == 3000 and sb.is_lost(at(0))


# --- the wiring recipe of the module docstring, against a receiver that drops segments ----

def receiver_ack(received, rcv_nxt, newest):
    """Cumulative ACK and up to 4 SACK blocks, the one holding the newest segment first."""
    while rcv_nxt in received:
        rcv_nxt += MSS
    runs = []
    for s in sorted(o for o in received if o > rcv_nxt):
        if runs and runs[-1][1] == s:
            runs[-1][1] = s + MSS
        else:
            runs.append([s, s + MSS])
    runs.sort(key=lambda r: not r[0] <= newest < r[1])  # RFC 2018 4: most recent first
    return rcv_nxt, [tuple(r) for r in runs[:4]]


@pytest.mark.parametrize("lost, total", [({0, 5, 6, 12}, 30), ({0, 19}, 20)],
                         ids=["four-holes", "lost-tail"])
def test_sack_recovery_repairs_every_hole_without_rto(at, lost, total):
    total *= MSS
    lost = {k * MSS for k in lost}
    dropped = set(lost)
    cc = NewReno(MSS, initial_window=20 * MSS, sack=True)
    sb = Scoreboard(MSS)
    wire = deque()
    sent = []
    una = snd_max = high_rxt = dupacks = rcv_nxt = 0
    received = set()

    def send(start):
        sent.append(start)
        wire.append(start)

    while snd_max < 20 * MSS:
        send(snd_max)
        snd_max += MSS
    for _ in range(1000):
        if una == total or not wire:
            break
        s = wire.popleft()
        if s in lost:
            lost.discard(s)  # dropped once; its retransmission gets through
            continue
        received.add(s)
        ack, blocks = receiver_ack(received, rcv_nxt, s)
        rcv_nxt = ack
        # The sender, as in the sack.py docstring (RFC 6675 5).
        new = sb.update(at(ack), [(at(lo), at(hi)) for lo, hi in blocks], at(snd_max))
        if ack > una:
            acked, una, dupacks = ack - una, ack, 0
            cc.on_ack(acked, at(una), at(snd_max), snd_max - una)
        elif new:
            dupacks += 1
        if not cc.in_recovery and sb.should_enter_recovery(dupacks, at(una)):
            if cc.enter_recovery(at(una), at(snd_max), snd_max - una):
                send(una)
                high_rxt = una + MSS
        if cc.in_recovery:
            pipe = sb.pipe(at(una), at(snd_max), at(high_rxt))
            while cc.cwnd - pipe >= MSS:
                rng = sb.next_seg(at(una), at(snd_max), at(high_rxt), total - snd_max,
                                  cc.recover)
                if rng is None:
                    break
                start, end = seq.sub(rng[0], at(0)), seq.sub(rng[1], at(0))
                assert end - start == MSS  # the holes here are whole segments
                send(start)
                pipe += end - start
                if start >= snd_max:
                    snd_max = end
                elif sb.rule != 4:
                    high_rxt = end
        else:
            while snd_max < total and snd_max - una + MSS <= cc.cwnd:
                send(snd_max)
                snd_max += MSS
    assert una == total  # everything delivered on ACK clocking alone: no RTO needed
    # Exactly the dropped segments were sent twice: no spurious retransmission.
    assert sorted(sent) == sorted(list(range(0, total, MSS)) + sorted(dropped))
    assert cc.fast_retransmits == 1 and not cc.in_recovery
    assert cc.ssthresh == 10 * MSS


# --- a per-octet model of RFC 6675 section 4, checked against the scoreboard ---------------

def model_is_lost(sacked, s, mss, dupthresh):
    above = [o for o in sacked if o > s]
    ranges = sum(1 for o in above if o - 1 not in sacked or o - 1 <= s)
    return ranges >= dupthresh or len(above) > (dupthresh - 1) * mss


def model_pipe(sacked, una, nxt, rxt, mss, dupthresh):
    return sum((not model_is_lost(sacked, s, mss, dupthresh)) + (s < rxt)
               for s in range(una, nxt) if s not in sacked)


def model_next_seg(sacked, una, nxt, rxt, unsent, mss, dupthresh):
    top = max(sacked) if sacked else -1

    def first(lost_needed):
        for s in range(max(una, rxt), top):
            if s not in sacked and (not lost_needed or model_is_lost(sacked, s, mss, dupthresh)):
                end = s
                while end < s + mss and end not in sacked:
                    end += 1
                return (s, end)
        return None

    rng = first(True)
    if rng is None and unsent > 0:
        rng = (nxt, nxt + min(mss, unsent))
    return rng if rng is not None else first(False)


acks = st.lists(
    st.tuples(st.integers(0, 15),  # snd_una advance
              st.lists(st.tuples(st.integers(-10, 130), st.integers(0, 40)), max_size=4)),
    min_size=1, max_size=12)


@settings(derandomize=True, database=None, max_examples=300, deadline=None)
@given(acks, st.integers(1, 12), st.integers(2, 4), st.sampled_from(ISNS))
def test_scoreboard_matches_per_octet_model(stream, mss, dupthresh, isn):
    nxt = 120
    sb = Scoreboard(mss, dupthresh=dupthresh, max_blocks=64)
    sacked = set()
    una = 0
    for advance, raw in stream:
        una = min(nxt, una + advance)
        sacked = {o for o in sacked if o >= una}
        before = len(sacked)
        blocks = []
        for lo, length in raw:
            blocks.append((seq.add(isn, lo), seq.add(isn, lo + length)))
            if length > 0 and lo + length <= nxt:
                sacked.update(range(max(lo, una), lo + length))
        got = sb.update(seq.add(isn, una), blocks, seq.add(isn, nxt))
        assert got == len(sacked) - before
        assert sb.sacked_bytes() == len(sacked)
        assert sb.overflows == 0
        for s in range(una, nxt):
            lost = s not in sacked and model_is_lost(sacked, s, mss, dupthresh)
            assert sb.is_lost(seq.add(isn, s)) == lost
        for rxt in (una, una + 7, una + 40):
            got = sb.pipe(seq.add(isn, una), seq.add(isn, nxt), seq.add(isn, rxt))
            assert got == model_pipe(sacked, una, nxt, rxt, mss, dupthresh)
            for unsent in (0, 5):
                want = model_next_seg(sacked, una, nxt, rxt, unsent, mss, dupthresh)
                rng = sb.next_seg(seq.add(isn, una), seq.add(isn, nxt), seq.add(isn, rxt),
                                  unsent)
                if rng is not None:
                    rng = (seq.sub(rng[0], isn), seq.sub(rng[1], isn))
                assert rng == want
