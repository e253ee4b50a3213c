"""TCP timestamps (RFC 7323): negotiation on the SYNs, a TSopt on every segment once agreed,
TS.Recent (4.3), PAWS (5.3) and RTT samples from TSecr (4.1), on both targets (tcp_script.py);
and a transfer whose sequence space wraps with an old duplicate from before the wrap.
"""

from barenet.tcp import timestamps
from barenet.wire.tcp import Segment
from tcp_script import PEER_PORT, US_PORT, script  # noqa: F401 (fixture)
from test_tcp_data import leave_quickack

PEER_TS = 100000        # the peer's TSval clock: any 32-bit value, it counts from here


def ts_of(t):
    """(TSval, TSecr) of a scapy TCP layer, or None."""
    return dict(t.options).get("Timestamp")


def ts(val, ecr=0):
    return [("Timestamp", (val % 2**32, ecr % 2**32))]


def passive_with_ts(s, peer_ts=PEER_TS):
    """Listen; the peer's SYN offers timestamps; -> (connection, the SUT's TSval in its
    SYN,ACK)."""
    lst = s.tcp.listen(US_PORT)
    s.inject("S", seq=1000, mss=1460, sack_perm=True, options=ts(peer_ts))
    sa = s.expect("SA", seq=s.isn, ack=1001, within=(0, 0))
    got = ts_of(sa)
    assert got is not None and got[1] == peer_ts, sa.options   # RFC 7323 3.2: TSecr echoes
    s.inject("A", seq=1001, ack=s.isn + 1, options=ts(peer_ts + 1, got[0]))
    s.expect_nothing()
    c = lst.accept()
    assert c is not None
    return c, got[0]


def test_passive_open_agrees_and_every_segment_carries_a_timestamp(script):
    s = script(isn=2000)
    c, sut_ts = passive_with_ts(s)
    if not s.linux:
        assert c.info()["timestamps"] and c.info()["mss"] == 1448
    c.send(b"x" * 2896)
    segs = s.expect_many(2)          # full segments of the MSS less the 12-byte option
    assert [len(t.payload) for t in segs] == [1448, 1448]
    for t in segs:
        v, e = ts_of(t)
        assert e == PEER_TS + 1 and (v - sut_ts) % 2**32 < 2**31, t.options
    # the option layout Linux uses and RFC 7323 Appendix A suggests: NOP, NOP, TS
    assert [k for k, _ in segs[0].options][:3] == ["NOP", "NOP", "Timestamp"]


def test_active_open_offers_and_agrees(script):
    s = script(isn=5000)
    c = s.tcp.connect(s.peer_ip, PEER_PORT, src_port=US_PORT)
    s.settle()
    syn = s.expect("S", seq=5000)
    v, e = ts_of(syn)
    assert e == 0                              # RFC 7323 3.2: no TSecr yet
    s.inject("SA", seq=7000, ack=5001, mss=1460, options=ts(PEER_TS, v))
    ack = s.expect("A", seq=5001, ack=7001, within=(0, 0))
    assert ts_of(ack)[1] == PEER_TS
    if not s.linux:                 # (ss -i shows no "ts" flag here; the wire says it)
        assert c.info()["timestamps"]


def test_no_timestamps_when_the_peer_declines(script):
    s = script(isn=5000)
    c = s.tcp.connect(s.peer_ip, PEER_PORT, src_port=US_PORT)
    s.settle()
    s.expect("S", seq=5000)
    s.inject("SA", seq=7000, ack=5001, mss=1460)
    s.expect("A", seq=5001, ack=7001, within=(0, 0), no_options=True)
    c.send(b"y" * 100)
    t = s.expect("PA", seq=5001, data=b"y" * 100)
    assert ts_of(t) is None
    if not s.linux:
        assert not c.info()["timestamps"]


def test_config_switch_turns_them_off():
    from tcp_script import Script
    s = Script(isn=2000, timestamps=False)
    s.tcp.listen(US_PORT)
    s.inject("S", seq=1000, mss=1460, options=ts(PEER_TS))
    sa = s.expect("SA", seq=2000, ack=1001)
    assert ts_of(sa) is None
    s.tcp.connect(s.peer_ip, PEER_PORT, src_port=81)
    s.settle()
    assert ts_of(s.expect("S", seq=2000)) is None


def test_paws_drops_an_old_timestamp_and_acks_it(script):
    # RFC 7323 5.3 R1: a segment whose TSval is older than TS.Recent is dropped, and an ACK
    # is sent for it (Linux: tcp_validate_incoming -> tcp_send_dupack)
    s = script(isn=2000, delack_ms=40)
    c, sut_ts = passive_with_ts(s)
    leave_quickack(s, c)
    s.inject("PA", seq=1001, ack=2001, data=b"a" * 100, options=ts(PEER_TS + 100, sut_ts))
    s.inject("PA", seq=1101, ack=2001, data=b"b" * 100, options=ts(PEER_TS + 50, sut_ts))
    t = s.expect("A", ack=1101, within=(0, 40))
    assert ts_of(t)[1] == PEER_TS + 100            # TS.Recent from the accepted segment
    s.wait(100)
    s.take()
    assert c.recv(1000) == b"a" * 100
    if not s.linux:
        assert s.stack.tcp.stats["rx_paws_drop"] == 1
    # the same bytes with a current TSval are taken
    s.inject("PA", seq=1101, ack=2001, data=b"b" * 100, options=ts(PEER_TS + 101, sut_ts))
    s.wait(100)
    s.take()
    assert c.recv(1000) == b"b" * 100


def test_rtt_from_tsecr_on_a_retransmitted_segment(script):
    # RFC 7323 4.1: the ACK of a retransmission times it by its echo, where Karn's rule
    # (RFC 6298 3) takes no sample. The handshake's RTT is ~0; the retransmission is acked
    # 200 ms later, so SRTT moves to 200/8 (RFC 6298 (2.3)): 25 ms, rounded down.
    s = script(isn=2000)
    c, _ = passive_with_ts(s)
    c.send(b"z" * 100)
    first = s.expect("PA", seq=2001, data=b"z" * 100)
    rtx = s.expect("PA", seq=2001, data=b"z" * 100, within=(150, 1300))   # Linux's RTO floor is 200 ms
    assert ts_of(rtx)[0] != ts_of(first)[0]
    s.wait(200)
    s.inject("A", seq=1001, ack=2101, options=ts(PEER_TS + 500, ts_of(rtx)[0]))
    s.expect_nothing()
    srtt = c.info()["srtt_ms"]
    if s.linux:
        assert 15 <= srtt <= 60, srtt
    else:
        assert srtt == 25 and c.info()["ts_rtt_samples"] == 1


def test_ts_halves_compare_modulo_2_32():
    seg = Segment()
    for a, b, want in ((1, 0, False), (0, 1, True), (0, 0xFFFFFFFF, False),
                       (0xFFFFFFFF, 0, True), (0x80000000, 0, True), (0x7FFFFFFF, 0, False)):
        assert timestamps.older(a >> 16, a & 0xFFFF, b >> 16, b & 0xFFFF) == want, (a, b)
    assert seg.tsval is None


def test_tsval_counts_the_ms_clock_wraps():
    # the 2**30 ms runner clock (ticks.py) wraps; TSval goes on upward in 32 bits
    class T:
        ts_last = ts_epoch = ts_hi = ts_lo = 0
    t = T()
    seen = []
    for now in ((1 << 30) - 2, (1 << 30) - 1, 0, 5):
        timestamps.tick(t, now)
        seen.append((t.ts_hi << 16) | t.ts_lo)
    assert seen == [(1 << 30) - 2, (1 << 30) - 1, 1 << 30, (1 << 30) + 5]


def test_sack_blocks_beside_timestamps_are_three(script):
    # RFC 2018 3: 40 bytes of options hold 3 SACK blocks beside NOP,NOP,TS
    s = script(isn=2000)
    c, sut_ts = passive_with_ts(s)
    blocks = []
    for i in range(4):
        left = 1101 + i * 200
        s.inject("PA", seq=left, ack=2001, data=b"q" * 100, options=ts(PEER_TS + 2 + i, sut_ts))
        t = s.expect("A", ack=1001)
        blocks = dict(t.options).get("SAck", ())
        assert ts_of(t) is not None
    assert blocks[:2] == (1701, 1801) and len(blocks) == 6, blocks  # 3 blocks, newest first


def test_sequence_wrap_with_an_old_duplicate_dropped_by_paws(script):
    # RFC 7323 5: the peer's sequence numbers wrap past 2**32 during the transfer, and a
    # segment from the previous trip round the sequence space (same sequence numbers, other
    # bytes, a TSval from then) arrives in the window: by its number it is new data, PAWS
    # alone tells it is not. With it taken the stream below would hold its b"X"s.
    s = script(isn=2000)
    lst = s.tcp.listen(US_PORT)
    peer_isn = 2**32 - 2001                      # the first data byte is 2**32 - 2000
    s.inject("S", seq=peer_isn, mss=1460, options=ts(PEER_TS))
    sa = s.expect("SA", seq=2000, ack=peer_isn + 1)
    sut_ts = ts_of(sa)[0]
    s.inject("A", seq=peer_isn + 1, ack=2001, options=ts(PEER_TS + 1, sut_ts))
    s.expect_nothing()
    c = lst.accept()
    data = bytes((i * 31 + 7) & 0xFF for i in range(5000))
    got = b""
    for i in range(5):
        sq = peer_isn + 1 + i * 1000
        if i == 3:
            # the old duplicate of the bytes at 1000 after the wrap
            s.inject("PA", seq=sq, ack=2001, data=b"X" * 1000, options=ts(PEER_TS - 1000))
        s.inject("PA", seq=sq, ack=2001, data=data[i * 1000:(i + 1) * 1000],
                 options=ts(PEER_TS + 10 * (i + 1), sut_ts))
        s.wait(50)
        s.take()
        got += c.recv(5000) or b""
    assert got == data
    if not s.linux:
        assert s.stack.tcp.stats["rx_paws_drop"] == 1
        assert c.info()["rcv_nxt"] == (peer_isn + 5001) % 2**32 < 5000     # it wrapped
