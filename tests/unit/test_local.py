"""AF_UNIX endpoints in the stack's own namespace (local.py): names, stream connections with
bounded buffers, backpressure, half-close and resets, the listen backlog, datagrams with a
bounded queue that pushes back, socketpair, the endpoint table, and that none of it touches
IP or a NIC. The errno of each case is what Linux gives for AF_UNIX, checked by hand against
the kernel's own sockets (see the report of the commit that added this file)."""

import pytest
from hypothesis import settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from barenet.compat import (EADDRINUSE, EAGAIN, EBADF, ECONNREFUSED, ECONNRESET, EINVAL,
                            EISCONN, EMSGSIZE, ENOBUFS, ENOENT, ENOTCONN, EPERM, EPIPE,
                            EPROTOTYPE)
from barenet.local import DGRAM, STREAM
from barenet.stack import Stack
from peer import setup


def errno_of(fn, *args):
    with pytest.raises(OSError) as e:
        fn(*args)
    return e.value.errno


def server(stack, name="/srv", backlog=4):
    s = stack.local.stream()
    s.bind(name)
    s.listen(backlog)
    return s


def connected(stack, name="/srv"):
    """-> (listener, client, accepted)"""
    s = server(stack, name)
    c = stack.local.stream()
    c.connect(name)
    return s, c, s.accept()


def test_stream_connect_accept_exchange_and_names():
    stack = Stack("board")
    s = server(stack)
    assert s.accept() is None                      # nothing yet
    c = stack.local.stream()
    assert c.getsockname() == ""                   # unnamed, as CPython shows it
    c.connect("/srv")
    a = s.accept()
    assert a.recv(10) is None                      # connected, nothing sent yet
    assert a.recv(0) == b""                        # Linux: at once
    assert c.send(b"ping") == 4
    assert a.recv(2) == b"pi" and a.recv(10) == b"ng"
    assert a.send(b"pong") == 4 and c.recv(10) == b"pong"
    # Linux: the accepted side carries the listener's name; the client stays unnamed
    assert a.getsockname() == "/srv" and a.getpeername() == ""
    assert c.getpeername() == "/srv"
    b = stack.local.stream()
    b.bind("/cli")
    b.connect("/srv")
    assert s.accept().getpeername() == "/cli"


def test_abstract_names_and_autobind():
    stack = Stack("board")
    s = server(stack, b"\0hidden")
    assert s.getsockname() == b"\0hidden"          # abstract: bytes, as CPython shows it
    c = stack.local.stream()
    c.connect("\0hidden")                          # the str spelling is the same name
    assert c.getpeername() == b"\0hidden"
    d = stack.local.dgram()
    d.bind("")                                     # Linux autobind: NUL + 5 hex digits
    n = d.getsockname()
    assert isinstance(n, bytes) and len(n) == 6 and n[0] == 0
    e = stack.local.dgram()
    e.bind("")
    assert e.getsockname() != n


def test_name_errors():
    stack = Stack("board")
    L = stack.local
    s = server(stack)
    t = L.stream()
    assert errno_of(t.bind, "/srv") == EADDRINUSE
    assert errno_of(s.bind, "/other") == EINVAL     # already bound
    assert errno_of(t.connect, "/nobody") == ENOENT
    assert errno_of(t.connect, "") == EINVAL
    idle = L.stream()
    idle.bind("/idle")
    assert errno_of(t.connect, "/idle") == ECONNREFUSED  # bound, not listening
    d = L.dgram()
    d.bind("/dg")
    assert errno_of(t.connect, "/dg") == EPROTOTYPE
    assert errno_of(d.sendto, b"x", "/srv") == EPROTOTYPE
    assert errno_of(L.stream().bind, "x" * 108) == EINVAL  # sun_path holds 107 + NUL
    L.stream().bind("x" * 107)
    L.dgram().bind(b"\0" + b"y" * 107)              # an abstract name may use all 108
    s.close()
    L.stream().bind("/srv")                         # a closed endpoint's name is free again
    with pytest.raises(TypeError):                  # not an address, as CPython says
        L.dgram().bind(5)


def test_misuse_errors():
    stack = Stack("host")
    L = stack.local
    t = L.stream()
    assert errno_of(t.send, b"x") == ENOTCONN
    assert errno_of(t.recv, 1) == EINVAL            # Linux unix_stream_read_generic
    assert errno_of(t.getpeername) == ENOTCONN
    assert errno_of(t.listen, 1) == EINVAL          # unbound
    assert errno_of(t.accept) == EINVAL             # not listening
    t.shutdown_write()                              # Linux: succeeds unconnected
    s, c, a = connected(stack)
    assert errno_of(c.connect, "/srv") == EISCONN
    assert errno_of(s.connect, "/srv") == EINVAL    # a listener
    assert errno_of(a.listen, 1) == EINVAL          # connected
    c.close()
    c.close()                                       # twice is harmless
    for call, args in ((c.send, (b"x",)), (c.recv, (1,)), (c.connect, ("/srv",)),
                       (c.bind, ("/z",)), (c.shutdown_write, ()), (c.getpeername, ())):
        assert errno_of(call, *args) == EBADF
    d = L.dgram()
    d.close()
    assert errno_of(d.recvfrom) == EBADF
    assert errno_of(d.sendto, b"x", "/srv") == EBADF


def test_stream_backpressure_and_room_event():
    stack = Stack("board", local_buf=10)
    s, c, a = connected(stack)
    woke = []
    c.on_event = woke.append
    assert c.writable() == 10
    assert c.send(b"0123456") == 7
    assert c.send(b"789abc") == 3                   # what fit
    assert c.writable() == 0 and c.send(b"more") == 0  # full: 0, nothing dropped
    assert woke == []
    assert a.recv(4) == b"0123"                     # room again: the writer is told
    assert woke == [c] and c.writable() == 4
    assert c.send(b"ABCDEF") == 4
    assert a.recv(100) == b"456789ABCD"
    assert a.recv(100) is None


def test_data_and_eof_events_reach_the_reader():
    stack = Stack("board")
    s, c, a = connected(stack)
    seen = []
    a.on_event = seen.append
    before = a.events
    c.send(b"x")
    assert seen == [a] and a.events == before + 1
    c.shutdown_write()
    assert len(seen) == 2
    lst = stack.local.stream()
    lst.bind("/l2")
    lst.listen(1)
    got = []
    lst.on_event = got.append
    stack.local.stream().connect("/l2")
    assert got == [lst] and lst.readable() == 1


def test_half_close_both_ways():
    stack = Stack("board")
    s, c, a = connected(stack)
    c.send(b"last words")
    c.shutdown_write()
    assert errno_of(c.send, b"x") == EPIPE
    assert a.recv(100) == b"last words"
    assert a.recv(100) == b""                       # end of stream after the data
    assert a.send(b"still open") == 10              # the other direction is untouched
    assert c.recv(100) == b"still open"
    # shutdown_read: what is buffered is still read, then b""; the peer's send is EPIPE
    s2, c2, a2 = connected(stack, "/two")
    c2.send(b"ab")
    a2.shutdown_read()
    assert errno_of(c2.send, b"x") == EPIPE
    assert a2.recv(10) == b"ab" and a2.recv(10) == b""


def test_close_with_unread_data_resets_the_peer():
    stack = Stack("board")
    s, c, a = connected(stack)
    c.send(b"unread by a")
    a.send(b"zz")
    a.close()
    # Linux: c reads what a sent first, then ECONNRESET once, then end of stream
    assert c.recv(10) == b"zz"
    assert errno_of(c.recv, 10) == ECONNRESET
    assert c.recv(10) == b""
    assert errno_of(c.send, b"x") == EPIPE
    assert stack.local.stats["resets"] == 1


def test_clean_close_is_end_of_stream():
    stack = Stack("board")
    s, c, a = connected(stack)
    a.send(b"bye")
    a.close()
    assert c.recv(10) == b"bye" and c.recv(10) == b""
    assert errno_of(c.send, b"x") == EPIPE
    assert "resets" not in stack.local.stats


def test_backlog_refuses_beyond_and_wakes_the_waiter():
    stack = Stack("host")
    L = stack.local
    s = server(stack, backlog=0)
    first = L.stream()
    first.connect("/srv")                           # Linux: backlog 0 still takes one
    late = L.stream()
    woke = []
    late.on_event = woke.append
    used = L.count
    assert errno_of(late.connect, "/srv") == EAGAIN
    assert L.count == used                          # no half-made endpoint left behind
    assert stack.local.stats["backlog_full"] == 1
    assert errno_of(late.connect, "/srv") == EAGAIN  # waits once, however often it retries
    assert s.accept() is not None
    assert woke == [late]
    late.connect("/srv")                            # the retry fits now
    assert s.accept().getsockname() == "/srv"
    big = L.stream()
    big.bind("/big")
    big.listen(1 << 20)
    assert big.backlog == stack.cfg.somaxconn       # clipped as Linux does
    lim = stack.limits()
    assert lim["local_accept_queue:'/srv'"] == {"limit": 1, "used": 0}


def test_closing_a_listener_resets_the_queued_and_wakes_waiters():
    stack = Stack("board")
    L = stack.local
    s = server(stack, backlog=0)
    queued = L.stream()
    queued.connect("/srv")
    queued.send(b"early")                           # Linux: data may go before accept()
    waiting = L.stream()
    woke = []
    waiting.on_event = woke.append
    assert errno_of(waiting.connect, "/srv") == EAGAIN
    s.close()
    assert errno_of(queued.recv, 10) == ECONNRESET  # never accepted (Linux embryo)
    assert queued.recv(10) == b""
    assert woke == [waiting]
    assert errno_of(waiting.connect, "/srv") == ENOENT  # the name went with it
    assert L.count == 2


def test_datagrams_keep_boundaries_and_sender_names():
    stack = Stack("board")
    L = stack.local
    rx = L.dgram()
    rx.bind("/log")
    anon = L.dgram()
    named = L.dgram()
    named.bind("/app")
    assert rx.recvfrom() is None
    assert anon.sendto(b"one", "/log") == 3
    assert named.sendto(b"", "/log") == 0           # an empty datagram is a datagram
    assert anon.sendto(b"three", "/log") == 5
    assert rx.readable() == 3
    assert rx.recvfrom(peek=True) == (b"one", None)
    assert rx.recvfrom() == (b"one", None)          # unnamed sender: None, as CPython says
    assert rx.recvfrom() == (b"", "/app")
    assert rx.recvfrom() == (b"three", None)
    assert rx.recvfrom() is None
    assert errno_of(anon.sendto, b"x", "/nobody") == ENOENT
    assert errno_of(anon.sendto, bytes(stack.cfg.local_dgram_max + 1), "/log") == EMSGSIZE
    anon.sendto(bytes(stack.cfg.local_dgram_max), "/log")


def test_full_datagram_queue_pushes_back():
    stack = Stack("board", local_dgram_queue=2)
    L = stack.local
    rx = L.dgram()
    rx.bind("/q")
    tx = L.dgram()
    woke = []
    tx.on_event = woke.append
    tx.sendto(b"a", "/q")
    tx.sendto(b"b", "/q")
    assert errno_of(tx.sendto, b"c", "/q") == EAGAIN   # Linux: blocks or EAGAIN, no drop
    assert stack.limits()["local_dgram_queue:'/q'"] == {"limit": 2, "used": 2}
    assert rx.recvfrom() == (b"a", None)
    assert woke == [tx]
    tx.sendto(b"c", "/q")
    assert [rx.recvfrom()[0] for _ in range(2)] == [b"b", b"c"]
    assert stack.local.stats["dgram_queue_full"] == 1


def test_datagram_connect_sets_the_default_peer():
    stack = Stack("board")
    L = stack.local
    srv = L.dgram()
    srv.bind("/srv")
    c = L.dgram()
    assert errno_of(c.send, b"x") == ENOTCONN        # Linux; UDP says EDESTADDRREQ
    c.bind("/c")
    c.connect("/srv")
    assert c.getpeername() == "/srv"
    assert c.send(b"hello") == 5
    assert srv.recvfrom() == (b"hello", "/c")
    # connected to c, srv takes datagrams only from c (Linux unix_may_send)
    srv.connect("/c")
    other = L.dgram()
    assert errno_of(other.sendto, b"x", "/srv") == EPERM
    assert errno_of(other.connect, "/srv") == EPERM
    srv.close()
    assert errno_of(c.send, b"x") == ECONNREFUSED    # then Linux forgets the dead peer
    assert errno_of(c.send, b"x") == ENOTCONN


def test_socketpair_stream_and_datagram():
    stack = Stack("board")
    a, b = stack.local.socketpair()
    assert a.getsockname() == "" and a.getpeername() == ""
    a.send(b"to b")
    assert b.recv(10) == b"to b"
    b.shutdown_write()
    assert a.recv(10) == b""
    x, y = stack.local.socketpair(DGRAM)
    x.send(b"d1")
    y.send(b"d2")
    assert y.recvfrom() == (b"d1", None) and x.recvfrom() == (b"d2", None)
    assert errno_of(stack.local.socketpair, 99) == EINVAL
    assert stack.local.socketpair(STREAM)[0].kind == STREAM


def test_endpoint_table_is_bounded():
    stack = Stack("board", local_endpoints=5)
    L = stack.local
    s = server(stack)                               # 1
    c = L.stream()                                  # 2
    c.connect("/srv")                               # 3: the accepted side counts
    L.dgram()                                       # 4
    assert errno_of(L.socketpair) == ENOBUFS        # both or neither
    assert L.count == 4
    last = L.stream()                               # 5
    assert errno_of(L.dgram) == ENOBUFS
    assert errno_of(last.connect, "/srv") == ENOBUFS  # no room for the accepted side
    assert stack.limits()["local_endpoints"] == {"limit": 5, "used": 5}
    assert stack.local.stats["drop_table_full"] == 3
    c.close()
    s.accept().close()
    L.socketpair()
    assert errno_of(L.stream) == ENOBUFS


def test_never_touches_ip_or_a_nic():
    sim, stack, iface, peer = setup()
    sim.run(max_ms=100)                             # the interface's own announcements
    before = stack.stats
    del before["local"]
    frames = iface.stats.get("tx", 0)
    s, c, a = connected(stack)
    for i in range(50):
        c.send(b"x" * 100)
        a.recv(1000)
    a.close()
    d = stack.local.dgram()
    d.bind("/d")
    x, y = stack.local.socketpair(DGRAM)
    for i in range(20):
        x.sendto(b"y" * 100, "/d")
        d.recvfrom()
        x.send(b"z")
        y.recvfrom()
    sim.run(max_ms=100)
    after = stack.stats
    assert after.pop("local")["stream_bytes"] == 5000
    assert after == before and iface.stats.get("tx", 0) == frames
    assert not peer.take()                          # nothing reached the wire


class PairMachine(RuleBasedStateMachine):
    """Random interleavings of send/recv/peek/shutdowns/close on a stream socketpair with a
    small buffer: every byte send() accepted is read once, in order, unless its reader
    closed; a buffer never holds more than its bound."""

    BUF = 7

    def __init__(self):
        RuleBasedStateMachine.__init__(self)
        self.stack = Stack("board", local_buf=self.BUF)
        self.ep = self.stack.local.socketpair()
        self.sent = [bytearray(), bytearray()]      # accepted from side i, for side 1 - i
        self.got = [bytearray(), bytearray()]       # read by side 1 - i of what i sent
        self.wr_shut = [False, False]
        self.rd_shut = [False, False]
        self.closed = [False, False]
        self.n = 0

    @rule(i=st.integers(0, 1), size=st.integers(0, 12))
    def send(self, i, size):
        data = bytes((self.n + k) & 0xFF for k in range(size))
        self.n += size
        ep = self.ep[i]
        if self.closed[i]:
            assert errno_of(ep.send, data) == EBADF
        elif self.wr_shut[i] or self.closed[1 - i] or self.rd_shut[1 - i]:
            assert errno_of(ep.send, data) == EPIPE
        else:
            room = self.BUF - (len(self.sent[i]) - len(self.got[i]))
            k = ep.send(data)
            assert k == min(size, room)
            self.sent[i] += data[:k]

    @rule(i=st.integers(0, 1), n=st.integers(1, 12), peek=st.booleans())
    def recv(self, i, n, peek):
        ep = self.ep[i]
        src = 1 - i
        if self.closed[i]:
            assert errno_of(ep.recv, n) == EBADF
            return
        try:
            out = ep.recv(n, peek)
        except OSError as e:
            assert e.errno == ECONNRESET and self.closed[src]
            return
        waiting = self.sent[src][len(self.got[src]):]
        ended = self.wr_shut[src] or self.closed[src] or self.rd_shut[i]
        if out is None:
            assert not waiting and not ended
        elif out == b"":
            assert not waiting and ended
        else:
            assert out == waiting[:n]               # in order, nothing lost or repeated
            if not peek:
                self.got[src] += out

    @rule(i=st.integers(0, 1))
    def shutdown_write(self, i):
        if not self.closed[i]:
            self.ep[i].shutdown_write()
            self.wr_shut[i] = True

    @rule(i=st.integers(0, 1))
    def shutdown_read(self, i):
        if not self.closed[i]:
            self.ep[i].shutdown_read()
            self.rd_shut[i] = True

    @precondition(lambda self: not all(self.closed))
    @rule(i=st.integers(0, 1))
    def close(self, i):
        if not self.closed[i]:
            self.ep[i].close()
            self.closed[i] = True
            self.sent[1 - i] = bytearray(self.got[1 - i])  # our unread data is gone

    @invariant()
    def bounded(self):
        for i in (0, 1):
            if not self.closed[i]:
                assert self.ep[i].rx.length == len(self.sent[1 - i]) - len(self.got[1 - i])
                assert self.ep[i].rx.length <= self.BUF

    def teardown(self):
        # What is still buffered is all there, in order
        for i in (0, 1):
            if not self.closed[i]:
                src = 1 - i
                rest = bytearray()
                while True:
                    try:
                        out = self.ep[i].recv(100)
                    except OSError:
                        break
                    if not out:
                        break
                    rest += out
                assert self.got[src] + rest == self.sent[src]


TestPairInterleavings = PairMachine.TestCase
TestPairInterleavings.settings = settings(max_examples=300, stateful_step_count=40,
                                          deadline=None)
