"""The DNS resolver (barenet/dns.py) and the socket layer's getaddrinfo/gethostbyname over it,
on the virtual wire against a name server whose answers scapy builds (dns_server.py).

resolv.conf(5) order (each server in turn, `attempts` rounds, `timeout` each), RFC 7766 5 (TCP
after TC), RFC 1035 7.4 (TTL cache), RFC 5452 9.1 (answers must match id and question); errors
as glibc's getaddrinfo gives them (EAI_NONAME for NXDOMAIN, EAI_NODATA, EAI_AGAIN)."""

import pytest
from hypothesis import given, settings, strategies as st

from barenet import dns, eai
from barenet.dhcp import BOUND, DHCPClient
from barenet.socket import Sockets, gaierror
from barenet_host.nat.dhcpd import DHCPServer
from barenet_host.vwire import Sim, SimDriver
from dns_server import NameServer

MANY = ["198.51.100.%d" % i for i in range(1, 61)]     # 60 A records: over 512 bytes
ZONE = {"board.test": ["192.0.2.9"], "two.test": ["192.0.2.10", "192.0.2.11"],
        "many.test": MANY, "nodata.test": "nodata", "broken.test": "servfail",
        "lossy.test": ("drop", 2)}


class World:
    def __init__(self, servers=("192.0.2.53",), zone=ZONE, **cfg):
        self.sim = sim = Sim(start_ms=(1 << 30) - 3000)
        self.wire = sim.wire()
        self.ns = NameServer(sim, self.wire, zone=zone)
        self.stack, self.iface = sim.host(self.wire, "02:00:00:00:00:02", "192.0.2.2/24", **cfg)
        self.iface.configure("192.0.2.2/24", dns=list(servers))
        self.net = Sockets(self.stack, SimDriver(sim))


def test_gethostbyname_and_getaddrinfo_resolve_over_udp_then_from_the_cache():
    w = World()
    assert w.net.gethostbyname("board.test") == "192.0.2.9"
    r = w.net.getaddrinfo("two.test", 80, w.net.AF_INET, w.net.SOCK_STREAM)
    assert r == [(2, 1, 6, "", ("192.0.2.10", 80)), (2, 1, 6, "", ("192.0.2.11", 80))]
    assert w.net.gethostbyname("Board.Test.") == "192.0.2.9"     # case and final dot
    assert w.ns.queries == [("udp", "board.test"), ("udp", "two.test")]
    assert w.stack.resolver.stats["cache_hit"] == 1


def test_the_cache_keeps_an_answer_for_its_ttl():
    w = World()
    w.net.gethostbyname("board.test")
    w.sim.advance(59000)
    w.net.gethostbyname("board.test")
    assert len(w.ns.queries) == 1
    w.sim.advance(1500)
    w.net.gethostbyname("board.test")
    assert len(w.ns.queries) == 2


def test_a_truncated_answer_is_asked_again_over_tcp():
    w = World()
    r = w.net.getaddrinfo("many.test", 443, 0, w.net.SOCK_STREAM)
    assert [a[4][0] for a in r] == MANY
    assert w.ns.queries == [("udp", "many.test"), ("tcp", "many.test")]
    assert w.stack.resolver.stats["truncated"] == 1


def test_lost_queries_are_retried_each_after_the_timeout():
    w = World(servers=("192.0.2.53",), profile="board")     # 2 attempts, 2 s each
    r = w.stack.resolver or dns.Resolver(w.stack)
    start = w.sim.ms
    q = r.lookup("lossy.test", w.sim.now)
    w.sim.run(until=lambda: q.done, max_ms=10000)
    # two tries lost, a third never made: EAI_AGAIN after 2 x 2 s
    assert q.error == dns.EAI_AGAIN and w.sim.ms - start == 4000
    w.ns.zone["lossy.test"] = ("drop", 1)
    q = r.lookup("lossy.test", w.sim.now)
    w.sim.run(until=lambda: q.done, max_ms=10000)
    assert q.error == 0 and q.addresses == [bytes([192, 0, 2, 77])]
    assert r.stats["timeout"] == 3


def test_servers_are_tried_in_turn():
    # the first server is silent (nothing at .54): the second answers after one timeout
    w = World(servers=("192.0.2.54", "192.0.2.53"), profile="board")
    start = w.sim.ms
    assert w.net.gethostbyname("board.test") == "192.0.2.9"
    assert w.sim.ms - start >= 2000


@pytest.mark.parametrize("name, code", [("nowhere.test", dns.EAI_NONAME),
                                        ("nodata.test", dns.EAI_NODATA),
                                        ("broken.test", dns.EAI_AGAIN),
                                        ("bad..name", dns.EAI_NONAME)])
def test_failures_are_gaierror_with_glibc_codes(name, code):
    w = World()
    with pytest.raises(gaierror) as e:
        w.net.getaddrinfo(name, 80)
    assert e.value.errno == code and e.value.strerror == eai.MESSAGES[code]
    assert isinstance(e.value, OSError) and w.net.gaierror is gaierror


def test_numeric_addresses_and_localhost_never_query():
    w = World()
    assert w.net.gethostbyname("192.0.2.77") == "192.0.2.77"
    assert w.net.gethostbyname("localhost") == "127.0.0.1"
    assert w.net.getaddrinfo("127.1", 7, 0, w.net.SOCK_DGRAM) == [(2, 2, 17, "", ("127.0.0.1", 7))]
    with pytest.raises(gaierror) as e:
        w.net.getaddrinfo("board.test", 80, 0, 0, 0, w.net.AI_NUMERICHOST)
    assert e.value.errno == dns.EAI_NONAME
    with pytest.raises(gaierror) as e:
        w.net.getaddrinfo("192.0.2.1", "http")
    assert e.value.errno == eai.EAI_SERVICE
    assert w.ns.queries == []


def test_no_server_is_eai_again():
    w = World(servers=())
    with pytest.raises(gaierror) as e:
        w.net.gethostbyname("board.test")
    assert e.value.errno == dns.EAI_AGAIN


def test_a_spoofed_answer_with_another_id_is_ignored():
    w = World()
    r = dns.Resolver(w.stack)
    q = r.lookup("board.test", w.sim.now)
    from barenet.wire import dns as wd
    spoof = wd.build(q.id ^ 1, wd.QR | wd.RA, [("board.test", 1, 1)],
                     [("board.test", 1, 1, 60, bytes([203, 0, 113, 66]))])
    w.ns.udp.sendto(spoof, ("192.0.2.2", r.ep.port))
    w.sim.run(until=lambda: q.done, max_ms=10000)
    assert q.addresses == [bytes([192, 0, 2, 9])] and r.stats["drop_mismatch"] == 1


def test_the_cache_is_bounded():
    zone = dict(("n%d.test" % i, ["192.0.2.%d" % (100 + i)]) for i in range(12))
    w = World(zone=zone, profile="board")                  # dns_cache 8
    for i in range(12):
        assert w.net.gethostbyname("n%d.test" % i) == "192.0.2.%d" % (100 + i)
    assert len(w.stack.resolver.cache) == 8
    lim = w.stack.limits()
    assert lim["dns_cache"] == {"limit": 8, "used": 8}
    assert lim["dns_inflight"] == {"limit": 8, "used": 0}


def test_connect_and_sendto_take_a_name():
    w = World()
    w.ns.stack.udp.bind(9, queue=4)
    s = w.net.socket(w.net.AF_INET, w.net.SOCK_DGRAM)
    s.sendto(b"hi", ("board.test", 9))      # .9 is nobody: only the resolution is checked
    zone = dict(ZONE, **{"ns.test": ["192.0.2.53"]})
    w.ns.zone = zone
    c = w.net.create_connection(("ns.test", 53), timeout=5)
    assert c.getpeername() == ("192.0.2.53", 53)
    c.close()


def test_servers_come_from_dhcp():
    sim = Sim()
    wire = sim.wire()
    ns = NameServer(sim, wire, zone=ZONE)
    srv = DHCPServer(ns.stack, "192.0.2.100", "192.0.2.110", dns="192.0.2.53")
    sim.add_task(srv.poll, ns.stack)
    from barenet.stack import Stack
    st = Stack("board")
    iface = st.add_interface(wire.nic(), mac="02:00:00:00:00:02", now_ms=sim.now)
    sim.add_stack(st)
    c = DHCPClient(st, iface)
    sim.add_task(c.poll, st)
    net = Sockets(st, SimDriver(sim))
    with pytest.raises(gaierror):
        net.gethostbyname("board.test")                    # no lease, no server yet
    assert sim.run(until=lambda: c.state == BOUND, max_ms=30000)
    assert net.gethostbyname("board.test") == "192.0.2.9"


def test_aio_resolves_without_blocking_the_event_loop():
    import asyncio
    from barenet import aio
    w = World(zone=dict(ZONE, **{"ns.test": ["192.0.2.53"], "lossy.test": ("drop", 1)}),
              profile="board")
    net = aio.Net(w.net)
    ticks = []

    async def ticker():
        # runs while the lookup waits: the event loop is not blocked
        while True:
            ticks.append(1)
            await asyncio.sleep(0)

    async def main():
        t = asyncio.create_task(ticker())
        try:
            r = await net.getaddrinfo("two.test", 80, 0, w.net.SOCK_STREAM)
            lossy = await net.getaddrinfo("lossy.test", 53)     # a timeout on the way
            with pytest.raises(gaierror) as e:
                await net.getaddrinfo("nowhere.test", 80)
            reader, writer = await net.open_connection("ns.test", 53)
            peer = writer.get_extra_info("peername")
            writer.close()
            return r, lossy, e.value.errno, peer
        finally:
            t.cancel()
            net.stop()

    r, lossy, err, peer = asyncio.run(asyncio.wait_for(main(), 30))
    assert [a[4] for a in r] == [("192.0.2.10", 80), ("192.0.2.11", 80)]
    assert {a[4] for a in lossy} == {("192.0.2.77", 53)}
    assert err == dns.EAI_NONAME and peer == ("192.0.2.53", 53)
    assert len(ticks) > 3 and net.waiting == 0


def test_lookups_in_flight_are_bounded():
    w = World(servers=("192.0.2.54",))      # nobody there: every lookup waits
    r = dns.Resolver(w.stack)
    qs = [r.lookup("n%d.test" % i, w.sim.now) for i in range(9)]
    assert [q.done for q in qs] == [False] * 8 + [True]
    assert qs[8].error == dns.EAI_AGAIN and r.stats["busy"] == 1
    assert r.lookup("n0.test", w.sim.now) is qs[0]          # the same name joins its lookup


def test_lookups_through_the_stack_thread():
    # threaded.py wakes a module-level call after every step: the answer is seen at once
    import time
    from barenet_host.threaded import RealTimeSim, StackThread
    w = World(zone=dict(ZONE, **{"ns.test": ["192.0.2.53"]}))
    drv = StackThread(RealTimeSim(w.sim))
    net = Sockets(w.stack, drv)
    with drv:
        t = time.monotonic()
        assert net.gethostbyname("board.test") == "192.0.2.9"
        c = net.create_connection(("ns.test", 53), timeout=5)
        assert c.getpeername() == ("192.0.2.53", 53)
        c.close()
        assert time.monotonic() - t < w.stack.cfg.dns_timeout_ms / 1000    # no timeout waited


_RR = st.tuples(st.sampled_from(["board.test", "x.test", ""]), st.sampled_from([1, 5, 28, 41]),
                st.sampled_from([1, 3]), st.integers(0, 2 ** 32 - 1), st.binary(max_size=8))


@given(st.integers(0, 0xFFFF), st.lists(_RR, max_size=6), st.binary(max_size=3))
@settings(max_examples=200, deadline=None)
def test_any_answer_to_our_query_leaves_the_resolver_sound(flags, answers, tail):
    # A server's answer with our id and question but any flags (TC, rcode), records of any
    # type, class and TTL, trailing bytes: nothing raises, the lookup ends (found, an EAI
    # code, or after its tries), and the cache holds only what was found
    from barenet.stack import Stack
    from barenet.wire import dns as wd
    stack = Stack("board", seed=9)
    sent = []
    iface = stack.add_interface(_Capture(sent), mac="02:00:00:00:00:02", ip="192.0.2.2/24",
                                now_ms=0)
    iface.arp.learn(bytes([192, 0, 2, 53]), b"\x02\x00\x00\x00\x00\x35", 0)
    r = dns.Resolver(stack, servers=["192.0.2.53"])
    q = r.lookup("board.test", 0)
    now = 0
    for _ in range(6):
        if q.done:
            break
        body = []
        for name, t, c, ttl, rdata in answers:
            if t == 5:
                rdata = b"\x01x\x04test\x00"
            body.append((name, t, c, ttl, rdata))
        raw = wd.build(q.id, (flags | wd.QR) & ~0x7800, [("board.test", 1, 1)], body) + tail
        stack.input(iface, _udp_frame(raw, r.ep.port), now)
        stack.poll(now)
        now += 2500
        stack.poll(now)
    assert stack.stats["stack"].get("drop_internal_error") is None, stack.last_error
    assert q.done or q.conn is not None
    if q.done and not q.error:
        assert q.addresses and all(len(a) == 4 for a in q.addresses)
    for addrs, _ in r.cache.values():
        assert addrs


class _Capture:
    link = "ethernet"
    mtu = 1500

    def __init__(self, sent):
        self.sent = sent

    def send(self, frame):
        self.sent.append(bytes(frame))

    def recv_into(self, buf):
        return 0


def _udp_frame(payload, dport):
    import struct
    from barenet.wire import ipv4
    udp = struct.pack("!HHHH", 53, dport, 8 + len(payload), 0) + payload
    ip = bytearray(20)
    ipv4.emit(ip, 0, bytes([192, 0, 2, 53]), bytes([192, 0, 2, 2]), 17, len(udp), 1)
    return bytes.fromhex("020000000002") + b"\x02\x00\x00\x00\x00\x35" + b"\x08\x00" + \
        bytes(ip) + udp
