"""Every table is bounded, and a full one says so: endpoints beyond the limit raise ENOBUFS, a
full UDP receive queue drops and counts what does not fit, and a send that cannot be queued
raises instead of vanishing."""

import pytest

from barenet.compat import ENOBUFS
from barenet.stack import Stack
from iplink import IPLink, frame, src
from peer import PEER_IP, ListNIC, setup


def udp_to(port, data):
    n = 8 + len(data)
    return bytes([0, 5, port >> 8, port & 0xFF, n >> 8, n & 0xFF, 0, 0]) + data


def test_udp_endpoints_beyond_the_limit_raise_enobufs_and_a_close_frees_one():
    s = Stack("board", udp_endpoints=3)
    eps = [s.udp.bind(0) for _ in range(3)]
    with pytest.raises(OSError) as e:
        s.udp.bind(0)
    assert e.value.args[0] == ENOBUFS
    eps[0].close()
    s.udp.bind(5353)


def test_a_full_udp_queue_drops_and_counts_and_keeps_what_it_holds():
    t = IPLink()
    ep = t.stack.udp.bind(7000, queue=3)
    for i in range(5):
        t.feed(frame(src(0), i, 0, udp_to(7000, b"d%d" % i), False))
    assert t.count("udp", "drop_queue_full") == 2
    got = [ep.recvfrom()[0] for _ in range(3)]
    assert got == [b"d0", b"d1", b"d2"] and ep.recvfrom() is None
    t.feed(frame(src(0), 9, 0, udp_to(7000, b"again"), False))
    assert ep.recvfrom()[0] == b"again"  # room again once read


def test_a_send_arp_cannot_queue_raises_enobufs_and_is_counted():
    sim, stack, iface, peer = setup(arp_queue_bytes=100)  # nobody answers ARP
    ep = stack.udp.bind(4000)
    ep.sendto(b"x" * 50, (PEER_IP, 9))   # queued while the peer's MAC is resolved
    with pytest.raises(OSError) as e:
        ep.sendto(b"y" * 50, (PEER_IP, 9))
    assert e.value.args[0] == ENOBUFS
    assert stack.stats["udp"]["tx_error"] == 1 and stack.stats["udp"]["tx"] == 1


def test_tcp_connect_beyond_max_connections_raises_enobufs():
    s = Stack("board", max_connections=2)
    s.add_interface(ListNIC(), link="ip", ip="192.0.2.2/24")
    s.tcp.connect("192.0.2.1", 80)
    s.tcp.connect("192.0.2.1", 81)
    with pytest.raises(OSError) as e:
        s.tcp.connect("192.0.2.1", 82)
    assert e.value.args[0] == ENOBUFS


def test_tcp_listeners_are_bounded_and_backlogs_capped_at_somaxconn():
    s = Stack("board", max_listeners=2, somaxconn=5)
    big = s.tcp.listen(80, backlog=10 ** 9)
    assert big.backlog == 5
    s.tcp.listen(81)
    with pytest.raises(OSError) as e:
        s.tcp.listen(82)
    assert e.value.args[0] == ENOBUFS
    big.close()
    s.tcp.listen(82)
