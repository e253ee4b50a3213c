"""Closing (RFC 9293 3.6): active, passive, simultaneous, half-close; TIME_WAIT; resets.

Tests taking the `script` fixture run twice: against barenet and against the Linux kernel
(tcp_script.py); sequence numbers are relative to the SUT's ISN, times are windows on Linux.
"""

import pytest

from barenet.compat import ECONNRESET, EPIPE
from scapy.layers.inet import TCP as ScapyTCP

from tcp_script import PEER_PORT, US_PORT, Script, script  # noqa: F401 (fixture)

# After established_passive(): the peer's next seq is 1001, ours 2001. The closing states
# come from Script's openings (fin_wait_1, fin_wait_2, closing, time_wait), which assert
# every state they pass through; our FIN is 2001, the peer's 1001.


def test_active_close_through_time_wait(script):
    # RFC 9293 3.6 case 1: FIN_WAIT_1 -> FIN_WAIT_2 -> TIME_WAIT, then 2 * MSL (3.10.7.4)
    s = script(isn=2000, msl_ms=1000)
    c = s.time_wait()
    if s.linux:
        # Linux's TIME_WAIT is a fixed 60 s (TCP_TIMEWAIT_LEN): only the re-ACK is checked.
        s.inject("FA", seq=1001, ack=2002)
        s.expect("A", seq=2002, ack=1002)
        return
    s.wait(1500)
    s.inject("FA", seq=1001, ack=2002)             # a retransmitted FIN is acked again
    s.expect("A", seq=2002, ack=1002)
    s.wait(1999)                                   # ... and restarts the 2*MSL timer
    assert c.info()["state"] == "TIME_WAIT"
    s.wait(1)
    assert c.info()["state"] == "CLOSED" and s.tcp.connections() == []


def test_passive_close(script):
    s = script(isn=2000)
    c = s.established_passive()
    s.inject("FA", seq=1001, ack=2001)
    # barenet acks a FIN at once; Linux may delay it (tcp_fin enters pingpong mode, hoping to
    # ride the ACK on the application's reply), within the delayed-ACK bound (RFC 1122 4.2.3.2)
    s.expect("A", seq=2001, ack=1002, within=(0, 0 if not s.linux else 200))
    assert c.info()["state"] == "CLOSE_WAIT" and c.recv(10) == b""
    c.send(b"bye")                                 # half-close: we may still send
    s.expect("PA", seq=2001, ack=1002, data=b"bye")
    c.close()
    s.expect("FA", seq=2004, ack=1002)
    assert c.info()["state"] == "LAST_ACK"
    s.inject("A", seq=1002, ack=2005)
    assert c.info()["state"] == "CLOSED" and s.tcp.connections() == []


def test_simultaneous_close(script):
    # RFC 9293 3.6 case 2: the FINs cross, FIN_WAIT_1 -> CLOSING -> TIME_WAIT, then 2 * MSL
    s = script(isn=2000, msl_ms=500)
    c = s.time_wait(from_closing=True)
    if not s.linux:                                # Linux's TIME_WAIT is a fixed 60 s
        s.wait(999)
        assert c.info()["state"] == "TIME_WAIT"
        s.wait(1)
        assert c.info()["state"] == "CLOSED" and s.tcp.connections() == []


def test_fin_acking_our_fin_in_fin_wait_1_goes_to_time_wait(script):
    # RFC 9293 3.10.7.4 (FIN bit, FIN-WAIT-1): a FIN that also acks our FIN skips FIN_WAIT_2
    s = script(isn=2000)
    c = s.fin_wait_1()
    s.inject("FA", seq=1001, ack=2002)
    s.expect("A", seq=2002, ack=1002, within=(0, 0))
    assert c.info()["state"] == "TIME_WAIT"


def test_fin_retransmitted_with_backoff(script):
    # RFC 6298 (5.5): the FIN is resent after an RTO, then after twice that. barenet's RTO is
    # 1 s here (no RTT sample yet, RFC 6298 2.1); Linux's is its 200 ms floor plus the
    # handshake's RTT (TCP_RTO_MIN: RFC 6298 (2.4) says 1 s, Linux chose less).
    s = script(isn=2000)
    s.fin_wait_1(half_close=True)
    rto = 200 if s.linux else 1000
    s.expect("FA", seq=2001, within=(rto, rto + (30 if s.linux else 0)))
    s.expect("FA", seq=2001, within=(2 * rto, 2 * rto + (60 if s.linux else 0)))


def test_half_close_keeps_receiving(script):
    s = script(isn=2000)
    c = s.fin_wait_2(half_close=True)
    with pytest.raises(OSError) as e:
        c.send(b"x")
    assert e.value.args[0] == EPIPE
    s.inject("PA", seq=1001, ack=2002, data=b"more")
    s.quickack(1005)
    assert c.recv(10) == b"more"
    s.inject("FA", seq=1005, ack=2002)
    s.expect("A", seq=2002, ack=1006)
    assert c.recv(10) == b"" and c.info()["state"] == "TIME_WAIT"


def test_close_with_unread_data_resets(script):
    s = script(isn=2000)
    c = s.established_passive()
    s.inject("PA", seq=1001, ack=2001, data=b"unread")
    s.quickack(1007)
    c.close()
    s.expect("RA", seq=2001, ack=1007)
    assert s.tcp.connections() == []


def test_abort_sends_rst(script):
    s = script(isn=2000)
    c = s.established_passive()
    c.abort()
    s.expect("RA", seq=2001, ack=1001)
    assert s.tcp.connections() == []


def test_rst_to_closed_port(script):
    # RFC 9293 3.10.7.1: no ACK -> <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>
    s = script(isn=2000)
    s.inject("S", seq=1000)
    s.expect("RA", seq=0, ack=1001)
    s.inject("PA", seq=5000, ack=777, data=b"abc")   # with ACK -> <SEQ=SEG.ACK><CTL=RST>
    s.expect("R", seq=777)
    s.inject("R", seq=5000)                          # a RST never draws a RST
    s.expect_nothing()
    s.inject("A", seq=1001, ack=9, dport=81, sport=1)
    s.expect("R", seq=9)


def test_ack_to_listener_draws_rst(script):
    s = script(isn=2000)
    s.tcp.listen(80)
    s.inject("A", seq=1001, ack=4242)
    s.expect("R", seq=4242)


def test_rst_in_window_exact_resets(script):
    s = script(isn=2000)
    c = s.established_passive()
    s.inject("R", seq=1001)
    s.expect_nothing()
    with pytest.raises(OSError) as e:
        c.recv(1)
    assert e.value.args[0] == ECONNRESET
    assert s.tcp.connections() == []


def test_data_before_rst_is_still_readable(script):
    s = script(isn=2000)
    c = s.established_passive()
    s.inject("PA", seq=1001, ack=2001, data=b"last words")
    s.quickack(1011)
    s.inject("R", seq=1011)
    assert c.recv(100) == b"last words"
    with pytest.raises(OSError):
        c.recv(1)


def test_rst_in_window_not_exact_draws_challenge_ack(script):
    # RFC 5961 3.2
    s = script(isn=2000)
    c = s.established_passive()
    s.inject("R", seq=1500)
    s.expect("A", seq=2001, ack=1001)
    assert c.info()["state"] == "ESTABLISHED"
    if not s.linux:
        assert c.info()["challenge_acks"] == 1


def test_rst_out_of_window_ignored(script):
    s = script(isn=2000)
    c = s.established_passive()
    s.inject("R", seq=1001 + 70000)
    s.expect_nothing()
    assert c.info()["state"] == "ESTABLISHED"


def test_syn_in_established_draws_challenge_ack(script):
    # RFC 5961 4.2: any SYN, in window or not, gets a challenge ACK; nothing is reset
    s = script(isn=2000)
    c = s.established_passive()
    s.inject("S", seq=1500)
    s.expect("A", seq=2001, ack=1001)
    s.inject("S", seq=99999999)
    s.expect("A", seq=2001, ack=1001)
    assert c.info()["state"] == "ESTABLISHED"


def test_ack_of_unsent_data_draws_ack_and_is_dropped(script):
    # RFC 5961 5.2 / RFC 9293 3.10.7.4: SEG.ACK > SND.NXT
    s = script(isn=2000)
    c = s.established_passive()
    s.inject("PA", seq=1001, ack=2500, data=b"zz")
    s.expect("A", seq=2001, ack=1001)
    assert c.readable() == 0


def test_challenge_acks_rate_limited():
    s = Script(isn=2000, challenge_ack_limit=3)
    s.established_passive()
    for _ in range(5):
        s.inject("R", seq=1500)
    assert len(s.expect_many(3)) == 3
    s.wait(1000)
    s.inject("R", seq=1500)
    s.expect("A")


def test_out_of_window_segment_draws_ack(script):
    s = script(isn=2000)
    s.established_passive()
    s.inject("PA", seq=900, ack=2001, data=b"old")    # entirely before RCV.NXT
    s.expect("A", seq=2001, ack=1001)


def test_orphaned_fin_wait_2_times_out(script):
    # Linux: fin_wait2_ms becomes net.ipv4.tcp_fin_timeout (whole seconds)
    s = script(isn=2000, fin_wait2_ms=1000)
    c = s.fin_wait_2()
    acked = s.last                                 # the peer's ACK of our FIN
    s.wait(acked + 1000 - (100 if s.linux else 1) - s.now)
    assert c.info()["state"] == "FIN_WAIT_2"       # not before its time
    s.wait(acked + 1000 + s.slack - s.now)
    assert s.tcp.connections() == []


def test_data_after_close_resets(script):
    s = script(isn=2000)
    s.fin_wait_1()
    s.inject("PA", seq=1001, ack=2002, data=b"late")
    # RFC 1122 4.2.2.13: data after CLOSE was lost, say so with a RST. barenet sends RST,ACK
    # from the connection; Linux answers as for a closed port, <SEQ=SEG.ACK><CTL=RST>.
    s.expect("R|RA", seq=2002)
    assert s.tcp.connections() == []


def test_syn_in_time_wait_opens_a_new_incarnation(script):
    # RFC 1122 4.2.2.13: a SYN for a connection in TIME_WAIT may reopen it when its sequence
    # number is above the old incarnation's RCV.NXT; the new ISN must then lie above the old
    # incarnation's last sequence number (Linux takes old SND.NXT + 65537).
    s = script(isn=2000)
    s.time_wait()
    old_isn = (s.isn + s.offsets[(US_PORT, PEER_PORT)]) % 2**32   # the SUT's real ISN
    s.inject("S", seq=90000, win=65535, mss=1460)          # same ports, far above RCV.NXT
    (t, sa), = s.take(1, s.now + 1000)
    assert sa[ScapyTCP].flags == "SA" and sa[ScapyTCP].ack == 90001
    # in sequence space, the new ISN is beyond everything the old incarnation sent
    assert 0 < (sa[ScapyTCP].seq - (old_isn + 2)) % 2**32 < 2**31


def test_shutdown_before_the_handshake_sends_data_then_fin_once_established():
    # connect(), send() and shutdown_write() in one pass, as `nc -N` does: the FIN waits for
    # the handshake and follows the data (FreeBSD's TF_NEEDFIN; RFC 9293 3.10.4 has no
    # half-close). close() instead would drop the attempt (RFC 9293 3.10.4 SYN-SENT).
    s = Script(isn=2000)
    c = s.tcp.connect(s.peer_ip, PEER_PORT, src_port=US_PORT)
    assert c.send(b"request") == 7
    c.shutdown_write()
    syn = s.expect("S")
    s.inject("SA", seq=1000, ack=syn.seq + 1, win=65535, mss=1460)
    s.expect("FPA", seq=2001, ack=1001, data=b"request")
    assert c.info()["state"] == "FIN_WAIT_1"
    dropped = s.tcp.connect(s.peer_ip, PEER_PORT + 1)
    dropped.close()
    s.expect_nothing()
    assert dropped.info()["state"] == "CLOSED" and dropped not in s.tcp.connections()
