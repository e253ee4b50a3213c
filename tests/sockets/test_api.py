"""The module-level surface, written once, run against CPython's socket and barenet's: constants,
errors, address helpers, getaddrinfo, socket() arguments and the options table."""

import errno

import pytest

NAMES = ("AF_INET", "SOCK_STREAM", "SOCK_DGRAM", "IPPROTO_IP", "IPPROTO_TCP", "IPPROTO_UDP",
         "SOL_SOCKET", "SO_REUSEADDR", "SO_ERROR", "SO_BROADCAST", "SO_SNDBUF", "SO_RCVBUF",
         "SO_KEEPALIVE", "SO_OOBINLINE", "TCP_NODELAY", "TCP_KEEPIDLE", "TCP_KEEPINTVL",
         "TCP_KEEPCNT", "IP_TTL", "MSG_OOB", "MSG_PEEK", "MSG_DONTWAIT", "MSG_WAITALL",
         "SHUT_RD", "SHUT_WR", "SHUT_RDWR")


def test_constants_have_linux_values(net):
    import socket as kernel
    for n in NAMES:
        assert int(getattr(net.cli, n)) == int(getattr(kernel, n)), n


def test_error_and_timeout_classes(net):
    assert net.cli.error is OSError
    assert issubclass(net.cli.timeout, OSError)
    assert net.cli.timeout is TimeoutError


def test_inet_helpers(net):
    m = net.cli
    assert m.inet_aton("192.0.2.1") == b"\xc0\x00\x02\x01"
    assert m.inet_ntoa(b"\xc0\x00\x02\x01") == "192.0.2.1"
    assert m.inet_pton(m.AF_INET, "203.0.113.7") == b"\xcb\x00\x71\x07"
    assert m.inet_ntop(m.AF_INET, b"\xcb\x00\x71\x07") == "203.0.113.7"
    for bad in ("1.2.3.256", "a.b.c.d", ""):
        with pytest.raises(OSError):
            m.inet_aton(bad)
        with pytest.raises(OSError):
            m.inet_pton(m.AF_INET, bad)
    # inet_aton(3)'s older forms, which CPython passes to the C library; inet_pton is strict
    for legacy, packed in (("127.1", b"\x7f\0\0\x01"), ("1", b"\0\0\0\x01"),
                           ("0x7f.1", b"\x7f\0\0\x01"), ("0177.0.0.1", b"\x7f\0\0\x01"),
                           ("1.2.65535", b"\x01\x02\xff\xff"), ("4294967295", b"\xff" * 4),
                           ("1.2.3.4 junk", b"\x01\x02\x03\x04")):
        assert m.inet_aton(legacy) == packed
        with pytest.raises(OSError):
            m.inet_pton(m.AF_INET, legacy)
    for bad in ("1.2.3.4x", "4294967296", "1..2", "0x", "08", "1.2.3.4.5", "256.1"):
        with pytest.raises(OSError):
            m.inet_aton(bad)
    with pytest.raises(OSError):
        m.inet_pton(m.AF_INET, "01.2.3.4")
    with pytest.raises(OSError):
        m.inet_ntoa(b"123")
    with pytest.raises(ValueError):
        m.inet_ntop(m.AF_INET, b"123")


def test_getaddrinfo_numeric(net):
    m = net.cli
    r = m.getaddrinfo("192.0.2.1", 80, m.AF_INET, m.SOCK_STREAM)
    assert [(int(f), int(t), p, c, a) for f, t, p, c, a in r] == \
        [(2, 1, 6, "", ("192.0.2.1", 80))]
    r = m.getaddrinfo("192.0.2.1", "53", m.AF_INET, m.SOCK_DGRAM)
    assert [(int(t), p, a) for f, t, p, c, a in r] == [(2, 17, ("192.0.2.1", 53))]
    assert m.gethostbyname("198.51.100.3") == "198.51.100.3"


def test_getaddrinfo_localhost_and_errors(net):
    # No name server is involved: localhost never leaves the host (RFC 6761 6.3), and
    # these errors come before any query, as gaierror with glibc's EAI codes
    m = net.cli
    r = m.getaddrinfo("localhost", 80, m.AF_INET, m.SOCK_STREAM)
    assert [(int(f), int(t), p, c, a) for f, t, p, c, a in r] == \
        [(2, 1, 6, "", ("127.0.0.1", 80))]
    assert m.gethostbyname("localhost") == "127.0.0.1"
    with pytest.raises(m.gaierror) as e:
        m.getaddrinfo("board.test", 80, 0, 0, 0, m.AI_NUMERICHOST)
    assert (e.value.errno, e.value.strerror) == (-2, "Name or service not known")
    with pytest.raises(m.gaierror) as e:
        m.getaddrinfo("127.0.0.1", 80, 99)
    assert (e.value.errno, e.value.strerror) == (-6, "ai_family not supported")
    assert issubclass(m.gaierror, OSError)


def test_socket_arguments(net):
    m = net.cli
    with m.socket() as s:
        assert (int(s.family), int(s.type)) == (2, 1)
    with m.socket(m.AF_INET, m.SOCK_DGRAM, m.IPPROTO_UDP) as s:
        assert int(s.type) == 2
    with pytest.raises(OSError) as e:
        m.socket(m.AF_INET, m.SOCK_STREAM, m.IPPROTO_UDP)
    assert e.value.errno == errno.EPROTONOSUPPORT


@pytest.mark.parametrize("kind", ["stream", "dgram"])
def test_boolean_options_read_back_as_0_or_1(net, kind):
    m = net.cli
    opts = [(m.SOL_SOCKET, m.SO_REUSEADDR), (m.SOL_SOCKET, m.SO_KEEPALIVE),
            (m.SOL_SOCKET, m.SO_BROADCAST), (m.SOL_SOCKET, m.SO_OOBINLINE)]
    if kind == "stream":
        opts.append((m.IPPROTO_TCP, m.TCP_NODELAY))
    with m.socket(m.AF_INET, m.SOCK_STREAM if kind == "stream" else m.SOCK_DGRAM) as s:
        for level, name in opts:
            assert s.getsockopt(level, name) == 0
            s.setsockopt(level, name, 5)
            assert s.getsockopt(level, name) == 1
            s.setsockopt(level, name, 0)
            assert s.getsockopt(level, name) == 0


def test_keepalive_tuning_defaults_limits_and_read_back(net):
    m = net.cli
    with m.socket() as s:
        assert [s.getsockopt(m.IPPROTO_TCP, o) for o in
                (m.TCP_KEEPIDLE, m.TCP_KEEPINTVL, m.TCP_KEEPCNT)] == [7200, 75, 9]
        s.setsockopt(m.IPPROTO_TCP, m.TCP_KEEPIDLE, 30)
        s.setsockopt(m.IPPROTO_TCP, m.TCP_KEEPINTVL, 32767)
        s.setsockopt(m.IPPROTO_TCP, m.TCP_KEEPCNT, 3)
        assert [s.getsockopt(m.IPPROTO_TCP, o) for o in
                (m.TCP_KEEPIDLE, m.TCP_KEEPINTVL, m.TCP_KEEPCNT)] == [30, 32767, 3]
        for o, v in ((m.TCP_KEEPIDLE, 0), (m.TCP_KEEPIDLE, 32768), (m.TCP_KEEPCNT, 128)):
            with pytest.raises(OSError) as e:
                s.setsockopt(m.IPPROTO_TCP, o, v)
            assert e.value.errno == errno.EINVAL


def test_ip_ttl(net):
    m = net.cli
    with m.socket() as s:
        assert s.getsockopt(m.IPPROTO_IP, m.IP_TTL) == 64
        s.setsockopt(m.IPPROTO_IP, m.IP_TTL, 5)
        assert s.getsockopt(m.IPPROTO_IP, m.IP_TTL) == 5
        s.setsockopt(m.IPPROTO_IP, m.IP_TTL, -1)        # Linux: back to the default
        assert s.getsockopt(m.IPPROTO_IP, m.IP_TTL) == 64
        for v in (0, 256):
            with pytest.raises(OSError) as e:
                s.setsockopt(m.IPPROTO_IP, m.IP_TTL, v)
            assert e.value.errno == errno.EINVAL


def test_buffer_sizes_read_back_positive(net):
    m = net.cli
    for t in (m.SOCK_STREAM, m.SOCK_DGRAM):
        with m.socket(m.AF_INET, t) as s:
            assert s.getsockopt(m.SOL_SOCKET, m.SO_RCVBUF) > 0
            assert s.getsockopt(m.SOL_SOCKET, m.SO_SNDBUF) > 0
            s.setsockopt(m.SOL_SOCKET, m.SO_RCVBUF, 8192)    # accepted


def test_so_error_is_read_only_and_unknown_options_are_enoprotoopt(net):
    m = net.cli
    with m.socket() as s:
        assert s.getsockopt(m.SOL_SOCKET, m.SO_ERROR) == 0
        for level, name in ((m.SOL_SOCKET, m.SO_ERROR), (m.SOL_SOCKET, 999)):
            with pytest.raises(OSError) as e:
                s.setsockopt(level, name, 1)
            assert e.value.errno == errno.ENOPROTOOPT


def test_shutdown_how_is_checked(net):
    with net.cli.socket() as s:
        with pytest.raises(OSError) as e:
            s.shutdown(5)
        assert e.value.errno == errno.EINVAL
