"""select.select, select.poll, select.epoll and selectors on sockets, the same tests on the
kernel's sockets and on barenet's with the stack in its own thread (issue 9 item 5): every
test runs once per mechanism, and all four must see what the kernel's sockets show.

    ready(mech, sock, "r" or "w", timeout) -> True once sock is readable / writable
    state(mech, sock) -> (readable, writable) now

Readable is select()'s meaning (data, a connection to accept, EOF, an error, a hang-up);
writable is room to send (or an error to report).
"""

import errno
import io
import os
import select
import selectors

import pytest

MECHS = ["select", "poll", "epoll", "selectors"]
T = 2.0     # s: what arrives on a loopback or a virtual wire comes long before this


def _select(sock, r, w, timeout):
    rl, wl, _ = select.select([sock] if r else [], [sock] if w else [], [], timeout)
    return bool(rl), bool(wl)


def _poll(sock, r, w, timeout):
    p = select.poll()
    p.register(sock, (select.POLLIN if r else 0) | (select.POLLOUT if w else 0))
    ev = p.poll(int(timeout * 1000))
    m = ev[0][1] if ev else 0
    return (bool(m & (select.POLLIN | select.POLLHUP | select.POLLERR)) and r,
            bool(m & (select.POLLOUT | select.POLLERR)) and w)


def _epoll(sock, r, w, timeout):
    with select.epoll() as p:
        p.register(sock, (select.EPOLLIN if r else 0) | (select.EPOLLOUT if w else 0))
        ev = p.poll(timeout)
    m = ev[0][1] if ev else 0
    return (bool(m & (select.EPOLLIN | select.EPOLLHUP | select.EPOLLERR)) and r,
            bool(m & (select.EPOLLOUT | select.EPOLLERR)) and w)


def _selectors(sock, r, w, timeout):
    with selectors.DefaultSelector() as sel:
        sel.register(sock, (selectors.EVENT_READ if r else 0) |
                     (selectors.EVENT_WRITE if w else 0))
        ev = sel.select(timeout)
    m = ev[0][1] if ev else 0
    return bool(m & selectors.EVENT_READ), bool(m & selectors.EVENT_WRITE)


_WAYS = {"select": _select, "poll": _poll, "epoll": _epoll, "selectors": _selectors}


def ready(mech, sock, what, timeout=T):
    r, w = _WAYS[mech](sock, what == "r", what == "w", timeout)
    return r if what == "r" else w


def state(mech, sock):
    return _WAYS[mech](sock, True, True, 0)


@pytest.fixture(params=MECHS)
def mech(request):
    return request.param


def _listener(net, backlog=8):
    lst = net.srv.socket(net.srv.AF_INET, net.srv.SOCK_STREAM)
    lst.bind((net.srv_ip, 0))
    lst.listen(backlog)
    lst.settimeout(T)
    return lst


def _pair(net):
    """(listener, client, server side of the connection), blocking with timeout T."""
    lst = _listener(net)
    c = net.cli.socket(net.cli.AF_INET, net.cli.SOCK_STREAM)
    c.settimeout(T)
    c.connect(lst.getsockname())
    s, _ = lst.accept()
    s.settimeout(T)
    return lst, c, s


def test_listener_is_readable_while_a_connection_waits(tnet, mech):
    lst = _listener(tnet)
    assert state(mech, lst) == (False, False)
    c = tnet.cli.socket(tnet.cli.AF_INET, tnet.cli.SOCK_STREAM)
    c.settimeout(T)
    c.connect(lst.getsockname())
    assert ready(mech, lst, "r")
    s, _ = lst.accept()
    assert state(mech, lst) == (False, False)
    for x in (s, c, lst):
        x.close()


def test_nonblocking_connect_completes_as_writable(tnet, mech):
    lst = _listener(tnet)
    c = tnet.cli.socket(tnet.cli.AF_INET, tnet.cli.SOCK_STREAM)
    c.setblocking(False)
    assert c.connect_ex(lst.getsockname()) == errno.EINPROGRESS
    assert ready(mech, c, "w")
    assert c.getsockopt(tnet.cli.SOL_SOCKET, tnet.cli.SO_ERROR) == 0
    assert c.getpeername() == lst.getsockname()
    assert state(mech, c) == (False, True)
    c.close()
    lst.close()


def test_refused_nonblocking_connect_reports_so_error(tnet, mech):
    closed = _listener(tnet)
    addr = closed.getsockname()
    closed.close()      # nothing listens on addr now: the peer answers the SYN with RST
    c = tnet.cli.socket(tnet.cli.AF_INET, tnet.cli.SOCK_STREAM)
    c.setblocking(False)
    assert c.connect_ex(addr) == errno.EINPROGRESS
    assert ready(mech, c, "w")
    assert state(mech, c) == (True, True)    # both ways shut (Linux tcp_poll after tcp_done)
    assert c.getsockopt(tnet.cli.SOL_SOCKET, tnet.cli.SO_ERROR) == errno.ECONNREFUSED
    c.close()


def test_readable_on_data_and_no_longer_once_read(tnet, mech):
    lst, c, s = _pair(tnet)
    assert state(mech, s) == (False, True)
    c.sendall(b"x" * 100)
    assert ready(mech, s, "r")
    got = b""
    while len(got) < 100:
        got += s.recv(100)
    assert got == b"x" * 100
    assert state(mech, s) == (False, True)
    for x in (s, c, lst):
        x.close()


def test_readable_on_end_of_stream(tnet, mech):
    lst, c, s = _pair(tnet)
    c.shutdown(tnet.cli.SHUT_WR)
    assert ready(mech, s, "r")
    assert s.recv(10) == b""
    assert state(mech, s) == (True, True)     # EOF stays readable
    for x in (s, c, lst):
        x.close()


def test_readable_on_reset(tnet, mech):
    lst, c, s = _pair(tnet)
    s.sendall(b"unread")
    tnet.settle()
    c.close()       # with unread data: Linux (and barenet) reset the connection, RFC 2525 2.17
    assert ready(mech, s, "r")
    assert state(mech, s) == (True, True)
    with pytest.raises(ConnectionResetError):
        s.recv(10)
    s.close()
    lst.close()


def test_writable_again_once_a_full_send_buffer_drains(tnet, mech):
    lst, c, s = _pair(tnet)
    c.setblocking(False)
    sent = 0
    chunk = b"y" * 65536
    full = False
    for _ in range(4096):         # bounded: 256 MB, far beyond any buffer here
        try:
            sent += c.send(chunk)
        except BlockingIOError:
            # full once what went out has filled the peer's window too (the kernel's
            # loopback delivers inside send(); a wire takes its time)
            tnet.settle()
            full = not ready(mech, c, "w", 0.05)
            if full:
                break
    assert full
    got = 0
    while got < sent:
        got += len(s.recv(1 << 20))
    assert got == sent
    assert ready(mech, c, "w")
    for x in (s, c, lst):
        x.close()


def test_udp_readable_per_datagram(tnet, mech):
    u = tnet.srv.socket(tnet.srv.AF_INET, tnet.srv.SOCK_DGRAM)
    u.bind((tnet.srv_ip, 0))
    v = tnet.cli.socket(tnet.cli.AF_INET, tnet.cli.SOCK_DGRAM)
    assert state(mech, u) == (False, True)
    v.sendto(b"one", u.getsockname())
    v.sendto(b"two", u.getsockname())
    assert ready(mech, u, "r")
    assert u.recvfrom(10)[0] == b"one"
    assert ready(mech, u, "r", 0)            # the second is still queued
    assert u.recvfrom(10)[0] == b"two"
    assert state(mech, u) == (False, True)
    u.close()
    v.close()


def test_selector_serves_many_sockets(tnet):
    """One DefaultSelector over a listener and its clients: an echo for 20 connections."""
    lst = _listener(tnet, 32)
    lst.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(lst, selectors.EVENT_READ)
    clients = []
    for i in range(20):
        c = tnet.cli.socket(tnet.cli.AF_INET, tnet.cli.SOCK_STREAM)
        c.settimeout(T)
        c.connect(lst.getsockname())
        c.sendall(b"%d\n" % i)
        clients.append(c)
    echoed = 0
    for _ in range(1000):
        if echoed == 20:
            break
        for key, _ in sel.select(T):
            if key.fileobj is lst:
                s, _ = lst.accept()
                s.setblocking(False)
                sel.register(s, selectors.EVENT_READ)
            else:
                data = key.fileobj.recv(100)
                key.fileobj.sendall(data)
                echoed += 1
    assert [c.recv(100) for c in clients] == [b"%d\n" % i for i in range(20)]
    for key in list(sel.get_map().values()):
        sel.unregister(key.fileobj)
        key.fileobj.close()
    sel.close()
    for c in clients:
        c.close()


def _fds():
    return len(os.listdir("/proc/self/fd"))


def test_fileno_fds_are_freed_on_close(tnet):
    before = _fds()
    socks = [tnet.cli.socket(tnet.cli.AF_INET, t)
             for t in (tnet.cli.SOCK_STREAM, tnet.cli.SOCK_DGRAM) for _ in range(8)]
    socks.extend(_pair(tnet))     # a listener, a connected socket, an accepted one
    socks.extend(_pair(tnet))
    fds = {s.fileno() for s in socks}
    assert len(fds) == 22 and all(fd >= 0 for fd in fds)
    assert {s.fileno() for s in socks} == fds          # one fd for the socket's life
    for s in socks:
        s.close()
        assert s.fileno() == -1                        # as a closed CPython socket
    assert _fds() == before


def test_fileno_without_a_threaded_driver_is_unsupported(net):
    s = net.cli.socket(net.cli.AF_INET, net.cli.SOCK_STREAM)
    if net.barenet:
        # SimDriver: no thread moves the stack while select() waits, so no fd could be true
        with pytest.raises(io.UnsupportedOperation):
            s.fileno()
        with pytest.raises(ValueError):
            selectors.DefaultSelector().register(s, selectors.EVENT_READ)
    else:
        assert s.fileno() >= 0
    s.close()
