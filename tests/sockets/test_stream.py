"""SOCK_STREAM, written once, run against the kernel's loopback and against barenet: setting up,
moving data, flags, half-close, reset, errors, blocking, non-blocking and timeouts."""

import errno

import pytest


def listener(net, backlog=8):
    s = net.srv.socket(net.srv.AF_INET, net.srv.SOCK_STREAM)
    s.bind((net.srv_ip, 0))
    s.listen(backlog)
    return s


def pair(net):
    """(listener, client, accepted): a connected pair with blocking sockets."""
    lst = listener(net)
    c = net.cli.socket(net.cli.AF_INET, net.cli.SOCK_STREAM)
    c.settimeout(5)
    c.connect(lst.getsockname())
    lst.settimeout(5)
    a, peer = lst.accept()
    a.settimeout(5)
    assert peer == c.getsockname()
    return lst, c, a


def closed_port(net):
    """A server-side port nobody listens on (bound, never listening: the kernel resets)."""
    s = net.srv.socket(net.srv.AF_INET, net.srv.SOCK_STREAM)
    s.bind((net.srv_ip, 0))
    return s


# -- setting up -------------------------------------------------------------------------

def test_connect_accept_echo_and_names(net):
    lst, c, a = pair(net)
    with lst, c, a:
        assert c.getpeername() == (net.srv_ip, lst.getsockname()[1])
        assert a.getsockname() == c.getpeername()
        assert a.getpeername() == c.getsockname()
        assert c.send(b"hello") == 5
        assert a.recv(100) == b"hello"
        a.sendall(b"world")
        assert c.recv(100) == b"world"


def test_sendall_a_megabyte_both_ways_arrives_intact(net):
    lst, c, a = pair(net)
    data = bytes(range(256)) * 4096
    with lst, c, a:
        # Interleaved so that neither side's buffers must hold it all
        got = bytearray()
        for i in range(0, len(data), 65536):
            c.sendall(data[i:i + 65536])
            while len(got) < i + 65536:
                got += a.recv(65536)
        assert bytes(got) == data


def test_create_connection_and_source_address(net):
    lst = listener(net)
    with lst:
        c = net.cli.create_connection(lst.getsockname(), timeout=5,
                                      source_address=(net.cli_ip, 0))
        with c:
            a, peer = lst.accept()
            with a:
                assert peer == c.getsockname()
                assert c.gettimeout() == 5.0


def test_context_manager_closes_and_calls_after_close_raise_ebadf(net):
    with net.cli.socket() as s:
        pass
    for call in (lambda: s.recv(1), lambda: s.send(b"x"), lambda: s.bind(("", 0)),
                 lambda: s.getsockname(), lambda: s.listen(), lambda: s.settimeout(1) or
                 s.connect((net.srv_ip, 1)), lambda: s.setsockopt(
                     net.cli.SOL_SOCKET, net.cli.SO_REUSEADDR, 1)):
        with pytest.raises(OSError) as e:
            call()
        assert e.value.errno == errno.EBADF
    s.close()   # a second close is harmless


def test_double_bind_is_eaddrinuse_and_rebinding_one_socket_einval(net):
    with listener(net) as lst:
        port = lst.getsockname()[1]
        with net.srv.socket() as s:
            with pytest.raises(OSError) as e:
                s.bind((net.srv_ip, port))
            assert e.value.errno == errno.EADDRINUSE
            s.bind((net.srv_ip, 0))
            with pytest.raises(OSError) as e:
                s.bind((net.srv_ip, 0))
            assert e.value.errno == errno.EINVAL


def _port_left_in_time_wait(net, reuse):
    """A server port whose listener is closed while the server's side of a connection on it
    holds TIME_WAIT (the server closed first); reuse: the listener's SO_REUSEADDR."""
    lst = net.srv.socket(net.srv.AF_INET, net.srv.SOCK_STREAM)
    lst.setsockopt(net.srv.SOL_SOCKET, net.srv.SO_REUSEADDR, reuse)
    lst.bind((net.srv_ip, 0))
    lst.listen(1)
    c = net.cli.create_connection(lst.getsockname(), 5)
    a, _ = lst.accept()
    port = lst.getsockname()[1]
    a.close()
    assert c.recv(10) == b""
    c.close()
    lst.close()
    net.settle()
    return port


def _bind_errno(net, port, reuse):
    with net.srv.socket() as s:
        s.setsockopt(net.srv.SOL_SOCKET, net.srv.SO_REUSEADDR, reuse)
        try:
            s.bind((net.srv_ip, port))
            s.listen(1)
        except OSError as e:
            return e.errno
        return 0


@pytest.mark.parametrize("old", [0, 1])
def test_rebinding_a_port_in_time_wait_needs_so_reuseaddr_on_both_sockets(net, old):
    # Linux (inet_csk_bind_conflict): a TIME_WAIT socket keeps the SO_REUSEADDR of the
    # socket it came from, and only two sockets that both set it may share the port
    port = _port_left_in_time_wait(net, old)
    assert _bind_errno(net, port, 0) == errno.EADDRINUSE
    assert _bind_errno(net, port, 1) == (0 if old else errno.EADDRINUSE)


def test_so_reuseaddr_never_shares_a_port_with_a_listener(net):
    with listener(net) as lst:
        lst.setsockopt(net.srv.SOL_SOCKET, net.srv.SO_REUSEADDR, 1)
        with net.srv.socket() as s:
            s.setsockopt(net.srv.SOL_SOCKET, net.srv.SO_REUSEADDR, 1)
            with pytest.raises(OSError) as e:
                s.bind((net.srv_ip, lst.getsockname()[1]))
            assert e.value.errno == errno.EADDRINUSE


def test_bind_to_an_address_not_ours_is_eaddrnotavail(net):
    with net.srv.socket() as s:
        with pytest.raises(OSError) as e:
            s.bind(("203.0.113.9", 0))
        assert e.value.errno == errno.EADDRNOTAVAIL


@pytest.mark.parametrize("bad", [("1.2.3.4",), "1.2.3.4", ("1.2.3.4", "80")])
def test_malformed_address_tuples_raise_typeerror(net, bad):
    with net.cli.socket() as s:
        with pytest.raises(TypeError):
            s.connect(bad)


def test_port_out_of_range_raises_overflowerror(net):
    with net.cli.socket() as s:
        with pytest.raises(OverflowError):
            s.connect((net.srv_ip, 70000))


def test_connect_to_a_closed_port_is_refused(net):
    with closed_port(net) as p, net.cli.socket() as c:
        c.settimeout(5)
        with pytest.raises(ConnectionRefusedError) as e:
            c.connect(p.getsockname())
        assert e.value.errno == errno.ECONNREFUSED


def test_connect_ex_returns_the_errno(net):
    with closed_port(net) as p, net.cli.socket() as c:
        c.settimeout(5)
        assert c.connect_ex(p.getsockname()) == errno.ECONNREFUSED
    lst = listener(net)
    with lst, net.cli.socket() as c:
        c.settimeout(5)
        assert c.connect_ex(lst.getsockname()) == 0
        # Linux: the first connect after one that finished in non-blocking (CPython's
        # timeout) mode only reports the outcome; then the socket is connected
        assert c.connect_ex(lst.getsockname()) == 0
        assert c.connect_ex(lst.getsockname()) == errno.EISCONN


@pytest.mark.parametrize("timeout", [None, 5])
def test_a_refused_socket_can_connect_again(net, timeout):
    with closed_port(net) as p, net.cli.socket() as c:
        c.settimeout(timeout)
        assert c.connect_ex(p.getsockname()) == errno.ECONNREFUSED
        with listener(net) as lst:
            if timeout is not None:
                # Linux: after a refusal in non-blocking mode, the next connect reports
                # ECONNABORTED (SO_ERROR already took the errno) and unconnects the socket
                with pytest.raises(ConnectionAbortedError):
                    c.connect(lst.getsockname())
            c.connect(lst.getsockname())
            a, _ = lst.accept()
            a.close()


def test_nonblocking_connect_is_einprogress_and_so_error_tells_the_outcome(net):
    lst = listener(net)
    with lst, net.cli.socket() as c:
        c.setblocking(False)
        with pytest.raises(BlockingIOError) as e:
            c.connect(lst.getsockname())
        assert e.value.errno == errno.EINPROGRESS
        assert net.wait(c, 0x4) & 0x4      # POLLOUT: connected
        assert c.getsockopt(net.cli.SOL_SOCKET, net.cli.SO_ERROR) == 0
        assert c.getpeername() == lst.getsockname()
    with closed_port(net) as p, net.cli.socket() as c:
        c.setblocking(False)
        assert c.connect_ex(p.getsockname()) == errno.EINPROGRESS
        assert net.wait(c, 0x4)
        assert c.getsockopt(net.cli.SOL_SOCKET, net.cli.SO_ERROR) == errno.ECONNREFUSED
        assert c.getsockopt(net.cli.SOL_SOCKET, net.cli.SO_ERROR) == 0   # read once


def test_accept_on_a_socket_that_does_not_listen_is_einval(net):
    with net.srv.socket() as s:
        s.bind((net.srv_ip, 0))
        with pytest.raises(OSError) as e:
            s.accept()
        assert e.value.errno == errno.EINVAL


def test_getpeername_unconnected_is_enotconn_and_getsockname_unbound_is_any(net):
    with net.cli.socket() as s:
        assert s.getsockname() == ("0.0.0.0", 0)
        with pytest.raises(OSError) as e:
            s.getpeername()
        assert e.value.errno == errno.ENOTCONN


def test_listen_without_bind_picks_a_port(net):
    with net.srv.socket() as s:
        s.listen()
        assert s.getsockname()[1] != 0


# -- misuse of an unconnected stream ----------------------------------------------------

def test_send_on_an_unconnected_stream_is_epipe_and_recv_enotconn(net):
    with net.cli.socket() as s:
        with pytest.raises(BrokenPipeError):
            s.send(b"x")
        with pytest.raises(OSError) as e:
            s.recv(1)
        assert e.value.errno == errno.ENOTCONN
        with pytest.raises(OSError) as e:
            s.shutdown(net.cli.SHUT_WR)
        assert e.value.errno == errno.ENOTCONN


def test_connect_twice_is_eisconn(net):
    lst, c, a = pair(net)
    with lst, c, a:
        c.connect(lst.getsockname())    # reports the outcome of the timeout-mode connect
        with pytest.raises(OSError) as e:
            c.connect(lst.getsockname())
        assert e.value.errno == errno.EISCONN


# -- the end of a stream ----------------------------------------------------------------

def test_eof_after_the_peer_closes(net):
    lst, c, a = pair(net)
    with lst, c, a:
        c.sendall(b"last words")
        c.close()
        got = b""
        while True:
            d = a.recv(100)
            if not d:
                break
            got += d
        assert got == b"last words"
        assert net.wait(a, 0x1) == 0x1     # the end of the stream reads as readable
        assert a.recv(100) == b""


def test_half_close_the_other_direction_still_carries_data(net):
    lst, c, a = pair(net)
    with lst, c, a:
        c.sendall(b"request")
        c.shutdown(net.cli.SHUT_WR)
        assert a.recv(100) == b"request"
        assert a.recv(100) == b""
        a.sendall(b"reply")
        a.close()
        assert c.recv(100) == b"reply"
        assert c.recv(100) == b""
        with pytest.raises(BrokenPipeError):
            c.send(b"more")


def test_shut_rd_makes_recv_return_eof(net):
    lst, c, a = pair(net)
    with lst, c, a:
        c.shutdown(net.cli.SHUT_RD)
        assert c.recv(10) == b""


def test_close_with_unread_data_resets_the_peer(net):
    lst, c, a = pair(net)
    with lst, c:
        c.sendall(b"never read")
        net.settle()
        assert net.wait(a, 0x1)
        a.close()          # RFC 2525 2.17: unread data means reset
        # POLLIN | POLLERR | POLLHUP (and POLLOUT, not asked for): both directions are shut
        assert net.wait(c, 0x1) == 0x19
        with pytest.raises(ConnectionResetError):
            c.recv(100)


# -- flags ------------------------------------------------------------------------------

def test_msg_peek_leaves_the_data(net):
    lst, c, a = pair(net)
    with lst, c, a:
        c.sendall(b"abcdef")
        assert net.wait(a, 0x1)
        assert a.recv(3, net.srv.MSG_PEEK) == b"abc"
        assert a.recv(100, net.srv.MSG_PEEK) == b"abcdef"
        assert a.recv(100) == b"abcdef"


def test_msg_dontwait_on_a_blocking_socket_is_eagain(net):
    lst, c, a = pair(net)
    with lst, c, a:
        # Blocking, not a timeout: CPython waits for readability first in timeout mode
        a.settimeout(None)
        with pytest.raises(BlockingIOError) as e:
            a.recv(10, net.srv.MSG_DONTWAIT)
        assert e.value.errno == errno.EAGAIN
        assert a.gettimeout() is None     # the flag does not change the socket's mode


def test_msg_waitall_waits_for_the_whole_count(net):
    lst, c, a = pair(net)
    with lst, c, a:
        for i in range(4):
            c.send(b"%d" % i * 250)
        assert a.recv(1000, net.srv.MSG_WAITALL) == b"0" * 250 + b"1" * 250 + b"2" * 250 + \
            b"3" * 250


def test_msg_waitall_returns_short_at_eof(net):
    lst, c, a = pair(net)
    with lst, c, a:
        c.sendall(b"short")
        c.close()
        assert a.recv(100, net.srv.MSG_WAITALL) == b"short"


def test_msg_oob_sends_urgent_data_the_peer_reads_apart(net):
    lst, c, a = pair(net)
    with lst, c, a:
        c.sendall(b"before")
        c.send(b"!", net.cli.MSG_OOB)
        c.sendall(b"after")
        net.settle()
        assert net.wait(a, 0x1)
        # A read stops at the urgent mark (BSD, Linux)
        got = b""
        while len(got) < 6:
            got += a.recv(100)
        assert got == b"before"
        # MSG_OOB on a blocking socket: in timeout mode CPython would first wait for
        # POLLIN, which urgent data alone does not give (it is POLLPRI)
        a.settimeout(None)
        assert a.recv(1, net.srv.MSG_OOB) == b"!"
        with pytest.raises(OSError) as e:
            a.recv(1, net.srv.MSG_OOB)     # read once: Linux's TCP_URG_READ
        assert e.value.errno == errno.EINVAL
        assert a.recv(100) == b"after"


def test_reading_past_the_urgent_mark_drops_the_urgent_byte(net):
    lst, c, a = pair(net)
    with lst, c, a:
        c.sendall(b"ab")
        c.send(b"!", net.cli.MSG_OOB)
        c.sendall(b"cd")
        net.settle()
        got = b""
        while len(got) < 4:
            got += a.recv(100)
        assert got == b"abcd"
        a.settimeout(None)
        with pytest.raises(OSError) as e:
            a.recv(1, net.srv.MSG_OOB)     # Linux: urg_data is cleared once read past
        assert e.value.errno == errno.EINVAL


def test_so_oobinline_keeps_the_urgent_byte_in_the_stream(net):
    lst, c, a = pair(net)
    with lst, c, a:
        a.setsockopt(net.srv.SOL_SOCKET, net.srv.SO_OOBINLINE, 1)
        c.sendall(b"ab")
        c.send(b"!", net.cli.MSG_OOB)
        c.sendall(b"cd")
        got = b""
        while len(got) < 5:
            got += a.recv(100)
        assert got == b"ab!cd"
        a.settimeout(None)
        with pytest.raises(OSError) as e:
            a.recv(1, net.srv.MSG_OOB)
        assert e.value.errno == errno.EINVAL


def test_msg_oob_with_no_urgent_data_is_einval(net):
    lst, c, a = pair(net)
    with lst, c, a:
        a.settimeout(None)
        with pytest.raises(OSError) as e:
            a.recv(1, net.srv.MSG_OOB)
        assert e.value.errno == errno.EINVAL


# -- blocking, non-blocking, timeouts ---------------------------------------------------

def test_timeouts_and_blocking_modes_read_back(net):
    with net.cli.socket() as s:
        assert s.gettimeout() is None
        s.settimeout(1.5)
        assert s.gettimeout() == 1.5
        s.setblocking(False)
        assert s.gettimeout() == 0.0
        s.setblocking(True)
        assert s.gettimeout() is None
        with pytest.raises(ValueError):
            s.settimeout(-1)


def test_recv_times_out(net):
    lst, c, a = pair(net)
    with lst, c, a:
        a.settimeout(0.2)
        with pytest.raises(TimeoutError):
            a.recv(10)
        c.sendall(b"late")      # a timeout loses nothing: the data is read after it
        assert a.recv(10) == b"late"


def test_accept_times_out(net):
    with listener(net) as lst:
        lst.settimeout(0.1)
        with pytest.raises(TimeoutError):
            lst.accept()


def test_nonblocking_recv_and_accept_are_eagain(net):
    lst, c, a = pair(net)
    with lst, c, a:
        a.setblocking(False)
        lst.setblocking(False)
        with pytest.raises(BlockingIOError) as e:
            a.recv(10)
        assert e.value.errno == errno.EAGAIN
        with pytest.raises(BlockingIOError):
            lst.accept()


def test_a_full_send_buffer_pushes_back_and_loses_nothing(net):
    lst, c, a = pair(net)
    with lst, c, a:
        c.setblocking(False)
        sent = 0
        chunk = b"x" * 65536
        with pytest.raises(BlockingIOError):
            for _ in range(1000):     # bounded: the kernel's buffers hold a few MB at most
                sent += c.send(chunk)
        got = 0
        c.setblocking(True)
        c.shutdown(net.cli.SHUT_WR)
        while True:
            d = a.recv(65536)
            if not d:
                break
            got += len(d)
        assert got == sent


def test_recv_into_and_recvfrom_on_a_stream(net):
    lst, c, a = pair(net)
    with lst, c, a:
        c.sendall(b"0123456789")
        buf = bytearray(4)
        assert a.recv_into(buf) == 4 and buf == b"0123"
        big = bytearray(10)
        assert a.recv_into(big, 3) == 3 and big[:3] == b"456"
        data, addr = a.recvfrom(10)
        assert data == b"789" and addr is None


def test_close_with_a_makefile_stream_open_closes_with_the_stream(net):
    # http.client closes its socket and reads the response through makefile("rb"): the
    # socket stays open until its last stream closes (CPython's _io_refs)
    lst, c, a = pair(net)
    with lst, c:
        r = a.makefile("rb")
        a.close()
        c.sendall(b"after close\n")
        assert r.readline() == b"after close\n"
        r.close()
        with pytest.raises(OSError) as e:
            a.recv(1)
        assert e.value.errno == errno.EBADF


def test_makefile_reads_lines_and_writes(net):
    lst, c, a = pair(net)
    with lst, c, a:
        w = c.makefile("wb")
        w.write(b"one\ntwo\n")
        w.flush()
        r = a.makefile("rb")
        assert r.readline() == b"one\n"
        assert r.readline() == b"two\n"
        t = c.makefile("w", encoding="ascii")
        t.write("three\n")
        t.flush()
        assert a.makefile("r", encoding="ascii").readline() == "three\n"


def test_a_numeric_host_in_inet_aton_form_is_accepted(net):
    # getaddrinfo reads "a.b.c" as inet_aton(3) does: 192.0.513 is 192.0.2.1, 127.1 is 127.0.0.1
    with listener(net) as lst:
        a, b, c, d = (int(x) for x in net.srv_ip.split("."))
        short = "%d.%d" % (a, (b << 16) | (c << 8) | d) if a == 127 else \
            "%d.%d.%d" % (a, b, (c << 8) | d)
        with net.cli.create_connection((short, lst.getsockname()[1]), 5) as s:
            assert s.getpeername() == lst.getsockname()
