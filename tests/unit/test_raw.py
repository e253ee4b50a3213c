"""Raw IP endpoints (barenet/raw.py, raw(7)): copies of every datagram of a protocol with its IP
header, after reassembly, while TCP/UDP/ICMP go on as usual; the bind/connect filters of
Linux's raw_v4_match; sending with the stack's header or the caller's (IP_HDRINCL); bounded
queues and table; ICMP errors. On the virtual wire (vwire.Sim): two barenet stacks, or one and
a scripted peer whose frames scapy builds and decodes."""

import struct

import pytest
from hypothesis import given, settings, strategies as st
from scapy.layers.inet import ICMP, IP, TCP, UDP, defragment, fragment
from scapy.layers.l2 import Ether
from scapy.packet import Raw as Payload
from scapy.utils import checksum as inet_sum  # RFC 1071, an independent implementation

from barenet.compat import (EADDRNOTAVAIL, EBADF, EDESTADDRREQ, EINVAL, EMSGSIZE, ENOBUFS,
                            ENOPROTOOPT, EPROTO, EPROTONOSUPPORT)
from barenet.raw import IPPROTO_RAW, matches
from barenet.wire import ipv4
from peer import PEER_IP, PEER_MAC, STACK_IP, STACK_MAC, setup

OTHER_MAC = "02:00:00:00:00:03"
OTHER_IP = "192.0.2.3"


def eth(pkt, dst=STACK_MAC):
    return Ether(dst=dst, src=PEER_MAC) / pkt


def echo_request(ident, seq, data):
    msg = struct.pack("!BBHHH", 8, 0, 0, ident, seq) + data
    return msg[:2] + struct.pack("!H", inet_sum(msg)) + msg[4:]


def drain(ep):
    return [ep.recvfrom() for _ in range(ep.pending())]


def sent(sim, peer):
    """Run; answer the stack's ARP requests; -> the IP frames it sent (decoded by scapy)."""
    sim.run(max_ms=1)
    out = []
    for f in peer.take():
        if IP in f:
            out.append(f)
        else:
            peer.reply_arp([f])
    sim.run(max_ms=10)
    return out + peer.ip_frames()


def two_stacks(**kw):
    """(sim, a, b): barenet 192.0.2.2 and 192.0.2.3 on one wire."""
    from barenet_host.vwire import Sim

    sim = Sim()
    wire = sim.wire()
    a, _ = sim.host(wire, STACK_MAC, STACK_IP + "/24", **kw)
    b, _ = sim.host(wire, OTHER_MAC, OTHER_IP + "/24", **kw)
    sim.run(max_ms=1)
    return sim, a, b


def no_internal_errors(*stacks):
    for s in stacks:
        assert s.stats["stack"].get("drop_internal_error", 0) == 0, s.last_error


def test_a_ping_written_against_a_raw_icmp_endpoint():
    sim, a, b = two_stacks()
    ep = a.raw.open(1)
    seen = b.raw.open(1)  # b answers with its ICMP layer and still shows the request
    assert ep.sendto(echo_request(0x4242, 7, b"ping!"), (OTHER_IP, 0)) == 13
    assert sim.run(until=ep.pending, max_ms=5000)
    (d, addr), = drain(ep)
    assert addr == (OTHER_IP, 0)
    h, payload = ipv4.parse(memoryview(d))  # the IP header comes first, checksum valid
    assert (h.proto, h.src, h.dst, h.total_len) == (1, bytes([192, 0, 2, 3]), bytes([192, 0, 2, 2]), len(d))
    typ, code, csum, ident, seq = struct.unpack("!BBHHH", payload[:8])
    assert (typ, code, ident, seq, bytes(payload[8:])) == (0, 0, 0x4242, 7, b"ping!")
    assert inet_sum(bytes(payload)) == 0
    (req, raddr), = drain(seen)
    assert raddr == (STACK_IP, 0) and req[9] == 1 and req[20] == 8
    assert b.stats["icmp"]["tx_echo_reply"] == 1
    # a's ICMP layer saw the reply as well, for no echo endpoint of its own
    assert a.stats["icmp"]["drop_no_endpoint"] == 1
    assert a.stats["raw"]["tx"] == 1 and a.stats["raw"]["rx"] == 1
    no_internal_errors(a, b)


def test_copies_of_udp_and_icmp_errors_while_the_layers_go_on():
    sim, stack, iface, peer = setup()
    udp_copy = stack.raw.open(17)
    icmp_copy = stack.raw.open(1)
    port = stack.udp.bind(9)
    peer.send(eth(IP(src=PEER_IP, dst=STACK_IP) / UDP(sport=7, dport=9) / b"to nine"))
    peer.send(eth(IP(src=PEER_IP, dst=STACK_IP) / UDP(sport=7, dport=10) / b"closed"))
    frames = sent(sim, peer)
    assert port.recvfrom() == (b"to nine", (PEER_IP, 7))
    got = [IP(d) for d, _ in drain(udp_copy)]
    assert [bytes(g[UDP].payload) for g in got] == [b"to nine", b"closed"]
    assert stack.stats["udp"]["drop_no_port"] == 1  # UDP still answered the closed port
    unreach = [f for f in frames if ICMP in f]
    assert len(unreach) == 1 and unreach[0][ICMP].type == 3 and unreach[0][ICMP].code == 3
    # an ICMP error from the peer about a datagram we sent: its raw copy, and UDP's errno
    quoted = IP(src=STACK_IP, dst=PEER_IP) / UDP(sport=9, dport=53) / b"q"
    peer.send(eth(IP(src=PEER_IP, dst=STACK_IP) / ICMP(type=3, code=3) / bytes(quoted)))
    sim.run(max_ms=1)
    (d, addr), = drain(icmp_copy)
    assert addr == (PEER_IP, 0) and IP(d)[ICMP].type == 3 and IP(d)[ICMP].code == 3
    with pytest.raises(ConnectionRefusedError):
        port.recvfrom()


def test_protocol_253_reaches_raw_endpoints_only_and_draws_no_unreachable_when_taken():
    sim, stack, iface, peer = setup()
    exp = IP(src=PEER_IP, dst=STACK_IP, proto=253) / b"RFC 3692 experiment"
    peer.send(eth(exp))
    (u,) = [f for f in sent(sim, peer) if ICMP in f]  # nobody speaks 253: unreachable
    assert (u[ICMP].type, u[ICMP].code) == (3, 2)
    assert stack.stats["ip"]["drop_proto"] == 1
    ep = stack.raw.open(253, queue=1)
    peer.send(eth(exp))
    peer.send(eth(exp))  # the queue holds one: the second is dropped, still "taken"
    sim.run(max_ms=1)
    assert [f for f in peer.ip_frames() if ICMP in f] == []
    (d, addr), = drain(ep)
    assert bytes(IP(d).payload) == b"RFC 3692 experiment" and addr == (PEER_IP, 0)
    assert stack.stats["raw"]["drop_queue_full"] == 1
    assert stack.stats["ip"]["drop_proto"] == 1
    # an endpoint whose filter does not take it is no endpoint: the unreachable is back
    ep.connect("192.0.2.77")
    peer.send(eth(exp))
    sim.run(max_ms=1)
    assert len([f for f in peer.ip_frames() if ICMP in f]) == 1
    assert stack.stats["raw"]["rx_unmatched"] == 1
    no_internal_errors(stack)


def test_253_both_ways_between_two_stacks_with_the_stack_header_and_options():
    sim, a, b = two_stacks()
    ea = a.raw.open(253)
    eb = b.raw.open(253)
    ea.ttl = 9
    ea.tos = 0x10
    ea.sendto(b"from a", (OTHER_IP, 0))
    assert sim.run(until=eb.pending, max_ms=5000)
    (d, addr), = drain(eb)
    h = IP(d)
    assert (h.proto, h.ttl, h.tos, bytes(h.payload), addr) == (253, 9, 0x10, b"from a", (STACK_IP, 0))
    eb.connect((STACK_IP, 0))
    eb.send(b"from b")
    assert sim.run(until=ea.pending, max_ms=5000)
    (d, addr), = drain(ea)
    assert (IP(d).ttl, bytes(IP(d).payload), addr) == (64, b"from b", (OTHER_IP, 0))


def test_fragmented_datagrams_are_reassembled_before_delivery_and_big_sends_fragment():
    sim, stack, iface, peer = setup()
    ep = stack.raw.open(253)
    body = bytes(range(256)) * 12
    frags = fragment(IP(src=PEER_IP, dst=STACK_IP, proto=253, id=77) / body, fragsize=1000)
    assert len(frags) == 4
    for f in reversed(frags):
        peer.send(eth(f))
    sim.run(max_ms=1)
    (d, addr), = drain(ep)
    h = IP(d)
    assert (h.len, h.flags, h.frag, bytes(h.payload)) == (20 + len(body), 0, 0, body)
    # sending: fragmented as any datagram (RFC 791 3.2), which scapy puts back together
    ep.sendto(body, PEER_IP)
    out = [f[IP] for f in sent(sim, peer)]
    assert len(out) == 3
    whole, = defragment(out)
    assert whole.proto == 253 and bytes(whole.payload) == body


def test_hdrincl_sends_the_callers_header_filled_in_as_linux():
    sim, stack, iface, peer = setup()
    ep = stack.raw.open(253)
    ep.hdrincl = True
    # zero source, ident, length and checksum: the stack fills them; TTL, TOS, DF are ours
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0x20, 0, 0, 0x4000, 3, 254, 0, bytes(4),
                      bytes([192, 0, 2, 1]))
    ep.sendto(hdr + b"own header", (PEER_IP, 0))
    (f,) = sent(sim, peer)
    h = f[IP]
    raw_hdr = bytes(h)[:20]
    assert (h.src, h.dst, h.proto, h.ttl, h.tos, h.flags, h.len) == (STACK_IP, PEER_IP, 254, 3, 0x20, 2, 30)
    assert h.id != 0 and inet_sum(raw_hdr) == 0 and bytes(h.payload) == b"own header"
    # a source and an ident given are kept
    hdr2 = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 999, 0x1234, 0, 64, 253, 0xBEEF,
                       bytes([192, 0, 2, 2]), bytes([192, 0, 2, 1]))
    ep.sendto(hdr2 + b"x", PEER_IP)
    sim.run(max_ms=1)
    (f,) = peer.ip_frames()
    assert (f[IP].id, f[IP].len, inet_sum(bytes(f[IP])[:20])) == (0x1234, 21, 0)
    assert stack.stats["raw"]["tx_hdrincl"] == 2
    for bad in (b"\x45\0", b"\x44" + bytes(30), b"\x4f" + bytes(30)):
        with pytest.raises(OSError) as e:
            ep.sendto(bad, PEER_IP)
        assert e.value.errno == EINVAL
    with pytest.raises(OSError) as e:  # never fragmented (Linux: EMSGSIZE beyond the MTU)
        ep.sendto(hdr + bytes(1481), PEER_IP)
    assert e.value.errno == EMSGSIZE
    assert stack.stats["raw"]["tx_error"] == 4
    assert stack.raw.open(IPPROTO_RAW).hdrincl  # raw(7): IPPROTO_RAW implies IP_HDRINCL


def test_loopback_hdrincl_and_own_datagrams_come_back():
    sim, stack, iface, peer = setup()
    ep = stack.raw.open(255)
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 0, 0, 0, 9, 255, 0, bytes(4), bytes([192, 0, 2, 2]))
    ep.sendto(hdr + b"me", STACK_IP)
    ep.hdrincl = False
    ep.sendto(b"me too", "127.0.0.1")
    sim.run(max_ms=1)
    got = [(IP(d).src, IP(d).dst, IP(d).ttl, bytes(IP(d).payload)) for d, _ in drain(ep)]
    assert got == [(STACK_IP, STACK_IP, 9, b"me"), ("127.0.0.1", "127.0.0.1", 64, b"me too")]
    assert peer.ip_frames() == []


def test_connected_endpoints_get_hard_icmp_errors_as_linux_raw_err():
    sim, stack, iface, peer = setup()
    loose = stack.raw.open(253)
    tied = stack.raw.open(253)
    tied.connect(PEER_IP)
    assert tied.laddr == bytes([192, 0, 2, 2])  # connect chose the route's source
    quoted = bytes(IP(src=STACK_IP, dst=PEER_IP, proto=253) / b"12345678")
    peer.send(eth(IP(src=PEER_IP, dst=STACK_IP) / ICMP(type=11, code=0) / quoted))  # soft
    peer.send(eth(IP(src=PEER_IP, dst=STACK_IP) / ICMP(type=3, code=2) / quoted))   # hard
    sim.run(max_ms=1)
    assert loose.recvfrom() is None
    with pytest.raises(OSError) as e:
        tied.recvfrom()
    assert e.value.errno == ENOPROTOOPT  # Linux icmp_err_convert[ICMP_PROT_UNREACH]
    assert tied.recvfrom() is None and stack.stats["raw"]["rx_icmp_error"] == 1
    assert stack.stats["icmp"]["rx_error"] == 2  # a raw endpoint owns 253: not "no handler"
    tied.disconnect()
    assert tied.laddr == bytes(4) and tied.raddr == bytes(4)
    tied.connect(("0.0.0.0", 0))  # this host, as on Linux
    assert tied.laddr == tied.raddr == bytes([127, 0, 0, 1])
    tied.disconnect()
    tied.bind(STACK_IP)
    tied.connect("0.0.0.0")
    tied.disconnect()  # a bound address stays
    assert tied.laddr == bytes([192, 0, 2, 2]) and tied.raddr == bytes(4)


def test_misuse_raises_the_runtimes_errors_and_the_table_is_bounded():
    sim, stack, iface, peer = setup(raw_endpoints=3, raw_queue=2)
    for proto, err in ((0, EPROTONOSUPPORT), (256, EINVAL), (-1, EINVAL)):
        with pytest.raises(OSError) as e:
            stack.raw.open(proto)
        assert e.value.errno == err
    eps = [stack.raw.open(p) for p in (1, 253, 253)]
    with pytest.raises(OSError) as e:
        stack.raw.open(17)
    assert e.value.errno == ENOBUFS
    lim = stack.limits()
    assert lim["raw_endpoints"] == {"limit": 3, "used": 3}
    assert lim["raw_queue:253.2"] == {"limit": 2, "used": 0}
    ep = eps[1]
    with pytest.raises(OSError) as e:
        ep.send(b"x")
    assert e.value.errno == EDESTADDRREQ
    with pytest.raises(OSError) as e:
        ep.bind("192.0.2.99")
    assert e.value.errno == EADDRNOTAVAIL
    for bad in ("not an address", ("300.1.1.1", 0), None):
        with pytest.raises(OSError) as e:
            ep.sendto(b"x", bad)
        assert e.value.errno == EINVAL
    with pytest.raises(OSError) as e:
        ep.sendto(bytes(65516), PEER_IP)
    assert e.value.errno == EMSGSIZE
    ep.close()
    ep.close()
    for call in (lambda: ep.sendto(b"x", PEER_IP), ep.recvfrom, lambda: ep.bind("0.0.0.0")):
        with pytest.raises(OSError) as e:
            call()
        assert e.value.errno == EBADF
    assert stack.limits()["raw_endpoints"]["used"] == 2
    stack.raw.open(17)  # room again


def test_bound_endpoints_follow_an_address_change():
    sim, stack, iface, peer = setup()
    ep = stack.raw.open(253)
    ep.bind(STACK_IP)
    iface.configure("192.0.2.9/24")
    assert ep.laddr == bytes([192, 0, 2, 9])


_ADDRS = [bytes([192, 0, 2, n]) for n in (1, 2, 3)] + [bytes(4)]


@settings(max_examples=200, deadline=None)
@given(eps=st.lists(st.tuples(st.sampled_from([1, 17, 253]), st.sampled_from(_ADDRS),
                              st.sampled_from(_ADDRS)), min_size=1, max_size=5),
       proto=st.sampled_from([1, 17, 253]), src=st.sampled_from(_ADDRS[:3]),
       dst=st.sampled_from(_ADDRS[:3]))
def test_filter_is_linux_raw_v4_match(eps, proto, src, dst):
    """Against the reference model of raw_v4_match: an endpoint takes a datagram iff the
    protocol is its own, and its bound and connected addresses, where set, are the
    datagram's destination and source."""
    from barenet.stack import Stack

    stack = Stack("host")
    got = []
    want = []
    for p, laddr, raddr in eps:
        ep = stack.raw.open(p)
        ep.laddr, ep.raddr = laddr, raddr
        got.append(matches(ep, proto, src, dst))
        want.append(p == proto and laddr in (bytes(4), dst) and raddr in (bytes(4), src))
    assert got == want
    # and the delivery path uses it: feed the datagram through Raw.input
    h = ipv4.Header()
    d = bytearray(24)
    ipv4.emit(d, 0, src, dst, proto, 4, 1)
    ipv4.parse_into(memoryview(d), h)
    assert stack.raw.input(h) == any(want)
    assert [ep.pending() for ep in stack.raw.endpoints()] == \
        [1 if w else 0 for w in _by_proto_order(eps, want)]


def _by_proto_order(eps, want):
    # Raw.endpoints() lists per protocol in the order each protocol first appeared.
    order = []
    for p, _, _ in eps:
        if p not in order:
            order.append(p)
    return [w for p in order for (q, _, _), w in zip(eps, want) if q == p]


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=0, max_size=80), st.integers(0, 255), st.integers(1, 40))
def test_malformed_or_short_input_never_escapes(junk, proto, cut):
    from iplink import IPLink, OURS, src

    t = IPLink()
    ep = t.stack.raw.open(proto or 253)
    other = t.stack.raw.open(1)
    d = bytearray(20 + len(junk))
    ipv4.emit(d, 0, src(0), OURS, proto, len(junk), 5)
    d[20:] = junk
    t.feed(bytes(d[:max(0, len(d) - cut)]))  # truncated: malformed, counted
    t.feed(junk)                             # garbage as a datagram
    t.feed(bytes(d))                         # whole: delivered
    if proto and proto != 1:
        assert ep.pending() == 1
    # an ICMP error quoting junk reaches the raw layer without escaping either
    e = bytearray(20 + 8 + len(junk))
    icmp = bytes([3, 2, 0, 0, 0, 0, 0, 0]) + junk
    icmp = icmp[:2] + struct.pack("!H", inet_sum(icmp)) + icmp[4:]
    ipv4.emit(e, 0, src(0), OURS, 1, len(icmp), 6)
    e[20:] = icmp
    t.feed(bytes(e))
    assert other.pending() >= 1  # a raw ICMP endpoint copies every ICMP message, errors too


def test_payload_view_is_copied_not_kept():
    """The queued datagram must outlive the receive buffer: the NIC reuses it."""
    sim, stack, iface, peer = setup()
    ep = stack.raw.open(253)
    peer.send(eth(IP(src=PEER_IP, dst=STACK_IP, proto=253) / Payload(b"first")))
    sim.run(max_ms=1)
    peer.send(eth(IP(src=PEER_IP, dst=STACK_IP, proto=253) / Payload(b"again")))
    sim.run(max_ms=1)
    assert [bytes(IP(d).payload) for d, _ in drain(ep)] == [b"first", b"again"]


def test_readiness_counts_datagrams_and_errors_and_tcp_still_answers():
    sim, stack, iface, peer = setup()
    ep = stack.raw.open(6)
    woken = []
    ep.on_event = woken.append
    peer.send(eth(IP(src=PEER_IP, dst=STACK_IP) / TCP(sport=4000, dport=81, flags="S", seq=1)))
    frames = sent(sim, peer)
    assert [f[TCP].flags for f in frames if TCP in f] == ["RA"]  # TCP's reset for a closed port
    assert ep.events == 1 and woken == [ep]
    ep.connect(PEER_IP)
    quoted = bytes(IP(src=STACK_IP, dst=PEER_IP, proto=6) / bytes(8))
    peer.send(eth(IP(src=PEER_IP, dst=STACK_IP) / ICMP(type=12, code=0) / quoted))
    sim.run(max_ms=1)
    assert ep.events == 2 and ep.pending() == 1  # the SYN's copy still waits, the error first
    with pytest.raises(OSError) as e:
        ep.recvfrom()
    assert e.value.errno == EPROTO
    (d, _), = drain(ep)
    assert IP(d)[TCP].flags == "S"
