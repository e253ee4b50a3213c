"""Undo of spurious loss responses by D-SACK (RFC 3708; Linux's tcp_try_undo_loss and
tcp_try_undo_dsack): when the peer reports every retransmission as a duplicate, cwnd and
ssthresh are back to what they were before the RTO or the fast retransmit; with timestamps,
also when the first ACK after an RTO echoes the original's TSval (RFC 3522). On both targets
(tcp_script.py; Linux with reno, as this machine's default bbr has no undo of its own).
cwnd is in bytes on barenet and in segments on Linux: each is compared with its own.
"""

from tcp_script import script  # noqa: F401 (fixture)
from test_tcp_timestamps import PEER_TS, passive_with_ts, ts, ts_of

MSS = 1460


def test_spurious_rto_undone_by_dsack(script):
    # no tail loss probe before the RTO: barenet without RACK-TLP, Linux's scripts without
    # (tcp_early_retrans=0)
    s = script(isn=2000, linux_cc="reno", rack=False)
    c = s.established_passive(sack_perm=True)
    before = c.info()
    c.send(b"r" * 100)
    s.expect("PA", seq=2001, data=b"r" * 100)
    s.expect("PA", seq=2001, data=b"r" * 100, within=(150, 1300))      # the RTO
    cut = c.info()
    assert cut["cwnd"] < before["cwnd"]                                 # RFC 5681 3.1: 1 SMSS
    # the first transmission was only delayed: the peer acks it and reports the
    # retransmission as a duplicate (RFC 2883 4.1.1)
    s.inject("A", seq=1001, ack=2101, sack=[(2001, 2101)])
    s.expect_nothing()
    after = c.info()
    assert after["cwnd"] == before["cwnd"] and after["ssthresh"] == before["ssthresh"], \
        (before, cut, after)
    if not s.linux:
        assert after["dsack_received"] == 1 and after["undo_count"] == 1
        assert s.stack.tcp.stats["dsack_rx"] == 1 and s.stack.tcp.stats["undo"] == 1


def test_spurious_fast_retransmit_undone_by_dsack(script):
    # The first of four segments is reordered behind the others: three SACKs draw a fast
    # retransmit (RFC 6675 5, or RACK, RFC 8985 6.2), the original arrives and ends the
    # recovery, then the retransmission arrives and is D-SACKed: no loss happened
    s = script(isn=2000, linux_cc="reno")
    c = s.established_passive(sack_perm=True)
    before = c.info()
    c.send(b"f" * 4 * MSS)
    s.expect_many(4)
    top = 2001 + 4 * MSS
    for i in range(2, 5):
        s.inject("A", seq=1001, ack=2001, sack=[(2001 + MSS, 2001 + i * MSS)])
    s.expect("A|PA", seq=2001, data=b"f" * MSS, within=(0, 100))      # the fast retransmit
    s.expect_nothing()
    s.inject("A", seq=1001, ack=top)
    s.expect_nothing()
    cut = c.info()
    assert cut["cwnd"] < before["cwnd"], (before, cut)
    s.inject("A", seq=1001, ack=top, sack=[(2001, 2001 + MSS)])
    s.expect_nothing()
    after = c.info()
    assert after["cwnd"] == before["cwnd"] and after["ssthresh"] == before["ssthresh"], \
        (before, cut, after)
    if not s.linux:
        assert after["dsack_received"] == 1 and after["undo_count"] == 1


def test_a_real_loss_is_not_undone():
    # barenet only (the counters): two segments retransmitted, one D-SACKed -- the other was
    # really lost, and the cut stays
    from tcp_script import Script
    s = Script(isn=2000)
    c = s.established_passive(sack_perm=True)
    c.send(b"g" * 4 * MSS)
    s.expect_many(4)
    top = 2001 + 4 * MSS
    s.wait(1000)
    s.take()                              # the RTO's retransmission of the first segment
    s.inject("A", seq=1001, ack=2001 + MSS, sack=[(2001 + 2 * MSS, top)])
    s.wait(10)
    s.take()                              # the second segment, a hole, resent
    s.inject("A", seq=1001, ack=top, sack=[(2001, 2001 + MSS)])   # D-SACK: the first only
    s.expect_nothing()
    i = c.info()
    assert i["dsack_received"] == 1 and i["undo_count"] == 0
    assert i["cwnd"] < 10 * MSS


START = 5000    # barenet's TSval is its clock: not 0, which reads as no echo (RFC 7323 4.1)


def rto_with_timestamps(s):
    """A connection with timestamps (and SACK) whose one segment is resent by the RTO;
    -> (connection, info before, TSval of the original, TSval of the retransmission)."""
    c, sut_ts = passive_with_ts(s)
    before = c.info()
    c.send(b"e" * 100)
    first = s.expect("PA", seq=2001, data=b"e" * 100)
    rtx = s.expect("PA", seq=2001, data=b"e" * 100, within=(150, 1300))
    assert c.info()["cwnd"] < before["cwnd"]
    return c, before, ts_of(first)[0], ts_of(rtx)[0]


def test_spurious_rto_detected_by_timestamps(script):
    # RFC 3522 (Eifel): the first ACK after the retransmission echoes the original's TSval,
    # so the original arrived and the RTO was spurious: undone without any D-SACK
    s = script(isn=2000, linux_cc="reno", rack=False, start_ms=START)
    c, before, ts_first, ts_rtx = rto_with_timestamps(s)
    s.inject("A", seq=1001, ack=2101, options=ts(PEER_TS + 5, ts_first))
    s.expect_nothing()
    after = c.info()
    assert after["cwnd"] == before["cwnd"] and after["ssthresh"] == before["ssthresh"], \
        (before, after)
    if not s.linux:
        assert after["undo_count"] == 1 and s.stack.tcp.stats["undo_eifel"] == 1


def test_an_echo_of_the_retransmission_is_no_undo(script):
    # The ACK echoes the retransmission's TSval: the retransmission was needed, the cut stays
    s = script(isn=2000, linux_cc="reno", rack=False, start_ms=START)
    c, before, ts_first, ts_rtx = rto_with_timestamps(s)
    s.inject("A", seq=1001, ack=2101, options=ts(PEER_TS + 5, ts_rtx))
    s.expect_nothing()
    after = c.info()
    assert after["cwnd"] < before["cwnd"] and after["ssthresh"] != before["ssthresh"], \
        (before, after)
    if not s.linux:
        assert after["undo_count"] == 0
