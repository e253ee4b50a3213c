"""The `ip` link type (TUN, SLIP): bare IPv4 datagrams, no Ethernet header, no ARP.

Two barenet stacks on an ip link of the virtual wire exchange UDP, pings and TCP; what crosses
the link is checked with scapy (an independent decoder) to be plain IPv4, nothing else.
"""

import hashlib

from scapy.layers.inet import IP, UDP

from barenet_host.vwire import Sim

A, B = "192.0.2.1", "192.0.2.2"


def pair(prefix="/24", **kw):
    sim = Sim()
    wire = sim.wire(link="ip")
    seen = wire.nic()                       # a sniffer on the link
    a, ia = sim.host(wire, None, A + prefix, seed=1, **kw)
    b, ib = sim.host(wire, None, B + prefix, seed=2, **kw)
    return sim, a, b, ia, ib, seen


def test_interfaces_are_ip_links_without_mac_or_arp():
    sim, a, b, ia, ib, seen = pair()
    assert ia.link == "ip" and ia.hlen == 0 and ia.mac is None
    assert not hasattr(ia, "arp")
    assert len(ia.txbuf) == ia.mtu        # no room kept for a link header


def test_udp_crosses_as_bare_ip_datagrams():
    sim, a, b, ia, ib, seen = pair()
    rx = b.udp.bind(7)
    tx = a.udp.bind(5000)
    tx.sendto(b"over an ip link", (B, 7))
    assert sim.run(until=lambda: rx.pending(), max_ms=100)
    assert rx.recvfrom() == (b"over an ip link", (A, 5000))
    # Nothing but the datagram went out: no ARP, no gratuitous announcement, no link header.
    (frame,) = seen.received
    d = IP(frame)
    assert d.src == A and d.dst == B and d[UDP].dport == 7 and bytes(d[UDP].payload) == \
        b"over an ip link"
    assert "arp" not in a.stats or not a.stats["arp"]
    assert a.stats["if_ip0"]["tx"] == 1 and b.stats["if_ip0"]["rx"] == 1


def test_ping_and_fragments_on_an_ip_link():
    sim, a, b, ia, ib, seen = pair()
    ping = a.icmp.echo_endpoint(7)
    got = []
    for seq, size in enumerate((56, 3000)):
        ping.send(B, seq, bytes(range(256)) * (size // 256) + bytes(size % 256))
        assert sim.run(until=lambda: got.append(ping.recv()) or got[-1] is not None, max_ms=100)
        assert got[-1][0] == B and got[-1][1] == seq and len(got[-1][2]) == size
    assert b.stats["ip"]["reasm_ok"] == 1 and a.stats["ip"]["reasm_ok"] == 1


def test_point_to_point_link_with_a_peer_outside_our_subnet():
    # SLIP-style /32 addresses: the far end is the gateway, every address leaves by the link.
    sim = Sim()
    wire = sim.wire(link="ip")
    a, _ = sim.host(wire, None, A + "/32", gateway="198.51.100.1", seed=1)
    b, _ = sim.host(wire, None, "198.51.100.1/32", gateway=A, seed=2)
    rx = b.udp.bind(9)
    a.udp.bind(4000).sendto(b"p2p", ("198.51.100.1", 9))
    assert sim.run(until=lambda: rx.pending(), max_ms=100)
    assert rx.recvfrom() == (b"p2p", (A, 4000))


def test_tcp_transfer_on_an_ip_link():
    sim, a, b, ia, ib, seen = pair(sndbuf=16384, rcvbuf=16384)
    lst = b.tcp.listen(9)
    conn = a.tcp.connect(B, 9)
    data = hashlib.sha256(b"ip link").digest() * 8192      # 256 KB
    st = {"sent": 0, "got": bytearray(), "peer": None}

    def app(now):
        if st["peer"] is None:
            st["peer"] = lst.accept()
        while st["sent"] < len(data):
            n = conn.send(data[st["sent"]:st["sent"] + 8192])
            if not n:
                break
            st["sent"] += n
        p = st["peer"]
        while p is not None:
            d = p.recv(65536)
            if not d:
                break
            st["got"] += d
        return None

    sim.add_task(app)
    assert sim.run(until=lambda: len(st["got"]) == len(data), max_ms=60000)
    assert bytes(st["got"]) == data
    # every frame on the link is an IPv4 datagram carrying TCP
    assert seen.received and all(IP(f).proto == 6 for f in seen.received)
    assert a.stats["stack"].get("drop_internal_error", 0) == 0
