"""ICMP errors rate limited in all and per destination (Linux icmp_msgs_per_sec/_burst and the
per-peer icmp_ratelimit), with a bounded table of destinations; echo replies never limited
(Linux's icmp_ratemask leaves them out). Virtual time."""

from barenet.wire import icmp as w
from iplink import IPLink, frame, src

CLOSED = bytes([0, 1, 0x11, 0x5C, 0, 9, 0, 0, 0x71])  # UDP to port 4444, nobody listens


def errors(t):
    return [d for d in t.taken() if d[9] == 1 and d[20] == w.DEST_UNREACH]


def to_closed(t, s, n):
    for i in range(n):
        t.feed(frame(s, i, 0, CLOSED, False))


def test_one_destination_gets_its_burst_then_one_per_interval_and_others_are_not_starved():
    t = IPLink(icmp_error_burst=50, icmp_error_interval_ms=1, icmp_dest_burst=6,
               icmp_dest_interval_ms=1000)
    to_closed(t, src(0), 20)
    assert len(errors(t)) == 6
    assert t.count("icmp", "error_rate_limited_dest") == 14
    to_closed(t, src(1), 2)   # the global bucket still has room for someone else
    assert [d[16:20] for d in errors(t)] == [src(1), src(1)]
    t.advance(999)
    to_closed(t, src(0), 1)
    assert errors(t) == []
    t.advance(1)
    to_closed(t, src(0), 3)
    assert len(errors(t)) == 1  # one token per icmp_dest_interval_ms


def test_the_global_bucket_still_bounds_errors_to_many_destinations():
    t = IPLink(icmp_error_burst=5, icmp_error_interval_ms=100, icmp_dest_table=64)
    for n in range(20):
        to_closed(t, src(n), 1)
    assert len(errors(t)) == 5 and t.count("icmp", "error_rate_limited") == 15
    # A datagram the global bucket refused took no room in the table.
    assert len(t.stack.icmp.dests) == 5


def test_the_destination_table_is_bounded_and_the_stalest_goes():
    t = IPLink(icmp_error_burst=100, icmp_error_interval_ms=1, icmp_dest_table=4)
    for n in range(4):
        to_closed(t, src(n), 1)
        t.advance(10)
    to_closed(t, src(0), 1)    # refills source 0's bucket: now source 1 is the stalest
    to_closed(t, src(9), 1)
    assert sorted(t.stack.icmp.dests) == sorted([src(0), src(2), src(3), src(9)])
    assert t.count("icmp", "error_dest_evicted") == 1
    for n in range(10, 30):
        to_closed(t, src(n), 1)
    assert len(t.stack.icmp.dests) == 4 and t.count("icmp", "error_dest_evicted") == 21
    assert len(errors(t)) == 4 + 1 + 1 + 20


def test_echo_replies_are_not_rate_limited():
    t = IPLink(icmp_error_burst=1, icmp_dest_burst=1)
    to_closed(t, src(0), 3)    # both buckets empty now
    t.taken()
    hdr = bytearray(w.HEADER_LEN)
    for seq in range(100):
        w.emit_header(hdr, w.ECHO_REQUEST, 0, w.echo_rest(1, seq), b"ping")
        t.feed(frame(src(0), seq, 0, bytes(hdr) + b"ping", False, proto=1))
    replies = [d for d in t.taken() if d[20] == w.ECHO_REPLY]
    assert len(replies) == 100 and t.count("icmp", "tx_echo_reply") == 100
