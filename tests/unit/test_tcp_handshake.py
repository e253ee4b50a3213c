"""Opening connections (RFC 9293 3.5): passive, active, simultaneous; options negotiated.

Tests taking the `script` fixture run twice: against barenet and against the Linux kernel
(tcp_script.py); sequence numbers are relative to the SUT's ISN, times are windows on Linux.
"""

import pytest

from barenet.compat import ECONNREFUSED, ENOBUFS, ETIMEDOUT
from barenet.tcp import output
from barenet.tcp.ring import Ring
from tcp_script import LINUX_EARLY_MS, PEER_PORT, US_PORT, Script, on_both, script  # noqa: F401
from test_tcp_data import expect_error, wheel_late


def test_passive_open_seed_example(script):
    # peer SYN seq=1000 -> we reply SYN-ACK seq=2000 ack=1001 with our MSS, wscale, SACK-perm
    s = script(isn=2000, rcvbuf=65535)
    lst = s.tcp.listen(80)
    s.inject("S", seq=1000, win=65535, mss=1460, wscale=7, sack_perm=True)
    sa = s.expect("SA", seq=2000, ack=1001, mss=1460, sack_perm=True, within=(0, 0))
    # RFC 7323 2.2: a SYN-ACK may carry window scale only because the SYN did, and its own
    # window is never scaled. The shift is each stack's choice from its buffer: barenet's
    # 64 KB buffer needs none; Linux scales for its tcp_rmem maximum and offers 64240.
    opts = dict(sa.options)
    assert "WScale" in opts
    if not s.linux:
        assert (sa.window, opts["WScale"]) == (65535, 0)
    assert lst.accept() is None                   # not until the handshake completes
    s.inject("A", seq=1001, ack=2001, win=512)
    s.expect_nothing()
    c = lst.accept()
    assert c.info()["state"] == "ESTABLISHED"
    if not s.linux:
        assert c.info()["snd_wnd"] == 512 << 7
    assert lst.accept() is None


def test_synack_offers_only_what_the_syn_offered(script):
    s = script(isn=2000)
    s.tcp.listen(80)
    s.inject("S", seq=1000, mss=1200)
    # the MSS option is our own receive limit (RFC 9293 3.7.1), not an echo of the peer's
    sa = s.expect("SA", seq=2000, ack=1001, mss=1460, sack_perm=False)
    assert "WScale" not in dict(sa.options) and "Timestamp" not in dict(sa.options)


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


def test_active_open_and_mss_from_mtu(script):
    s = script(isn=5000, mtu=1400)
    c = s.tcp.connect("192.0.2.1", PEER_PORT, src_port=US_PORT)
    s.expect("S", seq=5000, ack=0, mss=1360, sack_perm=True, at=0)
    assert c.info()["state"] == "SYN_SENT" and c.recv(10) is None
    s.wait(10)
    s.inject("SA", seq=7000, ack=5001, mss=1460)
    # no options after the SYN: the SYN-ACK offered no timestamps (RFC 7323 3.2)
    s.expect("A", seq=5001, ack=7001, within=(0, 0), no_options=True)
    assert c.info()["state"] == "ESTABLISHED"
    if not s.linux:
        assert c.info()["mss"] == 1360 and c.info()["srtt_ms"] == 10


def test_syn_retransmitted_with_backoff_then_times_out(script):
    # RFC 6298 (2.1): the initial RTO is 1 s, doubled on each timeout (5.5); the kernel uses
    # the same 1 s (TCP_TIMEOUT_INIT) and gives up after tcp_syn_retries, here 2 (with
    # tcp_syn_linear_timeouts off: Linux >= 6.17 otherwise resends SYNs every second 4 times).
    s = script(isn=5000, syn_retries=2)
    c = s.tcp.connect("192.0.2.1", PEER_PORT)
    s.expect("S", seq=5000, within=(0, 0))
    s.expect("S", seq=5000, within=(1000, 1000))
    s.expect("S", seq=5000, within=(2000, 2000))
    # the doubled RTO after the last SYN runs out: no third retry, the connect fails
    expect_error(s, c, ETIMEDOUT, within=(4000, 4000 + wheel_late(s, 4000)))
    s.expect_nothing()
    assert s.tcp.connections() == []


def test_rst_refuses_connect(script):
    s = script(isn=5000)
    c = s.tcp.connect("192.0.2.1", PEER_PORT)
    s.expect("S")
    s.inject("RA", seq=0, ack=5001, dport=c.lport)
    with pytest.raises(OSError) as e:
        c.send(b"x")
    assert e.value.args[0] == ECONNREFUSED


def test_rst_without_acceptable_ack_is_ignored_in_syn_sent(script):
    s = script(isn=5000)
    c = s.tcp.connect("192.0.2.1", PEER_PORT)
    s.expect("S")
    s.inject("RA", seq=0, ack=4000, dport=c.lport)     # RFC 9293 3.10.7.3: dropped
    if s.linux:
        # Linux also resends its SYN at once ("previous FIN/ACK or RST/ACK might be
        # ignored", tcp_rcv_synsent_state_process): an extra, harmless retransmission.
        s.expect("S", seq=5000, within=(0, 20))
    s.expect_nothing()
    assert c.info()["state"] == "SYN_SENT"


def test_bad_ack_in_syn_sent_draws_rst(script):
    # RFC 9293 3.10.7.3: an ACK outside (ISS, SND.NXT] gets <SEQ=SEG.ACK><CTL=RST>
    s = script(isn=5000)
    c = s.tcp.connect("192.0.2.1", PEER_PORT)
    s.expect("S")
    s.inject("SA", seq=7000, ack=9999, dport=c.lport)
    s.expect("R", seq=9999)
    assert c.info()["state"] == "SYN_SENT"


def test_simultaneous_open(script):
    # RFC 9293 figure 7: SYN crosses SYN; both answer SYN,ACK; both ESTABLISHED
    s = script(isn=5000)
    c = s.tcp.connect("192.0.2.1", PEER_PORT, src_port=US_PORT)
    s.expect("S", seq=5000)
    s.inject("S", seq=7000, mss=1460)
    s.expect("SA", seq=5000, ack=7001, mss=1460)
    assert c.info()["state"] == "SYN_RECEIVED"
    s.inject("SA", seq=7000, ack=5001, mss=1460)
    if s.linux:
        # Linux takes the SYN-ACK's ACK (tcp_validate_incoming lets it pass in SYN_RECV) and
        # then acks the SYN it repeats, which lies below RCV.NXT: an unacceptable segment is
        # answered with an ACK (RFC 9293 3.10.7.4). barenet, as the figure, stays silent.
        s.expect("A", seq=5001, ack=7001)
    s.expect_nothing()
    assert c.info()["state"] == "ESTABLISHED"


def test_synack_retransmitted_when_syn_repeats(script):
    s = script(isn=2000)
    s.tcp.listen(80)
    s.inject("S", seq=1000, mss=1460)
    s.expect("SA", seq=2000, ack=1001)
    s.wait(300)
    s.inject("S", seq=1000, mss=1460)
    s.expect("SA", seq=2000, ack=1001, at=300)


def test_synack_resent_with_backoff_then_half_open_forgotten(script):
    # RFC 6298 (2.1) and (5.5) for the SYN-ACK too; after the last retry and its doubled RTO
    # the half-open connection is dropped, so the peer's late ACK finds only the listener:
    # RST (RFC 9293 3.10.7.2). The limit is synack_retries (Linux tcp_synack_retries), not
    # syn_retries: the latter is left high to show which one counts.
    s = script(isn=2000, synack_retries=2, syn_retries=6)
    lst = s.tcp.listen(80)
    s.inject("S", seq=1000, mss=1460)
    s.expect("SA", seq=2000, ack=1001, within=(0, 0))
    s.expect("SA", seq=2000, ack=1001, within=(1000, 1000))
    s.expect("SA", seq=2000, ack=1001, within=(2000, 2000))
    s.expect_nothing(ms=4000 - (LINUX_EARLY_MS if s.linux else 1))    # no third retry
    assert len(s.tcp.connections()) == 1                              # still half-open
    s.expect_nothing(ms=LINUX_EARLY_MS + wheel_late(s, 4000) + s.slack if s.linux else 1)
    assert s.tcp.connections() == []
    if not s.linux:
        assert lst.syn_queue == [] and s.tcp.stats["synack_timeout"] == 1
    s.inject("A", seq=1001, ack=2001)
    s.expect("R", seq=2001)


def test_many_clients_per_listener(script):
    s = script(isn=2000)
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


def test_a_syn_beyond_the_connection_limit_is_refused_and_counted():
    # barenet serve --max-conns N: at the limit a new client gets a RST at once (counted),
    # and the connections held are untouched.
    s = Script(isn=2000, max_connections=1)
    c = s.established_passive()
    s.inject("S", seq=5000, win=65535, mss=1460, sport=PEER_PORT + 1)
    s.expect("RA", seq=0, ack=5001)
    assert s.stack.stats["tcp"]["refused_conn_limit"] == 1
    assert c.info()["state"] == "ESTABLISHED" and len(s.tcp.connections()) == 1


def _no_heap(monkeypatch):
    # A board's heap with no block left for a connection's buffers (a 5 840-byte bytearray,
    # allocated when the handshake completes: tcp/ring.py)
    def reserve(ring):
        raise MemoryError("memory allocation failed, allocating 5840 bytes")
    monkeypatch.setattr(Ring, "reserve", reserve)


def test_a_handshake_with_no_heap_for_its_buffers_is_reset_and_the_next_one_works(
        monkeypatch):
    # The MicroPython VM with a fragmented heap (BENCHMARKS.md "Many clients on a 192 KB
    # board heap"): the ACK that completes the handshake finds no room for the buffers. The
    # peer gets a RST at once (it sees ECONNRESET), the stack does not raise out of input(),
    # and nothing is left half-made in the table for poll() to trip over.
    s = Script(isn=2000)
    lst = s.tcp.listen(80)
    s.inject("S", seq=1000, mss=1460, sack_perm=True)
    s.expect("SA", seq=2000, ack=1001)
    with monkeypatch.context() as m:
        _no_heap(m)
        s.inject("A", seq=1001, ack=2001)
        s.expect("RA", seq=2001)
    assert lst.accept() is None and s.tcp.connections() == [] and lst.syn_queue == []
    assert s.stack.stats["tcp"]["refused_nomem"] == 1
    s.expect_nothing(ms=5000)              # no timer of it left running
    s.inject("S", seq=3000, sport=PEER_PORT + 1, mss=1460)
    s.expect("SA", ack=3001)
    s.inject("A", seq=3001, ack=2001, sport=PEER_PORT + 1)
    assert lst.accept().info()["state"] == "ESTABLISHED"


def test_no_heap_for_loss_recovery_at_the_first_data_resets_with_enobufs(monkeypatch):
    # Congestion control, the scoreboard and RACK are made when the first data goes out
    # (output.sending): a heap with no room for them then resets the connection, counted,
    # and nothing raises out of the stack's poll().
    s = Script(isn=5000)
    c = s.tcp.connect("192.0.2.1", PEER_PORT, src_port=US_PORT)
    s.expect("S", seq=5000)
    s.inject("SA", seq=7000, ack=5001, mss=1460, sack_perm=True)
    s.expect("A", seq=5001, ack=7001)
    assert c.info()["state"] == "ESTABLISHED" and c.cc is None

    def no_room(*args):
        raise MemoryError("memory allocation failed, allocating 576 bytes")
    monkeypatch.setattr(output.Scoreboard, "__init__", no_room)
    c.send(b"hello")
    s.expect("RA", seq=5001)
    assert c.info()["state"] == "CLOSED" and c.error == ENOBUFS
    assert s.tcp.connections() == [] and s.stack.stats["tcp"]["nomem_abort"] == 1


def test_an_active_open_with_no_heap_for_its_buffers_fails_with_enobufs(monkeypatch):
    s = Script(isn=5000)
    c = s.tcp.connect("192.0.2.1", PEER_PORT, src_port=US_PORT)
    s.expect("S", seq=5000)
    _no_heap(monkeypatch)
    s.inject("SA", seq=7000, ack=5001, mss=1460)
    assert c.info()["state"] == "CLOSED" and c.error == ENOBUFS
    assert s.tcp.connections() == [] and s.stack.stats["tcp"]["refused_nomem"] == 1
