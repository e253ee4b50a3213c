"""SOCK_DGRAM, written once, run against the kernel's loopback and against barenet."""

import errno

import pytest


def udp(mod):
    return mod.socket(mod.AF_INET, mod.SOCK_DGRAM)


def bound(net):
    s = udp(net.srv)
    s.bind((net.srv_ip, 0))
    s.settimeout(5)
    return s


def test_sendto_recvfrom_and_reply(net):
    with bound(net) as srv, udp(net.cli) as c:
        c.settimeout(5)
        assert c.sendto(b"ping", srv.getsockname()) == 4
        data, src = srv.recvfrom(100)
        assert data == b"ping"
        assert src == (net.cli_ip, c.getsockname()[1])
        srv.sendto(b"pong", src)
        assert c.recvfrom(100) == (b"pong", srv.getsockname())


def test_sendto_binds_an_ephemeral_port_first(net):
    with udp(net.cli) as c:
        assert c.getsockname() == ("0.0.0.0", 0)
        with pytest.raises(OSError):
            c.sendto(b"x", ("127.0.0.1", 0))    # fails, but the socket is bound by then
        assert c.getsockname()[1] != 0


def test_datagram_boundaries_are_kept_and_recv_truncates(net):
    with bound(net) as srv, udp(net.cli) as c:
        for m in (b"one", b"two two", b"three three three"):
            c.sendto(m, srv.getsockname())
        assert srv.recv(100) == b"one"
        assert srv.recv(3) == b"two"          # the rest of a datagram is dropped
        assert srv.recv(100) == b"three three three"


def test_recv_into_and_recvfrom_into(net):
    with bound(net) as srv, udp(net.cli) as c:
        c.sendto(b"0123456789", srv.getsockname())
        c.sendto(b"abcdef", srv.getsockname())
        buf = bytearray(16)
        n, src = srv.recvfrom_into(buf)
        assert (n, bytes(buf[:n]), src[0]) == (10, b"0123456789", net.cli_ip)
        assert srv.recv_into(buf, 4) == 4 and buf[:4] == b"abcd"


def test_msg_peek_leaves_the_datagram(net):
    with bound(net) as srv, udp(net.cli) as c:
        c.sendto(b"peeked", srv.getsockname())
        assert srv.recvfrom(100, net.srv.MSG_PEEK)[0] == b"peeked"
        assert srv.recv(3, net.srv.MSG_PEEK) == b"pee"
        assert srv.recv(100) == b"peeked"


def test_connected_udp_send_recv_and_names(net):
    with bound(net) as srv, udp(net.cli) as c:
        c.settimeout(5)
        c.connect(srv.getsockname())
        assert c.getpeername() == srv.getsockname()
        assert c.getsockname()[0] == net.cli_ip     # the route's source address
        c.send(b"hello")
        data, src = srv.recvfrom(100)
        assert data == b"hello"
        srv.sendto(b"back", src)
        assert c.recv(100) == b"back"


def test_a_connected_socket_hears_only_its_peer(net):
    with bound(net) as srv, bound(net) as other, udp(net.cli) as c:
        c.settimeout(5)
        c.bind((net.cli_ip, 0))
        c.connect(srv.getsockname())
        other.sendto(b"stranger", c.getsockname())
        srv.sendto(b"friend", c.getsockname())
        assert c.recv(100) == b"friend"


def test_send_without_a_peer_is_edestaddrreq(net):
    with udp(net.cli) as c:
        with pytest.raises(OSError) as e:
            c.send(b"x")
        assert e.value.errno == errno.EDESTADDRREQ
        with pytest.raises(OSError) as e:
            c.getpeername()
        assert e.value.errno == errno.ENOTCONN


def test_oversize_datagram_is_emsgsize_and_the_largest_goes(net):
    with bound(net) as srv, udp(net.cli) as c:
        with pytest.raises(OSError) as e:
            c.sendto(b"x" * 65508, srv.getsockname())
        assert e.value.errno == errno.EMSGSIZE
        c.sendto(b"warm", srv.getsockname())    # the neighbour is known (see the next test)
        assert srv.recv(100) == b"warm"
        c.sendto(b"y" * 65507, srv.getsockname())       # 45 fragments on barenet's MTU
        assert srv.recv(70000) == b"y" * 65507


@pytest.mark.barenet_xfail("ARP's pending queue holds arp_queue_bytes per neighbour (config.py, "
                           "65536 on the host profile, less than the 45 fragments' 66 kB): the "
                           "send is ENOBUFS; Linux queues 212992 bytes (unres_qlen_bytes)")
def test_the_largest_datagram_to_a_neighbour_not_yet_resolved(net):
    with bound(net) as srv, udp(net.cli) as c:
        c.sendto(b"y" * 65507, srv.getsockname())
        assert srv.recv(70000) == b"y" * 65507


def test_broadcast_needs_so_broadcast(net):
    with udp(net.cli) as c:
        assert c.getsockopt(net.cli.SOL_SOCKET, net.cli.SO_BROADCAST) == 0
        with pytest.raises(PermissionError) as e:
            c.sendto(b"x", ("255.255.255.255", 9))
        assert e.value.errno == errno.EACCES
        c.setsockopt(net.cli.SOL_SOCKET, net.cli.SO_BROADCAST, 1)
        assert c.getsockopt(net.cli.SOL_SOCKET, net.cli.SO_BROADCAST) == 1
        # (not sent: on CPython it would leave the machine)


def test_double_bind_is_eaddrinuse(net):
    with bound(net) as a, udp(net.srv) as b:
        with pytest.raises(OSError) as e:
            b.bind(a.getsockname())
        assert e.value.errno == errno.EADDRINUSE


def test_port_unreachable_is_econnrefused_on_a_connected_socket(net):
    with bound(net) as gone:
        addr = gone.getsockname()
    with udp(net.cli) as c:
        c.settimeout(5)
        c.connect(addr)
        c.send(b"anyone?")
        net.settle()
        with pytest.raises(ConnectionRefusedError):
            c.recv(100)


def test_an_unconnected_socket_ignores_port_unreachable(net):
    with bound(net) as gone:
        addr = gone.getsockname()
    with udp(net.cli) as c:
        c.settimeout(0.2)
        c.sendto(b"anyone?", addr)
        net.settle()
        with pytest.raises(TimeoutError):
            c.recvfrom(100)


def test_nonblocking_recv_is_eagain_and_a_timeout_times_out(net):
    with bound(net) as s:
        s.setblocking(False)
        with pytest.raises(BlockingIOError) as e:
            s.recvfrom(10)
        assert e.value.errno == errno.EAGAIN
        s.settimeout(0.1)
        with pytest.raises(TimeoutError):
            s.recv(10)
        s.settimeout(None)
        with pytest.raises(BlockingIOError):
            s.recv(10, net.srv.MSG_DONTWAIT)


def test_shutdown_of_an_unconnected_datagram_socket_is_enotconn(net):
    with udp(net.cli) as c:
        with pytest.raises(OSError) as e:
            c.shutdown(net.cli.SHUT_RDWR)
        assert e.value.errno == errno.ENOTCONN


def test_tcp_options_on_a_datagram_socket(net):
    m = net.cli
    with udp(m) as c:
        with pytest.raises(OSError) as e:
            c.setsockopt(m.IPPROTO_TCP, m.TCP_NODELAY, 1)
        assert e.value.errno == errno.ENOPROTOOPT
        with pytest.raises(OSError) as e:
            c.getsockopt(m.IPPROTO_TCP, m.TCP_NODELAY)
        assert e.value.errno == errno.EOPNOTSUPP


def test_calls_on_a_closed_datagram_socket_are_ebadf(net):
    s = udp(net.cli)
    s.close()
    for call in (lambda: s.sendto(b"x", (net.srv_ip, 9)), lambda: s.recv(1),
                 lambda: s.bind(("", 0))):
        with pytest.raises(OSError) as e:
            call()
        assert e.value.errno == errno.EBADF
