"""Opening connections (RFC 9293 3.5): passive, active, simultaneous; options negotiated."""

import pytest

from barenet.compat import ECONNREFUSED, ETIMEDOUT
from tcp_script import Script, PEER_PORT, US_PORT


def test_passive_open_seed_example():
    # peer SYN seq=1000 -> we reply SYN-ACK seq=2000 ack=1001 with our MSS, wscale, SACK-perm
    s = Script(isn=2000, rcvbuf=65535)
    lst = s.tcp.listen(80)
    s.inject("S", seq=1000, win=65535, mss=1460, wscale=7, sack_perm=True)
    s.expect("SA", seq=2000, ack=1001, win=65535, mss=1460, wscale=0, sack_perm=True, at=0)
    assert lst.accept() is None                   # not until the handshake completes
    s.inject("A", seq=1001, ack=2001, win=512)
    s.expect_nothing()
    c = lst.accept()
    assert c.info()["state"] == "ESTABLISHED" and c.info()["snd_wnd"] == 512 << 7
    assert lst.accept() is None


def test_synack_offers_only_what_the_syn_offered():
    s = Script(isn=2000)
    s.tcp.listen(80)
    s.inject("S", seq=1000, mss=1200)
    sa = s.expect("SA", seq=2000, ack=1001, mss=1460, sack_perm=False)
    assert "WScale" not in dict(sa.options)


def test_window_scale_chosen_from_buffer():
    s = Script(isn=2000, rcvbuf=1 << 20)
    s.tcp.listen(80)
    s.inject("S", seq=1000, mss=1460, wscale=2)
    s.expect("SA", seq=2000, ack=1001, win=65535, wscale=5)
    s.inject("A", seq=1001, ack=2001, win=1000)
    c = s.tcp.listeners[80].accept()
    assert c.info()["snd_wnd"] == 4000
    # later segments advertise the scaled window; the right edge stays put (RFC 9293 3.8.6.2.2)
    s.inject("PA", seq=1001, ack=2001, win=1000, data=b"x" * 100)
    s.wait(200)
    s.expect("A", ack=1101, win=((1 << 20) - 100) >> 5, at=40)


def test_active_open_and_mss_from_mtu():
    s = Script(isn=5000, mtu=1400)
    c = s.tcp.connect("192.0.2.1", PEER_PORT, src_port=US_PORT)
    s.expect("S", seq=5000, ack=0, mss=1360, sack_perm=True, at=0)
    assert c.info()["state"] == "SYN_SENT" and c.recv(10) is None
    s.wait(10)
    s.inject("SA", seq=7000, ack=5001, mss=1460)
    s.expect("A", seq=5001, ack=7001, at=10, no_options=True)
    assert c.info()["state"] == "ESTABLISHED" and c.info()["mss"] == 1360
    assert c.info()["srtt_ms"] == 10


def test_syn_retransmission_backoff_then_timeout():
    s = Script(isn=5000, syn_retries=3)
    c = s.tcp.connect("192.0.2.1", PEER_PORT)
    s.expect("S", seq=5000, at=0)
    for at in (1000, 3000, 7000):                 # RFC 6298 (2.1) 1 s, doubled each time
        s.wait(at - s.now)
        s.expect("S", seq=5000, at=at)
    s.wait(8000)
    s.expect_nothing()
    with pytest.raises(OSError) as e:
        c.recv(1)
    assert e.value.args[0] == ETIMEDOUT
    assert s.tcp.connections() == []


def test_rst_refuses_connect():
    s = Script(isn=5000)
    c = s.tcp.connect("192.0.2.1", PEER_PORT)
    s.expect("S")
    s.inject("RA", seq=0, ack=5001, dport=c.lport)
    with pytest.raises(OSError) as e:
        c.send(b"x")
    assert e.value.args[0] == ECONNREFUSED


def test_rst_without_acceptable_ack_is_ignored_in_syn_sent():
    s = Script(isn=5000)
    c = s.tcp.connect("192.0.2.1", PEER_PORT)
    s.expect("S")
    s.inject("RA", seq=0, ack=4000, dport=c.lport)
    s.expect_nothing()
    assert c.info()["state"] == "SYN_SENT"


def test_bad_ack_in_syn_sent_draws_rst():
    # RFC 9293 3.10.7.3: an ACK outside (ISS, SND.NXT] gets <SEQ=SEG.ACK><CTL=RST>
    s = Script(isn=5000)
    c = s.tcp.connect("192.0.2.1", PEER_PORT)
    s.expect("S")
    s.inject("SA", seq=7000, ack=9999, dport=c.lport)
    s.expect("R", seq=9999)
    assert c.info()["state"] == "SYN_SENT"


def test_simultaneous_open():
    # RFC 9293 figure 7: SYN crosses SYN; both answer SYN,ACK; both ESTABLISHED
    s = Script(isn=5000)
    c = s.tcp.connect("192.0.2.1", PEER_PORT, src_port=US_PORT)
    s.expect("S", seq=5000)
    s.inject("S", seq=7000, mss=1460)
    s.expect("SA", seq=5000, ack=7001, mss=1460)
    assert c.info()["state"] == "SYN_RECEIVED"
    s.inject("SA", seq=7000, ack=5001, mss=1460)
    s.expect_nothing()
    assert c.info()["state"] == "ESTABLISHED"


def test_synack_retransmitted_when_syn_repeats():
    s = Script(isn=2000)
    s.tcp.listen(80)
    s.inject("S", seq=1000, mss=1460)
    s.expect("SA", seq=2000, ack=1001)
    s.wait(300)
    s.inject("S", seq=1000, mss=1460)
    s.expect("SA", seq=2000, ack=1001, at=300)


def test_synack_retransmitted_on_timer_and_half_open_expires():
    s = Script(isn=2000, syn_retries=2)
    lst = s.tcp.listen(80)
    s.inject("S", seq=1000, mss=1460)
    s.expect("SA", at=0)
    s.wait(1000)
    s.expect("SA", at=1000)
    s.wait(2000)
    s.expect("SA", at=3000)
    s.wait(4000)
    s.expect_nothing()
    assert s.tcp.connections() == [] and lst.syn_queue == []


def test_syn_queue_and_backlog_bounded():
    s = Script(isn=2000, syn_backlog=2)
    lst = s.tcp.listen(80, backlog=1)
    for i in range(3):
        s.inject("S", seq=1000, sport=50000 + i, mss=1460)
    assert len(s.expect_many(2)) == 2               # the third SYN is dropped
    assert s.tcp.stats["listen_drop"] == 1
    s.inject("A", seq=1001, ack=2001, sport=50000)
    s.inject("A", seq=1001, ack=2001, sport=50001)  # backlog of 1 is full: stays half-open
    s.expect_nothing()
    assert lst.readable() == 1 and len(lst.syn_queue) == 1
    assert lst.accept().rport == 50000
    s.inject("A", seq=1001, ack=2001, sport=50001)
    assert lst.accept().rport == 50001


def test_many_clients_per_listener():
    s = Script(isn=2000)
    lst = s.tcp.listen(80, backlog=8)
    for i in range(5):
        s.inject("S", seq=1000 + i, sport=51000 + i, mss=1460)
        s.expect("SA", ack=1001 + i)
        s.inject("A", seq=1001 + i, ack=2001, sport=51000 + i)
    conns = [lst.accept() for _ in range(5)]
    assert sorted(c.rport for c in conns) == list(range(51000, 51005))
    for i, c in enumerate(conns):
        s.inject("PA", seq=1001 + i, ack=2001, sport=51000 + i, data=b"%d" % i)
    assert [c.recv(10) for c in conns] == [b"%d" % i for i in range(5)]
