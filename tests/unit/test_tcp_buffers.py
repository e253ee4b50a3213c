"""Connection memory: rings that are allocated when a connection is established, grow on the
host profile, and are given back at close (not at TIME_WAIT's end).

The rings are checked against a plain bytes model through growth and wrap-around (hypothesis);
the lifecycle on a real connection between two stacks on the virtual wire.
"""

import tracemalloc

from hypothesis import given, settings, strategies as st

from barenet.tcp.recv import RecvBuffer
from barenet.tcp.send import SendBuffer
from barenet_host.vwire import Sim


def test_a_ring_holds_no_storage_until_reserved_then_its_start_or_all():
    grows = SendBuffer(65536, 4096)
    fixed = RecvBuffer(5840, 4)
    assert grows.cap == fixed.cap == 0 and grows.free() == 65536 and fixed.free() == 5840
    grows.reserve()
    fixed.reserve()
    assert grows.cap == 4096 and fixed.cap == 5840     # start 0: the whole size at once


def test_send_ring_grows_by_doubling_and_keeps_bytes_across_the_wrap():
    b = SendBuffer(20000, 1000)
    b.reserve()
    assert b.write(b"a" * 900) == 900
    b.consume(800)                       # head moves: the next write wraps
    assert b.write(bytes(range(200))) == 200
    assert b.cap == 1000 and bytes(b.view(0, 300)) == b"a" * 100 + bytes(range(200))
    assert b.write(b"z" * 1500) == 1500  # needs 1800: doubles to 2000
    assert b.cap == 2000
    assert bytes(b.view(0, 1800)) == b"a" * 100 + bytes(range(200)) + b"z" * 1500
    assert b.write(b"q" * 30000) == 20000 - 1800 and b.cap == 20000   # capped at size


def test_receive_ring_grows_for_data_out_of_order_too():
    b = RecvBuffer(16384, 4, 1024)
    b.reserve()
    b.store(0, b"x" * 500)
    b.advance(500, 1000)
    b.store(3000, b"late")               # out of order, past the first kilobyte: grows
    assert b.cap == 3504                 # to what the data needs (more than double)
    assert b.read(500) == b"x" * 500
    assert bytes(b.buf[3500:3504]) == b"late"


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("wc"), st.integers(0, 3000)), max_size=40),
       st.integers(0, 4096))
def test_send_ring_matches_a_bytes_model(ops, start):
    b = SendBuffer(8192, start)
    model = bytearray()
    k = 0
    for op, n in ops:
        if op == "w":
            data = bytes((k + i) & 0xFF for i in range(n))
            k += n
            took = b.write(data)
            assert took == min(n, 8192 - len(model))
            model += data[:took]
        else:
            n = min(n, len(model))
            b.consume(n)
            del model[:n]
        assert b.length == len(model) and b.cap <= 8192
        if model:
            assert bytes(b.view(0, len(model))) == bytes(model)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("sr"), st.integers(0, 3000)), max_size=40),
       st.integers(0, 4096))
def test_receive_ring_matches_a_bytes_model(ops, start):
    # in-order data stored and read in pieces, across the ring's end and back to its start
    b = RecvBuffer(8192, 4, start)
    b.reserve()
    model = bytearray()
    k = 0
    for op, n in ops:
        if op == "s":
            n = min(n, b.free())
            data = bytes((k + i) & 0xFF for i in range(n))
            k += n
            b.store(0, memoryview(data))
            b.advance(n, 0)
            model += data
        else:
            got = b.read(n)
            assert isinstance(got, bytes) and got == bytes(model[:n])
            del model[:n]
        assert b.length == len(model) and b.cap <= 8192
        if not model:
            assert b.head == 0        # emptied: the next data starts at the ring's start


def test_an_emptied_receive_ring_starts_again_at_its_start_unless_data_waits_beyond():
    b = RecvBuffer(1000, 4)
    b.reserve()
    b.store(0, b"x" * 700)
    b.advance(700, 0)
    assert b.read(700) == b"x" * 700 and b.head == 0
    b.store(0, b"y" * 600)
    b.advance(600, 700)
    b.store(100, b"late")               # out of order: remembered beyond the in-order end
    assert b.add_range(1400, 1404)
    assert b.read(600) == b"y" * 600 and b.head == 600   # kept: "late" sits past it
    b.store(0, b"z" * 100)
    assert b.advance(100, 1300) == 1404 and b.read(104) == b"z" * 100 + b"late"


def pair(profile="board", **kw):
    sim = Sim()
    wire = sim.wire()
    a, _ = sim.host(wire, "02:00:00:00:00:01", "192.0.2.1/24", profile=profile, seed=1, **kw)
    b, _ = sim.host(wire, "02:00:00:00:00:02", "192.0.2.2/24", profile=profile, seed=2, **kw)
    return sim, a, b


def test_a_half_open_connection_allocates_no_buffer():
    sim, a, b = pair(syn_backlog=16)
    lst = b.tcp.listen(80)
    tracemalloc.start()
    try:
        base = tracemalloc.take_snapshot()
        conn = a.tcp.connect("192.0.2.2", 80)
        # stop at the instant the server holds the half-open connection (SYN-ACK sent)
        sim.run(until=lambda: lst.syn_queue, max_ms=10)
        snap = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    (half,) = lst.syn_queue
    assert half.info()["state"] == "SYN_RECEIVED" and half.info()["buffer_bytes"] == 0
    ring_bytes = sum(s.size_diff for s in snap.compare_to(base, "filename")
                     if s.traceback[0].filename.endswith(("tcp/ring.py", "tcp/send.py",
                                                          "tcp/recv.py")))
    # Both ends' four empty rings (the objects themselves): nothing like the 11 680 bytes of
    # storage two board buffers take
    assert ring_bytes < 2048
    assert conn.info()["state"] in ("SYN_SENT", "ESTABLISHED")


def established(sim, a, b):
    lst = b.tcp.listen(80)
    conn = a.tcp.connect("192.0.2.2", 80)
    assert sim.run(until=lambda: lst.readable(), max_ms=1000)
    return conn, lst.accept()


def test_board_buffers_are_allocated_whole_at_establishment():
    sim, a, b = pair()
    conn, peer = established(sim, a, b)
    assert peer.info()["buffer_bytes"] == 2 * 5840 == conn.info()["buffer_bytes"]


def test_loss_recovery_state_comes_with_the_first_data_sent_not_the_handshake():
    # An idle connection has nothing for congestion control, the SACK scoreboard or RACK to
    # track (output.sending); info() shows what congestion control will start with.
    sim, a, b = pair()
    conn, peer = established(sim, a, b)
    sim.advance(100)
    for c in (conn, peer):
        assert c.info()["sack"] and c.cc is None and c.sb is None and c.rack is None
        assert c.info()["cwnd"] == min(10 * c.mss, max(2 * c.mss, 14600))   # RFC 6928 IW
        assert not c.info()["in_recovery"]
    assert peer.rto.srtt8                        # the handshake's round trip was sampled
    peer.send(b"x" * 3000)
    sim.run(until=lambda: conn.readable() == 3000, max_ms=1000)
    assert peer.cc is not None and peer.sb is not None and peer.rack is not None
    assert peer.rack.min_rtt <= peer.rto.srtt()  # RACK starts from that sample
    assert conn.cc is None                       # the receiver only sent ACKs
    assert conn.recv(3000) == b"x" * 3000


def test_host_buffers_start_small_and_grow_with_the_data():
    sim, a, b = pair("host")
    conn, peer = established(sim, a, b)
    assert peer.info()["buffer_bytes"] == 2 * 8192
    data = bytes(200000)
    sent = got = 0

    def app(now):
        nonlocal sent, got
        if sent < len(data):
            sent += conn.send(data[sent:sent + 65536])
        d = peer.recv(1 << 20)
        while d:
            got += len(d)
            d = peer.recv(1 << 20)

    sim.add_task(app)
    assert sim.run(until=lambda: got == len(data), max_ms=10000)
    assert 8192 < conn.sndbuf.cap <= 262144 and peer.rcvbuf.cap > 8192


def test_buffers_are_given_back_at_close_not_at_time_wait_end():
    sim, a, b = pair()
    conn, peer = established(sim, a, b)
    conn.send(b"bye")
    sim.run(until=lambda: peer.readable(), max_ms=1000)
    assert peer.recv(10) == b"bye"
    conn.close()                                          # active close: a goes to TIME_WAIT
    sim.run(until=lambda: peer.info()["state"] == "CLOSE_WAIT", max_ms=1000)
    assert peer.recv(10) == b""
    peer.close()
    sim.run(until=lambda: conn.info()["state"] == "TIME_WAIT", max_ms=1000)
    assert conn.info()["state"] == "TIME_WAIT" and conn.info()["buffer_bytes"] == 0
    assert conn.sb is None and conn.rack is None           # recovery state goes too
    sim.advance(61000)
    assert a.tcp.connections() == [] and b.tcp.connections() == []


def test_a_half_closed_connection_keeps_its_unread_data_after_the_peer_fin():
    # shutdown_write(), then the peer's data and FIN: TIME_WAIT with bytes still to read
    sim, a, b = pair()
    conn, peer = established(sim, a, b)
    conn.shutdown_write()
    sim.run(until=lambda: peer.recv(10) == b"", max_ms=1000)
    peer.send(b"late reply")
    peer.close()
    sim.run(until=lambda: conn.info()["state"] == "TIME_WAIT", max_ms=1000)
    assert conn.info()["buffer_bytes"] == 5840            # the receive ring, with the reply
    assert conn.recv(100) == b"late reply"
    assert conn.info()["buffer_bytes"] == 0 and conn.recv(100) == b""
