"""MicroPython's stream methods on barenet's stream sockets, as py/stream.c's mp_stream_rw has
them: on a blocking socket write() writes all of it and read(n) returns n bytes (fewer only
at the end of the stream); on a non-blocking one each does what it can now, None for nothing;
write(buf, len) and write(buf, off, len) take part of buf (umqtt.simple relies on all three)."""

from barenet.socket import Sockets
from barenet_host.vwire import Sim, SimDriver

DATA = bytes((i * 7 + 1) & 0xFF for i in range(200000))


def pair():
    sim = Sim()
    wire = sim.wire()
    a, _ = sim.host(wire, "02:00:00:00:00:01", "192.0.2.1/24")
    b, _ = sim.host(wire, "02:00:00:00:00:02", "192.0.2.2/24")
    drv = SimDriver(sim)
    srv, cli = Sockets(a, drv), Sockets(b, drv)
    lst = srv.socket()
    lst.bind(("192.0.2.1", 7))
    lst.listen(1)
    c = cli.create_connection(("192.0.2.1", 7), timeout=10)
    s, _ = lst.accept()
    s.settimeout(10)
    return c, s


def test_write_takes_a_length_or_an_offset_and_a_length():
    c, s = pair()
    assert c.write(b"0123456789", 3) == 3
    assert c.write(b"0123456789", 5, 2) == 2
    assert s.read(5) == b"01256"


def test_write_and_read_move_all_of_it_through_small_windows():
    c, s = pair()
    # 200 kB through buffers of a few kB, in one thread: non-blocking writes and reads in
    # turn, each doing what it can now; then a blocking read for the rest
    got = bytearray()
    mv = memoryview(DATA)
    sent = 0
    while sent < len(DATA):
        c.settimeout(0)
        n = c.write(mv[sent:sent + 30000])
        sent += n or 0
        s.settimeout(0)
        d = s.read(len(DATA) - len(got))
        if d:
            got += d
    c.settimeout(10)
    s.settimeout(10)
    got += s.read(len(DATA) - len(got))
    assert bytes(got) == DATA


def test_blocking_write_writes_past_the_send_buffer_and_read_takes_exactly_n():
    c, s = pair()
    # blocking: all of it, past the send buffer (5840 bytes; the peer's receive buffer takes
    # the rest while nobody reads), then exactly n bytes, from many segments. On a fresh
    # connection: after traffic the receiver may hold back less than an MSS of window (SWS
    # avoidance, RFC 9293 3.8.6.2.2), and then less than this fits while nobody reads.
    n = c.getsockopt(1, 7) + s.getsockopt(1, 8) - 1000
    assert c.write(DATA[:n]) == n
    assert s.read(n) == DATA[:n]


def test_non_blocking_read_returns_what_arrived_or_none():
    c, s = pair()
    s.settimeout(0)
    assert s.read(10) is None
    c.sendall(b"abc")
    s.settimeout(10)
    assert s.read(1) == b"a"
    s.settimeout(0)
    assert s.read(10) == b"bc"


def test_read_keeps_what_arrived_before_a_timeout_and_ends_at_eof():
    c, s = pair()
    c.sendall(b"part")
    s.settimeout(0.5)
    assert s.read(10) == b"part"     # the timeout passed: what came is returned, not lost
    c.sendall(b"rest")
    c.shutdown(1)
    s.settimeout(10)
    assert s.read(10) == b"rest"     # the end of the stream came first
    assert s.read(10) == b""
