"""ICMP: echo responder and client, rate-limited port unreachable, errors reach UDP endpoints."""

import errno as errnos

import pytest
from scapy.layers.inet import ICMP, IP, UDP, IPerror, UDPerror, fragment
from scapy.layers.l2 import Ether

from barenet.compat import ECONNREFUSED, EMSGSIZE
from peer import PEER_IP, PEER_MAC, STACK_IP, STACK_MAC, setup


def resolved(**kw):
    sim, stack, iface, peer = setup(**kw)
    stack.interfaces[0].arp.learn(bytes([192, 0, 2, 1]), bytes.fromhex("020000000001"), sim.now)
    return sim, stack, iface, peer


def eth(pkt):
    return Ether(dst=STACK_MAC, src=PEER_MAC) / pkt


def test_echo_request_is_answered_with_the_same_id_seq_and_data():
    sim, stack, iface, peer = resolved()
    peer.send(eth(IP(src=PEER_IP, dst=STACK_IP) / ICMP(type=8, id=0x1234, seq=7) / b"ping data"))
    sim.run(max_ms=1)
    (r,) = peer.take()
    assert r[IP].src == STACK_IP and r[IP].dst == PEER_IP
    assert r[ICMP].type == 0 and r[ICMP].id == 0x1234 and r[ICMP].seq == 7
    assert bytes(r[ICMP].payload) == b"ping data"
    rebuilt = r[ICMP].copy()
    del rebuilt.chksum
    assert ICMP(bytes(rebuilt)).chksum == r[ICMP].chksum  # scapy computes the same checksum


def test_fragmented_3000_byte_ping_is_answered_fragmented():
    sim, stack, iface, peer = resolved()
    data = bytes(range(256)) * 12
    req = IP(src=PEER_IP, dst=STACK_IP, id=999) / ICMP(type=8, id=1, seq=1) / data[:3000]
    for f in fragment(req, fragsize=1480):
        peer.send(eth(f))
    sim.run(max_ms=1)
    frags = peer.take()
    assert len(frags) == 3
    whole = b"".join(bytes(f[IP].payload) for f in sorted(frags, key=lambda f: f[IP].frag))
    reply = ICMP(whole)
    assert reply.type == 0 and reply.id == 1 and bytes(reply.payload) == data[:3000]


def test_broadcast_echo_is_ignored():
    sim, stack, iface, peer = resolved()
    peer.send(Ether(dst="ff:ff:ff:ff:ff:ff", src=PEER_MAC) /
              IP(src=PEER_IP, dst="192.0.2.255") / ICMP(type=8))
    sim.run(max_ms=1)
    assert peer.take() == []


def test_ping_client_gets_replies():
    sim, stack, iface, peer = resolved()
    ep = stack.icmp.echo_endpoint(42)
    ep.send(PEER_IP, 5, b"abc")
    sim.run(max_ms=1)
    (req,) = peer.take()
    assert req[ICMP].type == 8 and req[ICMP].id == 42 and req[ICMP].seq == 5
    peer.send(eth(IP(src=PEER_IP, dst=STACK_IP) / ICMP(type=0, id=42, seq=5) / b"abc"))
    sim.run(max_ms=1)
    assert ep.recv() == (PEER_IP, 5, b"abc")
    assert ep.recv() is None


def test_closed_udp_port_gets_port_unreachable_rate_limited():
    sim, stack, iface, peer = resolved(icmp_error_burst=3, icmp_error_interval_ms=100)
    for i in range(10):
        peer.send(eth(IP(src=PEER_IP, dst=STACK_IP) / UDP(sport=1000 + i, dport=4444) / b"q"))
    sim.run(max_ms=1)
    errs = peer.take()
    assert len(errs) == 3
    for e in errs:
        assert e[ICMP].type == 3 and e[ICMP].code == 3
        assert e[IPerror].dst == STACK_IP and e[UDPerror].dport == 4444
    assert stack.stats["icmp"]["error_rate_limited"] == 7
    sim.advance(250)  # two tokens back
    for i in range(3):
        peer.send(eth(IP(src=PEER_IP, dst=STACK_IP) / UDP(sport=2000 + i, dport=4444) / b"q"))
    sim.run(max_ms=1)
    assert len(peer.take()) == 2


def test_no_icmp_error_for_broadcast_datagrams():
    sim, stack, iface, peer = resolved()
    peer.send(Ether(dst="ff:ff:ff:ff:ff:ff", src=PEER_MAC) /
              IP(src=PEER_IP, dst="255.255.255.255") / UDP(sport=68, dport=4444))
    sim.run(max_ms=1)
    assert peer.take() == []


@pytest.mark.parametrize("code,nexthop,errno", [
    (3, 0, ECONNREFUSED), (4, 576, EMSGSIZE),
    # Linux's icmp_err_convert[] (see test_icmp_errno.py) for the codes UDP used to get wrong
    (5, 0, errnos.EOPNOTSUPP), (6, 0, errnos.ENETUNREACH), (7, 0, errnos.EHOSTDOWN),
    (9, 0, errnos.ENETUNREACH), (11, 0, errnos.ENETUNREACH)])
def test_icmp_errors_are_delivered_to_the_matching_udp_endpoint(code, nexthop, errno):
    sim, stack, iface, peer = resolved()
    ep = stack.udp.bind(4000)
    other = stack.udp.bind(4001)
    ep.sendto(b"x" * 20, (PEER_IP, 53))
    sim.run(max_ms=1)
    (sent,) = peer.take()
    quoted = bytes(sent[IP])[:28]
    peer.send(eth(IP(src=PEER_IP, dst=STACK_IP) / ICMP(type=3, code=code, nexthopmtu=nexthop) / quoted))
    sim.run(max_ms=1)
    assert other.recvfrom() is None
    with pytest.raises(OSError) as e:
        ep.recvfrom()
    assert e.value.args[0] == errno


def test_truncated_icmp_quote_is_dropped():
    sim, stack, iface, peer = resolved()
    stack.udp.bind(4000)
    peer.send(eth(IP(src=PEER_IP, dst=STACK_IP) / ICMP(type=3, code=3) / (b"\x45" + bytes(10))))
    sim.run(max_ms=1)
    assert stack.stats["ip"]["icmp_error_short_quote"] == 1
    assert stack.stats["icmp"]["drop_error"] == 1 and "rx_error" not in stack.stats["icmp"]


def test_icmp_error_quoting_a_foreign_source_does_not_touch_our_endpoint():
    sim, stack, iface, peer = resolved()
    ep = stack.udp.bind(4000)
    forged = bytes(IP(src="192.0.2.77", dst=PEER_IP) / UDP(sport=4000, dport=53))[:28]
    peer.send(eth(IP(src=PEER_IP, dst=STACK_IP) / ICMP(type=3, code=3) / forged))
    sim.run(max_ms=1)
    assert ep.recvfrom() is None
    assert stack.stats["udp"]["drop_icmp_no_port"] == 1


def test_echo_request_from_zero_is_not_answered():
    sim, stack, iface, peer = resolved()
    peer.send(eth(IP(src="0.0.0.0", dst=STACK_IP) / ICMP(type=8)))
    sim.run(max_ms=1)
    assert peer.take() == []
    assert stack.stats["icmp"]["drop_echo_from_zero"] == 1
