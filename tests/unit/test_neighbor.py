"""ARP: pending queues, retries, failure reporting, gratuitous ARP, replies, conflicts, bounds."""

import pytest
from scapy.layers.inet import UDP
from scapy.layers.l2 import ARP, Ether

from barenet.compat import EHOSTUNREACH, ENOBUFS
from barenet_host.vwire import Sim
from peer import PEER_IP, PEER_MAC, STACK_IP, STACK_MAC, Peer, setup


def arp_frame(op, src_mac, src_ip, dst_ip, dst_mac="00:00:00:00:00:00", eth_dst="ff:ff:ff:ff:ff:ff"):
    return Ether(dst=eth_dst, src=src_mac) / ARP(op=op, hwsrc=src_mac, psrc=src_ip,
                                                 hwdst=dst_mac, pdst=dst_ip)


def test_three_datagrams_sent_before_the_reply_all_arrive_in_order():
    sim, stack, iface, peer = setup()
    ep = stack.udp.bind(4000)
    for i in range(3):
        ep.sendto(b"datagram %d" % i, (PEER_IP, 9))
    sim.run(max_ms=1)
    frames = peer.take()
    assert len(frames) == 1 and ARP in frames[0]  # one request, not one per datagram
    peer.reply_arp(frames)
    sim.run(max_ms=1)
    got = [bytes(f[UDP].payload) for f in peer.take()]
    assert got == [b"datagram 0", b"datagram 1", b"datagram 2"]
    # Now cached: the next datagram goes straight out.
    ep.sendto(b"datagram 3", (PEER_IP, 9))
    sim.run(max_ms=1)
    assert [bytes(f[UDP].payload) for f in peer.take()] == [b"datagram 3"]


def test_retries_then_failure_reported_to_the_sender():
    sim, stack, iface, peer = setup(arp_retries=3, arp_retry_ms=1000)
    ep = stack.udp.bind(4000)
    ep.sendto(b"lost", ("192.0.2.50", 9))
    sim.run(max_ms=5000)
    requests = [f for f in peer.take() if ARP in f]
    assert len(requests) == 3 and all(f[ARP].pdst == "192.0.2.50" for f in requests)
    with pytest.raises(OSError) as e:
        ep.recvfrom()
    assert e.value.args[0] == EHOSTUNREACH
    assert stack.stats["arp"]["failed"] == 1
    assert ep.recvfrom() is None  # the error is reported once


def test_pending_queue_is_bounded_in_bytes():
    sim, stack, iface, peer = setup(arp_queue_bytes=2 * 29)  # two 1-byte UDP datagrams
    ep = stack.udp.bind(4000)
    refused = []
    for i in range(5):
        try:
            ep.sendto(b"%d" % i, (PEER_IP, 9))
        except OSError as e:  # pushed back to the sender (ENOBUFS), not lost in silence
            refused.append((i, e.args[0]))
    assert refused == [(i, ENOBUFS) for i in (2, 3, 4)]
    assert stack.stats["arp"]["drop_queue_full"] == 3
    sim.run(max_ms=1)
    peer.reply_arp(peer.take())
    sim.run(max_ms=1)
    assert [bytes(f[UDP].payload) for f in peer.take()] == [b"0", b"1"]


def test_a_fragmented_datagram_waits_for_arp_whole():
    # 9 000 bytes wait in all: more than the board profile queues per address (4 KB)
    sim, stack, iface, peer = setup(arp_queue_bytes=16384)
    ep = stack.icmp.echo_endpoint(1)
    for seq in range(3):
        ep.send(PEER_IP, seq, bytes(3000))  # three datagrams of three fragments each
    sim.run(max_ms=1)
    peer.reply_arp(peer.take())
    sim.run(max_ms=1)
    assert len(peer.take()) == 9
    assert "drop_queue_full" not in stack.stats["arp"]


def test_gratuitous_arp_when_the_interface_comes_up():
    sim = Sim()
    wire = sim.wire()
    peer = Peer(wire)
    sim.host(wire, STACK_MAC, STACK_IP + "/24")
    sim.run(max_ms=1)
    (f,) = peer.take()
    assert f.dst == "ff:ff:ff:ff:ff:ff"
    assert f[ARP].op == 1 and f[ARP].psrc == STACK_IP and f[ARP].pdst == STACK_IP
    assert f[ARP].hwsrc == STACK_MAC


def test_replies_only_for_our_own_address():
    sim, stack, iface, peer = setup()
    peer.send(arp_frame(1, PEER_MAC, PEER_IP, "192.0.2.3"))
    sim.run(max_ms=1)
    assert peer.take() == []
    peer.send(arp_frame(1, PEER_MAC, PEER_IP, STACK_IP))
    sim.run(max_ms=1)
    (r,) = peer.take()
    assert r.dst == PEER_MAC and r[ARP].op == 2
    assert r[ARP].hwsrc == STACK_MAC and r[ARP].psrc == STACK_IP
    assert r[ARP].hwdst == PEER_MAC and r[ARP].pdst == PEER_IP
    # A request for us teaches us the asker (RFC 826): no ARP needed to answer it.
    stack.udp.bind(4000).sendto(b"x", (PEER_IP, 9))
    sim.run(max_ms=1)
    (f,) = peer.take()
    assert UDP in f and f.dst == PEER_MAC


def test_address_conflict_is_counted_and_not_learned():
    sim, stack, iface, peer = setup()
    peer.send(arp_frame(2, "02:00:00:00:00:66", STACK_IP, STACK_IP))
    sim.run(max_ms=1)
    assert stack.stats["arp"]["conflict"] == 1
    assert STACK_IP.encode() not in stack.interfaces[0].arp.entries


def test_cache_entries_expire_and_are_resolved_again():
    sim, stack, iface, peer = setup(arp_ttl_ms=10000)
    ep = stack.udp.bind(4000)
    ep.sendto(b"a", (PEER_IP, 9))
    sim.run(max_ms=1)
    peer.reply_arp(peer.take())
    sim.run(max_ms=1)
    assert len(peer.take()) == 1
    sim.advance(10001)
    ep.sendto(b"b", (PEER_IP, 9))
    sim.run(max_ms=1)
    (f,) = peer.take()
    assert ARP in f and f[ARP].pdst == PEER_IP
    assert stack.stats["arp"]["expired"] == 1


def test_cache_is_bounded():
    sim, stack, iface, peer = setup(arp_size=4)
    for i in range(10):
        peer.send(arp_frame(1, "02:00:00:00:01:%02x" % i, "192.0.2.%d" % (100 + i), STACK_IP))
    sim.run(max_ms=1)
    assert len(stack.interfaces[0].arp.entries) == 4
    assert stack.stats["arp"]["evicted"] == 6


def test_malformed_arp_is_counted():
    sim, stack, iface, peer = setup()
    peer.send(Ether(dst="ff:ff:ff:ff:ff:ff", src=PEER_MAC, type=0x0806) / b"\x00\x01\x08")
    token_ring = bytearray(bytes(arp_frame(1, PEER_MAC, PEER_IP, STACK_IP)))
    token_ring[15] = 6  # hardware type 6 (IEEE 802): not Ethernet
    peer.send(token_ring)
    sim.run(max_ms=1)
    assert stack.stats["arp"]["drop_short"] == 1
    assert stack.stats["arp"]["drop_unsupported"] == 1
    assert peer.take() == []


def test_tcp_timeouts_make_arp_resolve_a_poisoned_entry_again():
    # ARP has no checksum: a corrupted reply can plant a wrong MAC. Two retransmission
    # timeouts in a row make TCP ask IP to forget it, so the connection recovers.
    sim = Sim()
    wire = sim.wire()
    a, _ = sim.host(wire, "02:00:00:00:00:01", "192.0.2.1/24", seed=1)
    b, _ = sim.host(wire, STACK_MAC, STACK_IP + "/24", seed=2)
    listener = b.tcp.listen(9)
    c = a.tcp.connect(STACK_IP, 9)
    assert sim.run(until=lambda: listener.readable(), max_ms=1000)
    server = listener.accept()
    a.interfaces[0].arp.learn(bytes([192, 0, 2, 2]), bytes.fromhex("02000000dead"), sim.now)  # poisoned
    assert c.send(b"after the poisoning") == 19
    got = bytearray()

    def read(now):
        d = server.recv(100)
        if d:
            got.extend(d)

    sim.add_task(read)
    assert sim.run(until=lambda: got == b"after the poisoning", max_ms=60000)
    assert a.stats["arp"]["forgotten"] == 1
    assert a.interfaces[0].arp.entries[bytes([192, 0, 2, 2])][0] == bytes.fromhex(STACK_MAC.replace(":", ""))


def test_arp_failure_is_reported_once_per_datagram_not_per_fragment():
    sim, stack, iface, peer = setup()
    ep = stack.udp.bind(4000)
    other = stack.udp.bind(0x4141)  # what payload bytes "AA" would name as a source port
    ep.sendto(b"A" * 4000, ("192.0.2.50", 9))  # three fragments queued behind ARP
    sim.run(max_ms=5000)
    with pytest.raises(OSError):
        ep.recvfrom()
    assert other.recvfrom() is None
