"""Routing as an OS-less stack must do it: loopback, on-link via ARP, gateway, broadcast, none."""

import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import ARP, Ether

from barenet.compat import ENETUNREACH
from barenet.stack import Stack
from barenet_host.vwire import Sim
from peer import PEER_IP, PEER_MAC, STACK_IP, STACK_MAC, CountingNIC, setup


def test_own_address_goes_through_loopback_and_never_reaches_the_nic():
    sim = Sim()
    wire = sim.wire()
    stack = Stack()
    nic = CountingNIC(wire.nic())
    iface = stack.add_interface(nic, STACK_MAC, STACK_IP + "/24", now_ms=0)
    sim.add_stack(stack)
    sent_before = nic.sent  # the gratuitous ARP
    rx = stack.udp.bind(5000)
    tx = stack.udp.bind()
    for dst in (STACK_IP, "127.0.0.1"):
        tx.sendto(b"to myself", (dst, 5000))
    sim.run(until=lambda: rx.pending() == 2, max_ms=10)
    assert rx.recvfrom() == (b"to myself", (STACK_IP, tx.port))
    assert rx.recvfrom()[0] == b"to myself"
    assert nic.sent == sent_before
    assert stack.stats["ip"]["tx_loopback"] == 2
    assert stack.stats["loopback"]["rx"] == 2
    assert iface.stats.get("tx", 0) == sent_before  # the gratuitous ARP only


def test_on_link_destination_is_resolved_by_arp():
    sim, stack, iface, peer = setup()
    ep = stack.udp.bind(4000)
    ep.sendto(b"hello", (PEER_IP, 7))
    sim.run(max_ms=1)
    (req,) = peer.take()
    assert req.dst == "ff:ff:ff:ff:ff:ff"
    assert req[ARP].op == 1 and req[ARP].pdst == PEER_IP and req[ARP].psrc == STACK_IP
    assert req[ARP].hwsrc == STACK_MAC
    peer.reply_arp([req])
    sim.run(max_ms=1)
    (f,) = peer.take()
    assert f.dst == PEER_MAC and f.src == STACK_MAC
    assert f[IP].dst == PEER_IP and f[UDP].dport == 7 and bytes(f[UDP].payload) == b"hello"


def test_off_link_destination_goes_to_the_gateway_mac():
    sim, stack, iface, peer = setup(gateway=PEER_IP)
    ep = stack.udp.bind(4000)
    ep.sendto(b"far", ("198.51.100.7", 53))
    sim.run(max_ms=1)
    frames = peer.take()
    assert [f[ARP].pdst for f in frames] == [PEER_IP]  # ARP for the gateway, not the target
    peer.reply_arp(frames)
    sim.run(max_ms=1)
    (f,) = peer.take()
    assert f.dst == PEER_MAC and f[IP].dst == "198.51.100.7" and f[IP].ttl == 64


@pytest.mark.parametrize("dst", ["255.255.255.255", "192.0.2.255"])
def test_broadcast_goes_to_the_broadcast_mac_without_arp(dst):
    sim, stack, iface, peer = setup()
    stack.udp.bind(4000).sendto(b"all", (dst, 67))
    sim.run(max_ms=1)
    (f,) = peer.take()
    assert f.dst == "ff:ff:ff:ff:ff:ff" and f[IP].dst == dst and bytes(f[UDP].payload) == b"all"


def test_no_route_is_reported_to_the_sender():
    sim, stack, iface, peer = setup()  # no gateway
    ep = stack.udp.bind(4000)
    with pytest.raises(OSError) as e:
        ep.sendto(b"x", ("203.0.113.9", 9))
    assert e.value.args[0] == ENETUNREACH
    assert peer.take() == []


def test_gateway_must_be_on_link():
    with pytest.raises(ValueError):
        Stack().add_interface(CountingNIC(None), STACK_MAC, "192.0.2.2/24", gateway="198.51.100.1")


def test_frames_for_other_macs_and_addresses_are_dropped():
    sim, stack, iface, peer = setup()
    ep = stack.udp.bind(9)
    payload = UDP(sport=1, dport=9) / b"x"
    peer.send(Ether(dst="02:00:00:00:00:99", src=PEER_MAC) / IP(src=PEER_IP, dst=STACK_IP) / payload)
    peer.send(Ether(dst=STACK_MAC, src=PEER_MAC) / IP(src=PEER_IP, dst="192.0.2.77") / payload)
    sim.run(max_ms=1)
    assert ep.pending() == 0
    assert stack.stats["eth"]["drop_not_for_us"] == 1
    assert stack.stats["ip"]["drop_not_ours"] == 1
