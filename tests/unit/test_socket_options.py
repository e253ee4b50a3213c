"""Options that the two-target tests (tests/sockets) can only read back: on barenet they must
also reach the endpoint and the wire. IP_TTL in the IP header of what UDP and TCP send,
TCP_NODELAY, SO_OOBINLINE and SO_KEEPALIVE with its tuning on the TCB, inherited by accept()."""

import errno

import pytest

from barenet.socket import Sockets, IPPROTO_IP, IP_TTL, IPPROTO_TCP, TCP_NODELAY, SOL_SOCKET, \
    SO_KEEPALIVE, SO_OOBINLINE, TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT, SOCK_DGRAM, AF_INET
from barenet_host.vwire import Sim, SimDriver


class Sniffer:
    def __init__(self):
        self.frames = []

    def write(self, frame, now_ms):
        self.frames.append(bytes(frame))


def world():
    sim = Sim()
    sniff = Sniffer()
    wire = sim.wire(pcap=sniff)
    a, _ = sim.host(wire, "02:00:00:00:00:01", "192.0.2.1/24")
    b, _ = sim.host(wire, "02:00:00:00:00:02", "192.0.2.2/24")
    drv = SimDriver(sim)
    return sim, sniff, Sockets(a, drv), Sockets(b, drv)


def ttls(frames, proto, src):
    # Ethernet (14) + IPv4: TTL at 8, protocol at 9, source at 12..16
    return {f[14 + 8] for f in frames if len(f) > 34 and f[12:14] == b"\x08\x00" and
            f[14 + 9] == proto and f[14 + 12:14 + 16] == bytes(src)}


def test_ip_ttl_reaches_the_header_of_udp_and_tcp_segments():
    sim, sniff, srv, cli = world()
    u = cli.socket(AF_INET, SOCK_DGRAM)
    u.setsockopt(IPPROTO_IP, IP_TTL, 7)
    v = srv.socket(AF_INET, SOCK_DGRAM)
    v.bind(("192.0.2.1", 9))
    v.settimeout(5)
    u.sendto(b"x", ("192.0.2.1", 9))
    v.recv(10)
    assert ttls(sniff.frames, 17, (192, 0, 2, 2)) == {7}
    lst = srv.socket()
    lst.bind(("192.0.2.1", 80))
    lst.listen()
    c = cli.socket()
    c.setsockopt(IPPROTO_IP, IP_TTL, 9)
    c.settimeout(5)
    c.connect(("192.0.2.1", 80))      # set before connect: the SYN carries it too
    c.sendall(b"data")
    a, _ = lst.accept()
    a.settimeout(5)
    assert a.recv(10) == b"data"
    assert ttls(sniff.frames, 6, (192, 0, 2, 2)) == {9}
    assert ttls(sniff.frames, 6, (192, 0, 2, 1)) == {64}    # the default, cfg.ttl


def test_tcp_options_reach_the_tcb_and_accept_inherits_them():
    sim, sniff, srv, cli = world()
    lst = srv.socket()
    lst.setsockopt(IPPROTO_TCP, TCP_NODELAY, 1)
    lst.setsockopt(SOL_SOCKET, SO_OOBINLINE, 1)
    lst.setsockopt(IPPROTO_TCP, TCP_KEEPIDLE, 30)
    lst.setsockopt(IPPROTO_TCP, TCP_KEEPINTVL, 5)
    lst.setsockopt(IPPROTO_TCP, TCP_KEEPCNT, 2)
    lst.setsockopt(SOL_SOCKET, SO_KEEPALIVE, 1)
    lst.bind(("192.0.2.1", 80))
    lst.listen()
    c = cli.socket()
    c.settimeout(5)
    c.connect(("192.0.2.1", 80))
    assert not c._ep.nodelay and c._ep.keep_idle == 0
    a, _ = lst.accept()
    t = a._ep
    assert t.nodelay and t.oobinline
    assert (t.keep_idle, t.keep_intvl, t.keep_cnt) == (30000, 5000, 2)
    a.setsockopt(SOL_SOCKET, SO_KEEPALIVE, 0)
    assert t.keep_idle == 0
    c.setsockopt(IPPROTO_TCP, TCP_NODELAY, 1)
    assert c._ep.nodelay


def connected(opts):
    """A client socket with opts ((level, name, value) each) connected to a listener on the
    other stack, which accepted it -> (sim, the server's Sockets, the client socket)."""
    sim, sniff, srv, cli = world()
    lst = srv.socket()
    lst.bind(("192.0.2.1", 80))
    lst.listen()
    c = cli.socket()
    for level, name, value in opts:
        c.setsockopt(level, name, value)
    c.settimeout(5)
    c.connect(("192.0.2.1", 80))
    lst.accept()
    return sim, srv, c


def vanish(srv):
    # the server's stack stops answering: its wire port is gone
    srv.stack.interfaces[0].nic.wire.nics.remove(srv.stack.interfaces[0].nic)


def test_keepalive_finds_a_peer_that_vanished():
    # The peer's stack stops answering (its wire port is gone): after idle + cnt * intvl
    # the connection fails with ETIMEDOUT, and a blocking recv reports it (RFC 9293 3.8.4).
    sim, srv, c = connected(((IPPROTO_TCP, TCP_KEEPIDLE, 10), (IPPROTO_TCP, TCP_KEEPINTVL, 2),
                             (IPPROTO_TCP, TCP_KEEPCNT, 3), (SOL_SOCKET, SO_KEEPALIVE, 1)))
    vanish(srv)
    c.settimeout(60)
    t0 = sim.ms
    with pytest.raises(TimeoutError) as e:
        c.recv(10)
    # errno ETIMEDOUT: the connection's (CPython makes that a TimeoutError too); the
    # socket's own timeout would have errno None
    assert e.value.errno == errno.ETIMEDOUT
    assert 10000 + 3 * 2000 <= sim.ms - t0 < 30000


def test_user_timeout_through_the_socket_api_aborts_unacknowledged_data():
    # TCP_USER_TIMEOUT in ms as Linux's (RFC 5482): the peer vanishes, and the blocked recv
    # fails with ETIMEDOUT after 2.5 s, long before the retry count (15) would give up
    from barenet.socket import TCP_USER_TIMEOUT
    sim, srv, c = connected(())
    with pytest.raises(OSError) as e:
        c.setsockopt(IPPROTO_TCP, TCP_USER_TIMEOUT, -1)
    assert e.value.errno == errno.EINVAL
    c.setsockopt(IPPROTO_TCP, TCP_USER_TIMEOUT, 2500)
    assert c.getsockopt(IPPROTO_TCP, TCP_USER_TIMEOUT) == 2500 and c._ep.user_timeout == 2500
    vanish(srv)
    t0 = sim.ms
    c.send(b"w" * 100)
    with pytest.raises(OSError) as e:
        c.recv(10)
    assert e.value.errno == errno.ETIMEDOUT
    assert 2500 <= sim.ms - t0 < 3500          # the retries alone: minutes
