"""TIME_WAIT as a record of its own (tcp/timewait.py; RFC 9293 3.6.1, 3.10.7.4): out of the
connection table and its limit, bounded by time_wait_max with the oldest reused, answering as
TIME_WAIT must, and read as TIME_WAIT through the connection object the application holds.

Tests taking the `script` fixture also run against the Linux kernel (tcp_script.py). After
s.time_wait() the peer's next seq is 1002 and ours 2002 (the FINs are 1001 and 2001).
"""

import pytest

from barenet.compat import EADDRINUSE

from tcp_script import PEER_PORT, US_PORT, Script, script  # noqa: F401 (fixture)


def closed_by_us(s, sport, peer_isn=1000):
    """One more connection from the peer's port sport through an active close of ours into
    TIME_WAIT (the listener on US_PORT is s.listener); returns it."""
    s.inject("S", seq=peer_isn, sport=sport, win=65535, mss=1460)
    sa = s.expect("SA", ack=peer_isn + 1)
    s.inject("A", seq=peer_isn + 1, ack=sa.seq + 1, sport=sport)
    c = s.listener.accept()
    c.close()
    s.expect("FA", seq=2001, ack=peer_isn + 1)
    s.inject("FA", seq=peer_isn + 1, ack=2002, sport=sport)
    s.expect("A", seq=2002, ack=peer_isn + 2)
    assert c.info()["state"] == "TIME_WAIT"
    return c


def test_out_of_window_segment_in_time_wait_draws_an_ack(script):
    # RFC 9293 3.10.7.4 first: an unacceptable segment is answered with an ACK
    s = script(isn=2000)
    s.time_wait()
    s.inject("PA", seq=500, ack=2002, data=b"old")
    s.expect("A", seq=2002, ack=1002)
    s.inject("S", seq=900)                 # a SYN not above RCV.NXT reopens nothing
    s.expect("A", seq=2002, ack=1002)


def test_rst_ends_time_wait(script):
    # RFC 9293 3.10.7.4 second (the RFC 1337 hazard, as Linux with tcp_rfc1337 = 0)
    s = script(isn=2000)
    c = s.time_wait()
    s.inject("R", seq=1002)
    s.expect_nothing()
    assert c.info()["state"] == "CLOSED"
    if not s.linux:
        assert s.tcp.time_wait_count() == 0 and s.tcp.stats["time_wait_rst"] == 1


def test_in_window_rst_that_is_not_exact_draws_a_challenge_ack():
    # RFC 5961 3.2: the record keeps its TIME_WAIT
    s = Script(isn=2000)
    c = s.time_wait()
    s.inject("R", seq=1500)
    s.expect("A", seq=2002, ack=1002)
    assert c.info()["state"] == "TIME_WAIT" and s.tcp.stats["challenge_ack"] == 1


def test_time_wait_leaves_the_connection_table_and_its_limit():
    # A server that closes first holds TIME_WAIT, but not one of its max_connections.
    s = Script(isn=2000, max_connections=1)
    c = s.time_wait()
    assert s.tcp.connections() == [] and s.tcp.time_wait_count() == 1
    assert c.info()["state"] == "TIME_WAIT" and c.info()["buffer_bytes"] == 0
    s.inject("S", seq=7000, sport=PEER_PORT + 1, win=65535, mss=1460)
    s.expect("SA", ack=7001)                # accepted, not refused for the limit
    assert "refused_conn_limit" not in s.tcp.stats
    assert s.tcp.stats["time_wait_entered"] == 1


def test_a_full_table_reuses_its_oldest_record():
    # Linux tcp_max_tw_buckets bounds the table; here the oldest record makes room
    s = Script(isn=2000, time_wait_max=2)
    s.listener = s.tcp.listen(US_PORT)
    first = closed_by_us(s, 41000)
    second = closed_by_us(s, 41001)
    third = closed_by_us(s, 41002)
    assert s.tcp.time_wait_count() == 2 and s.tcp.stats["time_wait_recycled"] == 1
    assert first.info()["state"] == "CLOSED"
    assert second.info()["state"] == third.info()["state"] == "TIME_WAIT"
    # the reused record answers no more: its 4-tuple is a closed port again
    s.inject("A", seq=1002, ack=2002, sport=41000)
    s.expect("R", seq=2002)


def test_a_retransmitted_fin_restarts_its_record_alone():
    # RFC 9293 3.10.7.4: the FIN is acked again and its 2 MSL restart; the record entered
    # after it still ends on time, although it now ends first (timewait.py's FIFO)
    s = Script(isn=2000, msl_ms=1000)
    s.listener = s.tcp.listen(US_PORT)
    a = closed_by_us(s, 41000)                      # TIME_WAIT from t = 0
    s.wait(100)
    b = closed_by_us(s, 41001)                      # ... and from t = 100
    s.wait(1400)
    s.inject("FA", seq=1001, ack=2002, sport=41000)
    s.expect("A", seq=2002, ack=1002)               # t = 1500: a restarts until 3500
    s.wait(599)
    assert b.info()["state"] == "TIME_WAIT"
    s.wait(1)
    assert b.info()["state"] == "CLOSED" and a.info()["state"] == "TIME_WAIT"
    s.wait(1399)
    assert a.info()["state"] == "TIME_WAIT"
    s.wait(1)
    assert a.info()["state"] == "CLOSED" and s.tcp.time_wait_count() == 0
    st = s.tcp.stats
    assert st["time_wait_fin"] == 1 and st["time_wait_expired"] == 2


def test_connect_does_not_take_a_four_tuple_in_time_wait():
    # RFC 9293 3.6.1: no new incarnation of ours before the old one's 2 MSL is over
    s = Script(isn=2000)
    c = s.established_active()
    c.close()
    s.expect("FA", seq=2001, ack=1001)
    s.inject("FA", seq=1001, ack=2002, sport=PEER_PORT, dport=US_PORT)
    s.expect("A", seq=2002, ack=1002)
    assert c.info()["state"] == "TIME_WAIT"
    with pytest.raises(OSError) as e:
        s.tcp.connect(s.peer_ip, PEER_PORT, src_port=US_PORT)
    assert e.value.args[0] == EADDRINUSE
    assert s.tcp.connect(s.peer_ip, PEER_PORT).info()["local"][1] != US_PORT


def test_reopened_time_wait_reads_closed_and_the_new_connection_completes():
    # RFC 1122 4.2.2.13 (test_tcp_close checks the new ISN): the old connection object ends
    s = Script(isn=2000)
    old = s.time_wait()
    s.inject("S", seq=90000, win=65535, mss=1460)
    sa = s.expect("SA", ack=90001)
    s.inject("A", seq=90001, ack=sa.seq + 1)
    new = s.listener.accept()
    assert new is not None and new.info()["state"] == "ESTABLISHED"
    assert old.info()["state"] == "CLOSED" and s.tcp.stats["time_wait_reopen"] == 1
    assert s.tcp.time_wait_count() == 0


def test_churn_keeps_the_table_within_its_bound():
    # 300 closes through a table of 100: it never holds more, and the FIFO is compacted
    # (its head passes 64) without losing the order of the records left
    s = Script(isn=2000, time_wait_max=100, msl_ms=1000)
    s.listener = s.tcp.listen(US_PORT)
    conns = []
    for i in range(300):
        conns.append(closed_by_us(s, 20000 + i))
        assert s.tcp.time_wait_count() == min(i + 1, 100)
    assert s.tcp.stats["time_wait_recycled"] == 200
    assert [c.info()["state"] for c in conns] == ["CLOSED"] * 200 + ["TIME_WAIT"] * 100
    assert len(s.tcp.time_wait._fifo) - s.tcp.time_wait._head == 100
    s.wait(2000)
    assert s.tcp.time_wait_count() == 0 and s.tcp.stats["time_wait_expired"] == 100


def test_records_end_when_our_address_goes():
    # As the connections on it (RFC 1122 3.2.1.3): the address is no longer ours to answer for
    s = Script(isn=2000)
    c = s.time_wait()
    s.iface.configure(ip="192.0.2.7")
    assert s.tcp.time_wait_count() == 0 and c.info()["state"] == "CLOSED"
