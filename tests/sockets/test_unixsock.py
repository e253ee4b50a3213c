"""AF_UNIX stream and datagram sockets and socketpair(), written once, run against the kernel
and against barenet. The names are paths under the test's tmp dir on both targets: the kernel
makes socket files there, barenet keeps them in the stack's own namespace (no file appears).
AF_UNIX is one stack's: both ends use net.srv."""

import errno
import os

import pytest


@pytest.fixture
def path(tmp_path):
    return lambda name: str(tmp_path / name)


def stream(net):
    s = net.srv.socket(net.srv.AF_UNIX, net.srv.SOCK_STREAM)
    s.settimeout(5)
    return s


def dgram(net):
    s = net.srv.socket(net.srv.AF_UNIX, net.srv.SOCK_DGRAM)
    s.settimeout(5)
    return s


def counters(net):
    """barenet's counters of everything but AF_UNIX itself (IP, TCP, UDP, the NIC...)."""
    if not net.barenet:
        return None
    out = []
    for st in net.stacks:
        s = st.stats
        del s["local"]
        out.append(s)
    return out


def connected(net, path):
    srv = stream(net)
    srv.bind(path("srv"))
    srv.listen(4)
    c = stream(net)
    c.connect(path("srv"))
    a, addr = srv.accept()
    a.settimeout(5)
    return srv, c, a, addr


def test_stream_connect_accept_echo_names_and_no_ip_traffic(net, path):
    before = counters(net)
    srv, c, a, addr = connected(net, path)
    with srv, c, a:
        assert addr == "" and a.getpeername() == "" and c.getsockname() == ""
        assert a.getsockname() == path("srv") == c.getpeername() == srv.getsockname()
        assert (c.family, c.type, c.proto) == (net.srv.AF_UNIX, net.srv.SOCK_STREAM, 0)
        c.sendall(b"hello over AF_UNIX")
        assert a.recv(100) == b"hello over AF_UNIX"
        a.sendall(b"x" * 50000)
        got = b""
        while len(got) < 50000:
            d = c.recv(65536)
            assert d
            got += d
        assert got == b"x" * 50000
        # the kernel's names are files; barenet's are its own
        assert os.path.exists(path("srv")) != net.barenet
    assert counters(net) == before


def test_stream_eof_half_close_and_peek(net, path):
    srv, c, a, _ = connected(net, path)
    with srv, c, a:
        c.sendall(b"abc")
        assert a.recv(10, net.srv.MSG_PEEK) == b"abc"
        c.shutdown(net.srv.SHUT_WR)
        assert a.recv(10) == b"abc"
        assert a.recv(10) == b""
        with pytest.raises(BrokenPipeError):
            c.send(b"more")
        a.sendall(b"back")            # the other direction still carries data
        assert c.recv(10) == b"back"
        a.close()
        assert c.recv(10) == b""


def test_stream_errors(net, path):
    with stream(net) as s:
        with pytest.raises(FileNotFoundError):
            s.connect(path("nobody"))
        with pytest.raises(OSError) as e:
            s.recv(1)
        assert e.value.errno == errno.EINVAL          # Linux: not ENOTCONN
        with pytest.raises(OSError) as e:
            s.send(b"x")
        assert e.value.errno == errno.ENOTCONN
        with pytest.raises(OSError) as e:
            s.getpeername()
        assert e.value.errno == errno.ENOTCONN
        with pytest.raises(OSError) as e:
            s.listen(1)                                 # unbound
        assert e.value.errno == errno.EINVAL
        assert s.connect_ex(path("nobody")) == errno.ENOENT
    with stream(net) as a, stream(net) as b, dgram(net) as d:
        a.bind(path("taken"))
        with pytest.raises(OSError) as e:
            b.bind(path("taken"))
        assert e.value.errno == errno.EADDRINUSE
        with pytest.raises(ConnectionRefusedError):
            b.connect(path("taken"))                    # bound, not listening
        d.bind(path("dg"))
        with pytest.raises(OSError) as e:
            b.connect(path("dg"))
        assert e.value.errno == errno.EPROTOTYPE
        with pytest.raises(TypeError):
            b.bind(5)
        with pytest.raises(OSError) as e:
            a.getsockopt(net.srv.IPPROTO_TCP, net.srv.TCP_NODELAY)
        assert e.value.errno == errno.EOPNOTSUPP
    with pytest.raises(OSError) as e:
        net.srv.socket(net.srv.AF_UNIX, net.srv.SOCK_STREAM, 5)
    assert e.value.errno == errno.EPROTONOSUPPORT


def test_stream_nonblocking_accept_and_poll_masks(net, path):
    s = net.srv
    with stream(net) as srv, stream(net) as c:
        srv.bind(path("nb"))
        srv.listen(1)
        srv.setblocking(False)
        with pytest.raises(BlockingIOError):
            srv.accept()
        assert net.wait(c, 0x1 | 0x4, 0) == 0x4 | 0x10     # unconnected: OUT | HUP
        c.connect(path("nb"))
        assert net.wait(srv, 0x1, 1) == 0x1
        a, _ = srv.accept()
        with a:
            a.setblocking(False)
            with pytest.raises(BlockingIOError):
                a.recv(10)
            assert net.wait(a, 0x1 | 0x4, 0) == 0x4
            c.send(b"ping")
            assert net.wait(a, 0x1 | 0x4, 1) == 0x1 | 0x4
            assert a.recv(10, s.MSG_DONTWAIT) == b"ping"
            c.close()
            assert net.wait(a, 0x1 | 0x4, 1) == 0x1 | 0x4 | 0x10


def test_a_full_listen_queue_is_eagain_in_timeout_mode_too(net, path):
    with stream(net) as srv, stream(net) as c1, stream(net) as c2:
        srv.bind(path("q"))
        srv.listen(0)                 # Linux: backlog 0 still takes one connection
        c1.connect(path("q"))
        c2.settimeout(0.5)
        with pytest.raises(BlockingIOError):
            c2.connect(path("q"))     # CPython waits only for EINPROGRESS
        c2.setblocking(False)
        assert c2.connect_ex(path("q")) == errno.EAGAIN
        a, _ = srv.accept()
        with a:
            c2.connect(path("q"))     # room again
            c2.send(b"in")
            b, _ = srv.accept()
            with b:
                b.settimeout(5)
                assert b.recv(10) == b"in"


def test_stream_timeout_on_recv(net, path):
    srv, c, a, _ = connected(net, path)
    with srv, c, a:
        a.settimeout(0.2)
        with pytest.raises(TimeoutError):
            a.recv(1)


def test_stream_makefile_lines(net, path):
    srv, c, a, _ = connected(net, path)
    with srv, c, a:
        c.sendall(b"line one\nline two\n")
        f = a.makefile("rb")
        assert f.readline() == b"line one\n"
        assert f.readline() == b"line two\n"
        f.close()


def test_dgram_sendto_recvfrom_names_and_no_ip_traffic(net, path):
    before = counters(net)
    with dgram(net) as srv, dgram(net) as c, dgram(net) as anon:
        srv.bind(path("dg"))
        c.bind(path("cli"))
        assert c.sendto(b"one", path("dg")) == 3
        assert srv.recvfrom(100) == (b"one", path("cli"))
        assert anon.sendto(b"two", path("dg")) == 3
        assert srv.recvfrom(100) == (b"two", None)        # an unnamed sender
        assert anon.getsockname() == ""
        srv.sendto(b"reply", path("cli"))
        assert c.recv(100) == b"reply"
        c.sendto(b"0123456789", path("dg"))
        assert srv.recv(4) == b"0123"                      # the rest is dropped
        buf = bytearray(8)
        c.sendto(b"abc", path("dg"))
        assert srv.recvfrom_into(buf) == (3, path("cli"))
    assert counters(net) == before


def test_dgram_connect_send_errors_and_shutdown(net, path):
    with dgram(net) as srv, dgram(net) as c, dgram(net) as other:
        srv.bind(path("dg"))
        with pytest.raises(OSError) as e:
            c.send(b"x")
        assert e.value.errno == errno.ENOTCONN             # Linux; UDP says EDESTADDRREQ
        with pytest.raises(FileNotFoundError):
            c.sendto(b"x", path("nobody"))
        c.connect(path("dg"))
        assert c.getpeername() == path("dg")
        c.send(b"connected")
        assert srv.recv(100, net.srv.MSG_PEEK) == b"connected"
        assert srv.recv(100) == b"connected"
        srv.setblocking(False)
        with pytest.raises(BlockingIOError):
            srv.recv(100)
        assert net.wait(other, 0x1 | 0x4, 0) == 0x4
        other.shutdown(net.srv.SHUT_WR)
        with pytest.raises(BrokenPipeError):
            other.sendto(b"x", path("dg"))
        srv.shutdown(net.srv.SHUT_RD)
        assert net.wait(srv, 0x1, 0) == 0x1
        with pytest.raises(BlockingIOError):
            srv.recv(100)                              # Linux: POLLIN, but nothing to read
        srv.close()
        with pytest.raises(ConnectionRefusedError):
            c.send(b"gone")


def test_dgram_a_full_queue_pushes_back(net, path):
    with dgram(net) as srv, dgram(net) as c:
        srv.bind(path("full"))
        c.setblocking(False)
        sent = 0
        with pytest.raises(BlockingIOError):
            for _ in range(1000):
                c.sendto(b"d%d" % sent, path("full"))
                sent += 1
        assert 0 < sent < 1000
        # nothing was dropped: every datagram sent is there, in order
        assert [srv.recv(10) for _ in range(sent)] == [b"d%d" % i for i in range(sent)]


@pytest.mark.parametrize("kind", ["SOCK_STREAM", "SOCK_DGRAM"])
def test_socketpair(net, kind):
    s = net.srv
    a, b = s.socketpair(s.AF_UNIX, getattr(s, kind))
    with a, b:
        a.settimeout(5)
        b.settimeout(5)
        assert (a.family, a.type) == (s.AF_UNIX, getattr(s, kind))
        assert a.getsockname() == "" and b.getpeername() == ""
        a.send(b"to b")
        assert b.recv(10) == b"to b"
        b.send(b"to a")
        assert a.recv(10) == b"to a"


def test_socketpair_defaults_to_a_stream_and_is_af_unix_only(net):
    s = net.srv
    a, b = s.socketpair()
    with a, b:
        assert (a.family, a.type) == (s.AF_UNIX, s.SOCK_STREAM)
        a.sendall(b"eof next")
        a.close()
        b.settimeout(5)
        assert b.recv(100) == b"eof next"
        assert b.recv(100) == b""
    with pytest.raises(OSError) as e:
        s.socketpair(s.AF_INET)
    assert e.value.errno == errno.EOPNOTSUPP
