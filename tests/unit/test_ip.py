"""IPv4: TTL, fragmentation on send (DF -> EMSGSIZE), bounded reassembly, identification."""

import pytest
from scapy.layers.inet import ICMP, IP, UDP, IPerror, fragment
from scapy.layers.l2 import Ether

from barenet.compat import EMSGSIZE
from peer import PEER_IP, PEER_MAC, STACK_IP, STACK_MAC, setup


def resolved(**kw):
    """A stack whose ARP cache already knows the peer."""
    sim, stack, iface, peer = setup(**kw)
    stack.interfaces[0].arp.learn(bytes([192, 0, 2, 1]), bytes.fromhex("020000000001"), sim.now)
    return sim, stack, iface, peer


def to_stack(payload, **ip):
    return Ether(dst=STACK_MAC, src=PEER_MAC) / IP(src=PEER_IP, dst=STACK_IP, **ip) / payload


def test_large_datagram_is_fragmented_to_the_mtu_and_scapy_reassembles_it():
    sim, stack, iface, peer = resolved()
    data = bytes(range(256)) * 16  # 4096 bytes
    stack.udp.bind(4000).sendto(data, (PEER_IP, 9))
    sim.run(max_ms=1)
    frags = peer.take()
    assert len(frags) == 3
    ids = {f[IP].id for f in frags}
    assert len(ids) == 1
    for f in frags[:-1]:
        assert f[IP].flags.MF and len(f[IP]) <= 1500 and (len(f[IP]) - 20) % 8 == 0
    assert not frags[-1][IP].flags.MF
    whole = b"".join(bytes(f[IP].payload) for f in sorted(frags, key=lambda f: f[IP].frag))
    assert UDP(whole).payload.load == data
    assert UDP(whole).chksum == UDP(bytes(UDP(whole))).chksum


def test_dont_fragment_above_the_mtu_is_emsgsize():
    sim, stack, iface, peer = resolved()
    with pytest.raises(OSError) as e:
        stack.ip.output(bytes([192, 0, 2, 1]), 17, b"x" * 1481, df=True)
    assert e.value.args[0] == EMSGSIZE
    stack.ip.output(bytes([192, 0, 2, 1]), 17, b"x" * 1480, df=True)  # exactly the MTU fits


def test_identification_changes_per_datagram_and_ttl_is_set():
    sim, stack, iface, peer = resolved(ttl=33)
    ep = stack.udp.bind(4000)
    for _ in range(3):
        ep.sendto(b"x", (PEER_IP, 9))
    sim.run(max_ms=1)
    frames = peer.take()
    assert len({f[IP].id for f in frames}) == 3
    assert {f[IP].ttl for f in frames} == {33}


def send_frags(peer, frags):
    for f in frags:
        peer.send(Ether(dst=STACK_MAC, src=PEER_MAC) / f)


def udp_datagram(size, ident=77):
    return IP(src=PEER_IP, dst=STACK_IP, id=ident) / UDP(sport=5, dport=9) / (bytes(range(256)) * 20)[:size]


def test_reassembly_out_of_order_and_with_duplicates():
    sim, stack, iface, peer = resolved()
    ep = stack.udp.bind(9)
    frags = fragment(udp_datagram(4000), fragsize=1000)
    assert len(frags) == 5
    send_frags(peer, [frags[3], frags[0], frags[3], frags[4], frags[1], frags[0], frags[2]])
    sim.run(max_ms=1)
    data, src = ep.recvfrom()
    assert data == (bytes(range(256)) * 20)[:4000] and src == (PEER_IP, 5)
    assert ep.recvfrom() is None
    assert stack.stats["ip"]["reasm_duplicate"] == 2
    assert stack.ip.reasm.bytes == 0 and not stack.ip.reasm.pending


def test_overlapping_fragment_drops_the_datagram():
    sim, stack, iface, peer = resolved()
    ep = stack.udp.bind(9)
    frags = fragment(udp_datagram(3000), fragsize=1000)
    evil = IP(bytes(frags[1]))
    evil.frag = evil.frag - 1  # overlaps fragment 0 by 8 bytes
    del evil.chksum
    send_frags(peer, [frags[0], evil, frags[1], frags[2], frags[3]])
    sim.run(max_ms=1)
    assert ep.recvfrom() is None
    assert stack.stats["ip"]["reasm_overlap"] == 1


def test_missing_fragment_times_out_frees_memory_and_reports_time_exceeded():
    sim, stack, iface, peer = resolved(reasm_timeout_ms=30000)
    ep = stack.udp.bind(9)
    frags = fragment(udp_datagram(3000), fragsize=1000)
    t0 = sim.now
    send_frags(peer, [frags[0], frags[2]])
    sim.run(max_ms=1)
    assert stack.ip.reasm.bytes > 0
    sim.advance(30000 - 1 - (sim.now - t0))
    assert stack.ip.reasm.pending
    sim.advance(1)
    assert not stack.ip.reasm.pending and stack.ip.reasm.bytes == 0
    assert stack.stats["ip"]["reasm_timeout"] == 1
    (err,) = peer.take()
    assert err[ICMP].type == 11 and err[ICMP].code == 1  # RFC 792: reassembly time exceeded
    assert err[IPerror].id == 77 and err[IPerror].frag == 0
    assert ep.recvfrom() is None


def test_malformed_ip_is_counted_and_dropped():
    sim, stack, iface, peer = resolved()
    bad_csum = to_stack(UDP(sport=1, dport=9) / b"x", chksum=0x1234)
    bad_len = Ether(bytes(to_stack(UDP(sport=1, dport=9) / b"x", len=200)))
    bad_ver = Ether(dst=STACK_MAC, src=PEER_MAC, type=0x0800) / (b"\x65" + bytes(27))
    short = Ether(dst=STACK_MAC, src=PEER_MAC, type=0x0800) / b"\x45\x00"
    for f in (bad_csum, bad_len, bad_ver, short):
        peer.send(f)
    sim.run(max_ms=1)
    ip = stack.stats["ip"]
    assert (ip["drop_checksum"], ip["drop_length"], ip["drop_version"], ip["drop_short"]) == (1, 1, 1, 1)
    assert stack.stats["stack"].get("drop_internal_error", 0) == 0


def test_unknown_protocol_gets_protocol_unreachable():
    sim, stack, iface, peer = resolved()
    peer.send(to_stack(b"\x00" * 16, proto=132))
    sim.run(max_ms=1)
    (err,) = peer.take()
    assert err[ICMP].type == 3 and err[ICMP].code == 2
