"""TCP_CONGESTION (Linux value 13) on both targets: the name set is the name read back,
NUL-padded to Linux's 16-byte field; an unknown name is ENOENT; a connection switches."""

import errno

import pytest


def test_tcp_congestion_set_read_back_and_unknown(net):
    m = net.cli
    assert m.TCP_CONGESTION == 13
    s = m.socket(m.AF_INET, m.SOCK_STREAM)
    try:
        for name in (b"reno", b"cubic"):
            s.setsockopt(m.IPPROTO_TCP, m.TCP_CONGESTION, name)
            assert s.getsockopt(m.IPPROTO_TCP, m.TCP_CONGESTION, 16) == name.ljust(16, b"\0")
            assert s.getsockopt(m.IPPROTO_TCP, m.TCP_CONGESTION, 4) == name[:4]
        s.setsockopt(m.IPPROTO_TCP, m.TCP_CONGESTION, b"reno\0junk")   # up to the NUL
        assert s.getsockopt(m.IPPROTO_TCP, m.TCP_CONGESTION, 16)[:5] == b"reno\0"
        for bad, err in ((b"newreno", errno.ENOENT), (b"CUBIC", errno.ENOENT),
                         (b"\0cubic", errno.ENOENT), (b"", errno.EINVAL)):
            with pytest.raises(OSError) as e:
                s.setsockopt(m.IPPROTO_TCP, m.TCP_CONGESTION, bad)
            assert e.value.errno == err, bad
        assert s.getsockopt(m.IPPROTO_TCP, m.TCP_CONGESTION, 16)[:5] == b"reno\0"
    finally:
        s.close()


def test_tcp_congestion_on_a_connection_and_inherited_by_accept(net):
    m = net.srv
    lst = m.socket(m.AF_INET, m.SOCK_STREAM)
    lst.setsockopt(m.SOL_SOCKET, m.SO_REUSEADDR, 1)
    lst.setsockopt(m.IPPROTO_TCP, m.TCP_CONGESTION, b"reno")
    lst.bind((net.srv_ip, 0))
    lst.listen(1)
    c = net.cli.socket(net.cli.AF_INET, net.cli.SOCK_STREAM)
    try:
        c.settimeout(2)
        c.connect((net.srv_ip, lst.getsockname()[1]))
        lst.settimeout(2)
        a, _ = lst.accept()
        assert a.getsockopt(m.IPPROTO_TCP, m.TCP_CONGESTION, 16)[:5] == b"reno\0"
        c.setsockopt(net.cli.IPPROTO_TCP, net.cli.TCP_CONGESTION, b"cubic")
        assert c.getsockopt(net.cli.IPPROTO_TCP, net.cli.TCP_CONGESTION, 16)[:6] == b"cubic\0"
        c.sendall(b"x" * 1000)
        got = b""
        while len(got) < 1000:
            got += a.recv(1000)
        if net.barenet:
            assert c._ep.info()["cc"] == "cubic" and a._ep.info()["cc"] == "reno"
        a.close()
    finally:
        c.close()
        lst.close()
