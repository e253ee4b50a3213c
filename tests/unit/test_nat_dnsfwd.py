"""The gateway's DNS forwarder (barenet_host.nat.dnsfwd) between a board stack and an upstream
name server scripted on a host UDP socket, all on 127.0.0.1 (no root): ids rewritten and
restored, SERVFAIL for a silent upstream and for a full table, stray answers dropped."""

import socket
import struct

import pytest

from barenet.loop import Loop
from barenet.stack import Stack
from barenet.wire import dns
from barenet_host.devices.udp import UDPDevice
from barenet_host.nat.dnsfwd import DNSForwarder, upstream_from_resolv_conf
from barenet_host.runner import Runner, now_ms


class World:
    def __init__(self, **kw):
        self.up = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.up.bind(("127.0.0.1", 0))
        self.up.setblocking(False)
        self.gdev = UDPDevice(0, link="ip")
        self.bdev = UDPDevice(0, link="ip")
        self.gdev.peer, self.bdev.peer = self.bdev.addr, self.gdev.addr
        self.gw = Stack("host")
        self.gw.add_interface(self.gdev, ip="192.0.2.1/24", link="ip", now_ms=now_ms())
        self.board = Stack("board")
        self.board.add_interface(self.bdev, ip="192.0.2.2/24", link="ip", now_ms=now_ms())
        self.runner = Runner(self.gw)
        self.fwd = DNSForwarder(self.gw, self.runner, self.up.getsockname(), **kw)
        self.runner.add_task(self.fwd.poll)
        loop = Loop(self.board)
        self.runner.add_task(loop.step)
        self.runner.add_fd(self.bdev.fileno(), lambda now: None)
        self.runner.add_fd(self.up.fileno(), lambda now: None)
        self.ep = self.board.udp.bind(5353)

    def close(self):
        self.fwd.close()
        self.runner.close()
        for x in (self.gdev, self.bdev, self.up):
            x.close()

    def upstream_query(self, timeout_s=3):
        """The next query upstream gets: (message, raw, sender)."""
        got = []

        def take():
            try:
                got.append(self.up.recvfrom(2048))
            except BlockingIOError:
                pass
            return bool(got)
        assert self.runner.run(until=take, timeout_s=timeout_s)
        raw, addr = got[0]
        return dns.parse(raw), raw, addr

    def board_answer(self, timeout_s=3):
        got = []
        assert self.runner.run(until=lambda: got.append(self.ep.recvfrom()) or got[-1],
                               timeout_s=timeout_s)
        return dns.parse(got[-1][0])


@pytest.fixture
def world():
    w = World(timeout_ms=300, max_pending=2)
    yield w
    w.close()


def test_query_goes_up_with_our_id_and_the_answer_comes_back_with_the_board_s(world):
    w = world
    w.ep.sendto(dns.query(0x4242, "board.test"), ("192.0.2.1", 53))
    m, raw, addr = w.upstream_query()
    assert m.questions == [("board.test", 1, 1)] and raw[2:] == dns.query(0, "board.test")[2:]
    w.up.sendto(dns.build(m.id, dns.QR | dns.RD | dns.RA, m.questions,
                          [("board.test", 1, 1, 60, bytes([192, 0, 2, 9]))]), addr)
    a = w.board_answer()
    assert a.id == 0x4242 and a.a_records("board.test") == [(bytes([192, 0, 2, 9]), 60)]
    assert w.fwd.stats == {"forwarded": 1, "answered": 1} and w.fwd.pending == {}


def test_silent_upstream_is_servfail_after_the_timeout(world):
    w = world
    w.ep.sendto(dns.query(7, "lost.test"), ("192.0.2.1", 53))
    m, _, addr = w.upstream_query()
    a = w.board_answer()
    assert (a.id, a.rcode, a.questions) == (7, dns.SERVFAIL, [("lost.test", 1, 1)])
    assert w.fwd.stats["timeout"] == 1 and w.fwd.pending == {}
    # the late answer finds nobody waiting
    w.up.sendto(dns.build(m.id, dns.QR, m.questions), addr)
    w.runner.run(until=lambda: w.fwd.stats.get("drop_upstream_unknown_id"), timeout_s=2)
    assert w.fwd.stats["drop_upstream_unknown_id"] == 1


def test_a_full_table_answers_servfail_at_once(world):
    w = world
    for i in range(3):
        w.ep.sendto(dns.query(i, "n%d.test" % i), ("192.0.2.1", 53))
    a = w.board_answer(timeout_s=0.2)     # before any timeout: the third did not fit
    assert (a.id, a.rcode) == (2, dns.SERVFAIL) and w.fwd.stats["drop_full"] == 1


def test_what_is_not_a_query_is_dropped(world):
    w = world
    w.ep.sendto(b"\x00\x01\x02", ("192.0.2.1", 53))
    w.ep.sendto(struct.pack("!HHHHHH", 1, dns.QR, 0, 0, 0, 0), ("192.0.2.1", 53))
    w.runner.run(until=lambda: w.fwd.stats.get("drop_malformed") == 2, timeout_s=2)
    assert w.fwd.stats == {"drop_malformed": 2}


def test_upstream_from_resolv_conf(tmp_path):
    p = tmp_path / "resolv.conf"
    p.write_text("# comment\nsearch example\nnameserver 2001:db8::1\nnameserver 198.51.100.53\n")
    assert upstream_from_resolv_conf(str(p)) == ("198.51.100.53", 53)
    p.write_text("nameserver ::1\n")
    with pytest.raises(ValueError, match="no IPv4 nameserver"):
        upstream_from_resolv_conf(str(p))
    with pytest.raises(ValueError, match="cannot read"):
        upstream_from_resolv_conf(str(tmp_path / "missing"))


def test_a_tcp_query_goes_up_with_edns0_and_comes_back_over_tcp(world):
    w = world
    c = w.board.tcp.connect("192.0.2.1", 53)
    q = dns.query(0x0101, "many.test")
    c.send(struct.pack("!H", len(q)) + q)
    m, raw, addr = w.upstream_query()
    # RFC 6891: one OPT record in the additional section, 4096 bytes offered
    assert m.additional == [("", 41, 4096, 0, b"")] and raw[:2] != q[:2]
    answers = [("many.test", 1, 1, 60, bytes([198, 51, 100, i])) for i in range(1, 61)]
    w.up.sendto(dns.build(m.id, dns.QR | dns.RD | dns.RA, m.questions, answers), addr)
    buf = []

    def whole():
        d = c.recv(65535)
        if d:
            buf.append(d)
        b = b"".join(buf)
        return len(b) >= 2 and len(b) >= 2 + struct.unpack("!H", b[:2])[0]
    assert w.runner.run(until=whole, timeout_s=3)
    b = b"".join(buf)
    a = dns.parse(b[2:])
    assert a.id == 0x0101 and len(a.a_records("many.test")) == 60 and len(b) > 512
    assert w.runner.run(until=lambda: c.recv(1) == b"", timeout_s=3)    # the server closes
    assert w.fwd.tcp == [] and w.fwd.stats["tcp_queries"] == 1


def test_a_tcp_connection_that_never_asks_is_dropped(world):
    w = world
    c = w.board.tcp.connect("192.0.2.1", 53)
    assert w.runner.run(until=lambda: w.fwd.stats.get("tcp_idle"), timeout_s=3)
    assert w.fwd.tcp == []
    c.abort()
