"""AF_INET/SOCK_RAW, written once, run against the kernel's loopback (we are root) and against
barenet: datagrams of the experimental protocol 253 (RFC 3692) both ways, IP_HDRINCL, an ICMP
echo over a raw ICMP socket, the names, options and errors as Linux gives them.

On loopback a raw socket also sees what it sends (its own datagram is delivered to the host),
and an ICMP socket every ICMP message of the host: the readers below pick theirs by payload,
as a real ping does by identifier."""

import errno
import os
import struct

import pytest

EXP = 253


def inet_sum(b):
    # RFC 1071, written here rather than taken from barenet
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def raw(mod, proto=EXP):
    s = mod.socket(mod.AF_INET, mod.SOCK_RAW, proto)
    s.settimeout(5)
    return s


def recv_matching(s, pred, tries=50):
    """The first (datagram, address) that pred accepts, skipping others (bounded)."""
    for _ in range(tries):
        d, a = s.recvfrom(65535)
        if pred(d):
            return d, a
    raise AssertionError("no matching datagram in %d" % tries)


def payload(d):
    return d[(d[0] & 15) * 4:]


def marker():
    return b"barenet-raw-" + os.urandom(6).hex().encode()


def test_protocol_253_both_ways_with_the_ip_header(net):
    m = marker()
    with raw(net.srv) as srv, raw(net.cli) as cli:
        srv.bind((net.srv_ip, 0))
        assert cli.sendto(m + b" ->", (net.srv_ip, 0)) == len(m) + 3
        d, src = recv_matching(srv, lambda d: payload(d) == m + b" ->")
        assert src == (net.cli_ip, 0)
        # Linux IPv4 raw: the whole datagram, IP header first
        assert d[0] == 0x45 and d[9] == EXP and len(d) == 20 + len(m) + 3
        assert d[12:16] == bytes(map(int, net.cli_ip.split("."))) and inet_sum(d[:20]) == 0
        srv.sendto(m + b" <-", src)
        d, src = recv_matching(cli, lambda d: payload(d) == m + b" <-")
        assert src == (net.srv_ip, 0)


def test_ip_hdrincl_sends_the_callers_header(net):
    m = marker()
    s = net.cli
    with raw(net.srv) as srv, raw(s) as cli:
        assert cli.getsockopt(s.IPPROTO_IP, s.IP_HDRINCL) == 0
        cli.setsockopt(s.IPPROTO_IP, s.IP_HDRINCL, 1)
        assert cli.getsockopt(s.IPPROTO_IP, s.IP_HDRINCL) == 1
        a = lambda ip: bytes(map(int, ip.split(".")))   # noqa: E731
        h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(m), 0x4242, 0, 7, EXP, 0,
                        a(net.cli_ip), a(net.srv_ip))
        h = h[:10] + struct.pack("!H", inet_sum(h)) + h[12:]
        cli.sendto(h + m, (net.srv_ip, 0))
        d, _ = recv_matching(srv, lambda d: payload(d) == m)
        assert d[8] == 7 and d[4:6] == b"\x42\x42"       # our TTL and identification
    with raw(s, s.IPPROTO_RAW) as r:
        assert r.getsockopt(s.IPPROTO_IP, s.IP_HDRINCL) == 1   # Linux: IPPROTO_RAW sets it


def test_ping_over_a_raw_icmp_socket(net):
    s = net.cli
    ident = os.getpid() & 0xFFFF
    with raw(s, s.IPPROTO_ICMP) as icmp:
        for seq in range(3):
            msg = struct.pack("!BBHHH", 8, 0, 0, ident, seq) + b"raw ping %d" % seq
            msg = msg[:2] + struct.pack("!H", inet_sum(msg)) + msg[4:]
            icmp.sendto(msg, (net.srv_ip, 0))
            d, src = recv_matching(icmp, lambda d: payload(d)[0] == 0 and
                                   payload(d)[4:8] == struct.pack("!HH", ident, seq))
            assert src == (net.srv_ip, 0) and d[9] == 1
            assert payload(d)[8:] == b"raw ping %d" % seq and inet_sum(payload(d)) == 0


def test_names_connect_and_send(net):
    m = marker()
    with raw(net.srv) as srv, raw(net.cli) as cli:
        assert cli.getsockname() == ("0.0.0.0", EXP)      # Linux: the protocol as the port
        with pytest.raises(OSError) as e:
            cli.getpeername()
        assert e.value.errno == errno.ENOTCONN
        with pytest.raises(OSError) as e:
            cli.send(b"x")
        assert e.value.errno == errno.EDESTADDRREQ
        with pytest.raises(OSError) as e:
            cli.shutdown(net.cli.SHUT_WR)
        assert e.value.errno == errno.ENOTCONN
        cli.connect((net.srv_ip, 0))
        assert cli.getsockname() == (net.cli_ip, EXP)    # the route's source
        with pytest.raises(OSError) as e:
            cli.getpeername()                             # Linux: port 0 reads as unconnected
        assert e.value.errno == errno.ENOTCONN
        cli.connect((net.srv_ip, 9))
        assert cli.getpeername() == (net.srv_ip, 9)
        srv.bind((net.srv_ip, 0))
        assert srv.getsockname() == (net.srv_ip, EXP)
        cli.send(m)
        recv_matching(srv, lambda d: payload(d) == m)
        cli.shutdown(net.cli.SHUT_RDWR)


def test_peek_truncation_nonblocking_timeout_and_poll(net):
    m = marker()
    with raw(net.srv) as srv, raw(net.cli) as cli:
        srv.bind((net.srv_ip, 0))
        srv.setblocking(False)
        with pytest.raises(BlockingIOError):
            while True:       # drain what other raw users of 253 left (loopback), bounded
                srv.recv(65535)
        assert net.wait(srv, 0x1 | 0x4, 0) == 0x4
        cli.sendto(m, (net.srv_ip, 0))
        assert net.wait(srv, 0x1, 2) == 0x1
        srv.settimeout(5)
        d, _ = recv_matching(srv, lambda d: payload(d) == m)
        cli.sendto(m, (net.srv_ip, 0))
        net.settle()
        peeked = srv.recv(65535, net.srv.MSG_PEEK)
        assert srv.recv(65535) == peeked
        cli.sendto(m, (net.srv_ip, 0))
        net.settle()
        buf = bytearray(10)
        assert srv.recv_into(buf) == 10 and buf[:4] == d[:4]     # the rest is dropped
        srv.setblocking(True)     # (CPython's timeout mode would wait despite MSG_DONTWAIT)
        with pytest.raises(BlockingIOError):
            srv.recv(100, net.srv.MSG_DONTWAIT)
        srv.settimeout(0.2)
        with pytest.raises(TimeoutError):
            srv.recvfrom(100)


def test_bad_protocols_and_addresses(net):
    s = net.cli
    with pytest.raises(OSError) as e:
        s.socket(s.AF_INET, s.SOCK_RAW, 0)
    assert e.value.errno == errno.EPROTONOSUPPORT
    with raw(s) as r:
        with pytest.raises(TypeError):
            r.sendto(b"x", "not a tuple")
        with pytest.raises(OSError) as e:
            r.bind(("192.0.2.200", 0) if net.barenet else ("203.0.113.9", 0))
        assert e.value.errno == errno.EADDRNOTAVAIL
        r.close()
        with pytest.raises(OSError) as e:
            r.sendto(b"x", (net.srv_ip, 0))
        assert e.value.errno == errno.EBADF
