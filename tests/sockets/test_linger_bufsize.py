"""SO_LINGER and SO_RCVBUF/SO_SNDBUF on TCP, written once, run against the kernel's loopback
and against barenet.

SO_LINGER takes struct linger {int l_onoff; int l_linger;} as Linux does: zero linger makes
close() an abortive close (RST); a linger time makes close() wait until the FIN is
acknowledged or the time passes. Buffer sizes: Linux doubles the value asked for (its buffers
count bookkeeping too), barenet keeps it (its hold data only), both within their bounds."""

import errno
import struct
import time

import pytest

from test_stream import pair


def clock(net):
    return net.sim.ms / 1000 if net.barenet else time.monotonic()


def linger(onoff, secs):
    return struct.pack("ii", onoff, secs)


def fill(s, limit=1 << 24):
    """Send without blocking until the socket pushes back; -> bytes taken (bounded)."""
    s.setblocking(False)
    total = 0
    chunk = b"f" * 16384
    try:
        while total < limit:
            total += s.send(chunk)
    except BlockingIOError:
        pass
    return total


def tcp(mod):
    return mod.socket(mod.AF_INET, mod.SOCK_STREAM)


def states(net):
    """barenet: the client stack's connection states (the socket layer hides them)."""
    return [c.info()["state"] for c in net.stacks[1].tcp.connections()]


def test_so_linger_struct_form_and_int_form(net):
    s = net.cli
    with tcp(s) as t:
        assert t.getsockopt(s.SOL_SOCKET, s.SO_LINGER) == 0
        assert t.getsockopt(s.SOL_SOCKET, s.SO_LINGER, 8) == linger(0, 0)
        t.setsockopt(s.SOL_SOCKET, s.SO_LINGER, linger(1, 5))
        assert t.getsockopt(s.SOL_SOCKET, s.SO_LINGER, 8) == linger(1, 5)
        assert t.getsockopt(s.SOL_SOCKET, s.SO_LINGER) == 1        # an int is l_onoff
        assert t.getsockopt(s.SOL_SOCKET, s.SO_LINGER, 4) == b"\x01\0\0\0"
        for bad in (1, b"\x01\0\0\0"):
            with pytest.raises(OSError) as e:
                t.setsockopt(s.SOL_SOCKET, s.SO_LINGER, bad)
            assert e.value.errno == errno.EINVAL
        t.setsockopt(s.SOL_SOCKET, s.SO_LINGER, bytearray(linger(7, 0)))
        assert t.getsockopt(s.SOL_SOCKET, s.SO_LINGER, 8) == linger(1, 0)


def test_zero_linger_close_resets_the_peer(net):
    lst, c, a = pair(net)
    with lst, a:
        c.sendall(b"sent before the reset")
        net.settle()
        c.setsockopt(net.cli.SOL_SOCKET, net.cli.SO_LINGER, linger(1, 0))
        c.close()
        with pytest.raises(ConnectionResetError):
            # Linux: what was queued is dropped with the connection; the RST is what counts
            while a.recv(100):
                pass


def test_linger_close_waits_until_the_fin_is_acknowledged(net):
    lst, c, a = pair(net)
    with lst, a:
        data = b"d" * 100000
        c.sendall(data)
        c.setsockopt(net.cli.SOL_SOCKET, net.cli.SO_LINGER, linger(1, 5))
        t0 = clock(net)
        c.close()
        assert clock(net) - t0 < 5        # the peer acknowledged before the time ran out
        if net.barenet:
            # everything acknowledged, our FIN too: no FIN_WAIT_1 left behind
            assert "FIN_WAIT_1" not in states(net) and states(net)
        assert b"".join(iter(lambda: a.recv(65536), b"")) == data     # then the end


def test_linger_close_gives_up_when_the_time_passes(net):
    s = net.srv
    lst = tcp(s)
    lst.setsockopt(s.SOL_SOCKET, s.SO_RCVBUF, 4096)   # a small window, soon full
    lst.bind((net.srv_ip, 0))
    lst.listen(1)
    c = tcp(net.cli)
    c.settimeout(5)
    c.connect(lst.getsockname())
    lst.settimeout(5)
    a, _ = lst.accept()
    with lst, a:
        assert fill(c) > 0
        c.setsockopt(net.cli.SOL_SOCKET, net.cli.SO_LINGER, linger(1, 1))
        t0 = clock(net)
        c.close()                     # the peer never reads: nothing more is acknowledged
        took = clock(net) - t0
        assert 0.9 <= took < 30


def test_buffer_sizes_are_clamped_and_reported(net):
    s = net.cli
    for name in ("SO_RCVBUF", "SO_SNDBUF"):
        opt = getattr(s, name)
        with tcp(s) as t:
            assert t.getsockopt(s.SOL_SOCKET, opt) > 0
            t.setsockopt(s.SOL_SOCKET, opt, 8192)
            assert 8192 <= t.getsockopt(s.SOL_SOCKET, opt) <= 16384
            t.setsockopt(s.SOL_SOCKET, opt, 1)
            assert 2048 <= t.getsockopt(s.SOL_SOCKET, opt) <= 4608   # each side's minimum
            t.setsockopt(s.SOL_SOCKET, opt, 10 ** 8)
            assert 8192 < t.getsockopt(s.SOL_SOCKET, opt) < 10 ** 8  # each side's maximum


def buffered(net, size):
    """Bytes a client can send to a peer that never reads, with both buffers set to size
    (None: the defaults) before listen() and connect()."""
    s, cs = net.srv, net.cli
    lst = tcp(s)
    c = tcp(cs)
    if size is not None:
        lst.setsockopt(s.SOL_SOCKET, s.SO_RCVBUF, size)
        c.setsockopt(cs.SOL_SOCKET, cs.SO_SNDBUF, size)
    lst.bind((net.srv_ip, 0))
    lst.listen(1)
    c.settimeout(5)
    c.connect(lst.getsockname())
    lst.settimeout(5)
    a, _ = lst.accept()
    with lst, a, c:
        if size is not None:
            # the accepted socket has the listener's size, the connected one its own
            assert size <= a.getsockopt(s.SOL_SOCKET, s.SO_RCVBUF) <= 2 * size
            assert size <= c.getsockopt(cs.SOL_SOCKET, cs.SO_SNDBUF) <= 2 * size
        total = fill(c)
        for _ in range(20):           # let the window close and the pushed-back data settle
            net.settle()
            total += fill(c)
        return total


def test_small_buffers_hold_less_before_the_sender_is_pushed_back(net):
    small = buffered(net, 8192)
    default = buffered(net, None)
    assert 0 < small < 65536
    assert default > 4 * small
