"""ARP: pending queues, retries, failure reporting, gratuitous ARP, replies, conflicts, bounds."""

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from scapy.layers.inet import UDP
from scapy.layers.l2 import ARP, Ether

from barenet import ticks
from barenet.addr import ip_aton
from barenet.compat import EHOSTUNREACH, ENOBUFS
from barenet.stack import Stack
from barenet_host.vwire import Sim
from peer import PEER_IP, PEER_MAC, STACK_IP, STACK_MAC, ListNIC, Peer, setup


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


def test_arp_failure_is_reported_once_per_datagram_not_per_fragment():
    sim, stack, iface, peer = setup()
    ep = stack.udp.bind(4000)
    other = stack.udp.bind(0x4141)  # what payload bytes "AA" would name as a source port
    ep.sendto(b"A" * 4000, ("192.0.2.50", 9))  # three fragments queued behind ARP
    sim.run(max_ms=5000)
    with pytest.raises(OSError):
        ep.recvfrom()
    assert other.recvfrom() is None


# -- neighbour states (Linux NUD; RFC 1122 2.3.2.1) ------------------------------------------

PEER = bytes([192, 0, 2, 1])
STRANGER_MAC = "02:00:00:00:00:66"


def solicitations(frames, ip=PEER_IP):
    """The who-has requests for ip in frames, broadcast or unicast (probes)."""
    return [f for f in frames if ARP in f and f[ARP].op == 1 and f[ARP].pdst == ip
            and f[ARP].psrc == STACK_IP]


def recorder(sim, peer):
    """Keep every frame the peer receives with its virtual time: a list of (ms, scapy frame)."""
    log = []
    peer.nic.on_frame = lambda frame, now: log.append((sim.ms, Ether(bytes(frame))))
    return log


def resolved(sim, stack, peer, ep):
    """Send one datagram to the peer and answer the request: the entry is REACHABLE."""
    ep.sendto(b"first", (PEER_IP, 9))
    sim.run(max_ms=1)
    peer.reply_arp(peer.take())
    sim.run(max_ms=1)
    assert [bytes(f[UDP].payload) for f in peer.take()] == [b"first"]


def state(stack, ip=PEER):
    from barenet.neighbor import _STATE_NAMES
    e = stack.interfaces[0].arp.entries.get(ip)
    return None if e is None else _STATE_NAMES[e.state][6:]


def test_a_used_stale_entry_is_probed_by_unicast_while_still_in_use():
    sim, stack, iface, peer = setup(arp_reachable_ms=30000, arp_delay_ms=5000)
    ep = stack.udp.bind(4000)
    resolved(sim, stack, peer, ep)
    assert state(stack) == "reachable"
    sim.advance(30000)
    ep.sendto(b"stale", (PEER_IP, 9))       # used while stale: goes out at once, to the old MAC
    sim.run(max_ms=1)
    (f,) = peer.take()
    assert UDP in f and f.dst == PEER_MAC
    assert state(stack) == "delay"
    sim.advance(4998)                       # (sim.run above took 1 ms)
    assert peer.take() == []                # DELAY: a chance for upper layers to confirm first
    sim.advance(1)
    (probe,) = solicitations(peer.take())
    assert probe.dst == PEER_MAC            # unicast to the MAC in use (RFC 1122 2.3.2.1)
    assert probe[ARP].hwdst == "00:00:00:00:00:00"
    assert state(stack) == "probe"
    ep.sendto(b"probing", (PEER_IP, 9))
    sim.run(max_ms=1)
    assert [bytes(f[UDP].payload) for f in peer.take()] == [b"probing"]
    # The peer answers the probe by unicast: confirmed again
    peer.send(Ether(dst=STACK_MAC, src=PEER_MAC) /
              ARP(op=2, hwsrc=PEER_MAC, psrc=PEER_IP, hwdst=STACK_MAC, pdst=STACK_IP))
    sim.run(max_ms=1)
    assert state(stack) == "reachable"
    sim.advance(20000)
    assert peer.take() == []
    st = stack.stats["arp"]
    assert st["state_stale"] == 1 and st["state_delay"] == 1 and st["state_probe"] == 1
    assert st["state_reachable"] == 2 and st["tx_probe"] == 1 and st["tx_request"] == 1


def test_unanswered_probes_forget_the_mac_then_broadcast_resolves_again():
    sim, stack, iface, peer = setup(arp_probes=3, arp_retry_ms=1000)
    ep = stack.udp.bind(4000)
    resolved(sim, stack, peer, ep)
    log = recorder(sim, peer)
    stack.ip.neighbor_suspect(PEER)         # TCP's RTO: probe, no waiting in DELAY, but not
    sim.advance(3998)                       # within a second of the request (sent at 0)
    probes = solicitations([f for _, f in log])
    assert [t for t, _ in log] == [1000, 2000, 3000] and all(p.dst == PEER_MAC for p in probes)
    assert state(stack) == "probe"
    sim.advance(1)
    assert state(stack) is None             # three unanswered probes: the MAC is forgotten
    assert stack.stats["arp"]["probe_failed"] == 1
    del log[:]
    ep.sendto(b"again", (PEER_IP, 9))
    sim.run(max_ms=1)
    (req,) = solicitations([f for _, f in log])
    assert req.dst == "ff:ff:ff:ff:ff:ff"


def test_unused_stale_entries_expire_but_the_gateways_stays():
    sim, stack, iface, peer = setup(gateway=PEER_IP, arp_reachable_ms=1000, arp_stale_ms=5000)
    ep = stack.udp.bind(4000)
    resolved(sim, stack, peer, ep)
    peer.send(arp_frame(1, "02:00:00:00:00:07", "192.0.2.7", STACK_IP))
    sim.advance(6001)
    ep.sendto(b"x", ("192.0.2.7", 9))
    sim.run(max_ms=1)
    (req,) = solicitations(peer.take(), "192.0.2.7")
    assert stack.stats["arp"]["expired"] == 1
    assert state(stack) == "stale"          # the gateway's: kept, and probed when used


def test_suspect_probes_instead_of_forgetting():
    sim, stack, iface, peer = setup()
    ep = stack.udp.bind(4000)
    resolved(sim, stack, peer, ep)
    sim.advance(1000)
    stack.ip.neighbor_suspect(PEER)
    assert state(stack) == "probe" and stack.stats["arp"]["suspect"] == 1
    ep.sendto(b"still", (PEER_IP, 9))
    sim.run(max_ms=1)
    frames = peer.take()
    assert [f.dst for f in solicitations(frames)] == [PEER_MAC]
    assert [bytes(f[UDP].payload) for f in frames if UDP in f] == [b"still"]


def test_tcp_timeouts_make_arp_resolve_a_poisoned_entry_again():
    # ARP has no checksum: a corrupted reply can plant a wrong MAC. Two retransmission
    # timeouts in a row make TCP tell IP, which has the MAC probed, so the connection
    # recovers.
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
    st = a.stats["arp"]
    # b's own check of its entry for a (a STALE entry in use is probed) also corrects the
    # MAC, through RFC 826's merge: either way it is by probing, not forgetting
    assert st["suspect"] >= 1 and st["tx_probe"] >= 1
    assert st.get("mac_changed", 0) + st.get("probe_failed", 0) >= 1
    assert a.interfaces[0].arp.entries[bytes([192, 0, 2, 2])].mac == bytes.fromhex(STACK_MAC.replace(":", ""))


# -- at most one request per target per second (RFC 1122 2.3.2.1) ----------------------------

def test_sixteen_half_open_connections_ask_at_most_once_a_second():
    # Today's bug: each SYN-ACK retransmission timeout forgot the peer's MAC and asked again
    # at once, 16 requests in 80 ms. Now every suspect lands on the one entry, probed once
    # a second at most.
    from scapy.layers.inet import IP, TCP
    sim, stack, iface, peer = setup(syn_backlog=16)
    stack.tcp.listen(80)
    log = recorder(sim, peer)
    peer.send(arp_frame(1, PEER_MAC, PEER_IP, STACK_IP))   # the client asks for us first
    for i in range(16):
        peer.send(Ether(dst=STACK_MAC, src=PEER_MAC) / IP(src=PEER_IP, dst=STACK_IP) /
                  TCP(sport=40000 + i, dport=80, flags="S", seq=1000))
    sim.advance(30000)
    times = [t for t, f in log if f in solicitations([f])]
    assert len(times) >= 2
    assert all(b - a >= 1000 for a, b in zip(times, times[1:]))
    synacks = [f for _, f in log if TCP in f]
    assert len(synacks) > 16                # the retransmissions kept going out meanwhile


def test_re_resolution_right_after_a_failure_waits_for_the_rate():
    sim, stack, iface, peer = setup(arp_retries=3, arp_retry_ms=400, arp_rate_ms=1000)
    ep = stack.udp.bind(4000)
    log = recorder(sim, peer)
    ep.sendto(b"lost", ("192.0.2.50", 9))
    sim.advance(3000)        # retries are due every 400 ms but the rate holds them to 1/s
    with pytest.raises(OSError):
        ep.recvfrom()
    ep.sendto(b"again", ("192.0.2.50", 9))  # a new resolution at once after the failure
    sim.advance(3000)
    times = [t for t, f in log if f in solicitations([f], "192.0.2.50")]
    assert times and all(b - a >= 1000 for a, b in zip(times, times[1:]))
    assert stack.stats["arp"]["rate_limited"] >= 2


def test_the_rate_memory_bounds_requests_stack_wide_but_not_for_the_gateway():
    sim, stack, iface, peer = setup(gateway=PEER_IP, arp_recent=2, arp_pending=8)
    ep = stack.udp.bind(4000)
    for i in range(4):
        ep.sendto(b"x", ("192.0.2.%d" % (50 + i), 9))
    ep.sendto(b"x", ("198.51.100.1", 9))  # off-link: through the gateway
    sim.run(max_ms=1)
    asked = [f[ARP].pdst for f in peer.take() if ARP in f]
    assert asked == ["192.0.2.50", "192.0.2.51", PEER_IP]
    assert stack.stats["arp"]["rate_table_full"] == 2
    assert len(iface.arp.recent) == 3     # arp_recent, plus the gateway
    # Resolutions of our own held back wait for room (the first two's retries take it until
    # they fail): each is asked in the end, none twice within a second
    log = recorder(sim, peer)
    sim.advance(5000)
    for ip in ("192.0.2.52", "192.0.2.53"):
        times = [t for t, f in log if f in solicitations([f], ip)]
        assert times and all(b - a >= 1000 for a, b in zip(times, times[1:]))


# -- bounded tables that strangers cannot fill ------------------------------------------------

def syn_from(ip, mac="02:00:00:00:99:99", sport=1234):
    from scapy.layers.inet import IP, TCP
    return Ether(dst=STACK_MAC, src=mac) / IP(src=ip, dst=STACK_IP) / TCP(sport=sport, dport=80, flags="S")


def test_strangers_answers_never_evict_the_gateways_or_our_own_pending_resolution():
    sim, stack, iface, peer = setup(gateway=PEER_IP, arp_pending=4, syn_backlog=32)
    stack.tcp.listen(80)
    ep = stack.udp.bind(4000)
    ep.sendto(b"to the gateway", ("198.51.100.1", 9))
    ep.sendto(b"our own", ("192.0.2.60", 9))
    for i in range(20):                     # SYNs from strangers: their SYN-ACKs need ARP
        peer.send(syn_from("192.0.2.%d" % (100 + i)))
    sim.run(max_ms=1)
    arp_ = iface.arp
    assert len(arp_.pending) == 4
    assert PEER in arp_.pending and bytes([192, 0, 2, 60]) in arp_.pending
    # Of the strangers, the newest two are left: the oldest went first
    assert set(arp_.pending) - {PEER, bytes([192, 0, 2, 60])} == {bytes([192, 0, 2, 118]),
                                                                   bytes([192, 0, 2, 119])}
    assert stack.stats["arp"]["evicted_pending"] == 18
    peer.reply_arp(peer.take())
    sim.run(max_ms=1)
    assert [bytes(f[UDP].payload) for f in peer.take() if UDP in f] == [b"to the gateway"]


def test_our_own_traffic_is_refused_a_pending_slot_only_when_all_are_our_own():
    sim, stack, iface, peer = setup(gateway=PEER_IP, arp_pending=2)
    ep = stack.udp.bind(4000)
    ep.sendto(b"x", ("198.51.100.1", 9))
    ep.sendto(b"a", ("192.0.2.60", 9))
    ep.sendto(b"b", ("192.0.2.61", 9))      # evicts the older of our own, never the gateway
    assert set(iface.arp.pending) == {PEER, bytes([192, 0, 2, 61])}
    assert stack.stats["arp"]["evicted_pending"] == 1


def test_requests_from_strangers_never_evict_entries_in_use():
    sim, stack, iface, peer = setup(gateway=PEER_IP, arp_size=4)
    ep = stack.udp.bind(4000)
    resolved(sim, stack, peer, ep)          # the gateway, REACHABLE
    for i in range(3):
        iface.arp.learn(bytes([192, 0, 2, 10 + i]), bytes([2, 0, 0, 0, 0, 10 + i]), sim.now)
    for i in range(10):
        peer.send(arp_frame(1, "02:00:00:00:01:%02x" % i, "192.0.2.%d" % (100 + i), STACK_IP))
    sim.run(max_ms=1)
    assert set(iface.arp.entries) == {PEER} | {bytes([192, 0, 2, 10 + i]) for i in range(3)}
    assert stack.stats["arp"]["learn_refused_full"] == 10
    assert len(solicitations(peer.take(), "192.0.2.100")) == 0
    # Stale, they still keep out strangers that ask for us; a neighbour we send to takes the
    # least recently confirmed slot, which is the gateway's, pinned: the next one goes
    sim.advance(30001)
    peer.send(arp_frame(1, "02:00:00:00:01:ff", "192.0.2.201", STACK_IP))
    sim.run(max_ms=1)
    assert stack.stats["arp"]["learn_refused_full"] == 11
    peer.take()
    ep.sendto(b"new", ("192.0.2.200", 9))
    sim.run(max_ms=1)
    peer.reply_arp(peer.take(), ip="192.0.2.200", mac="02:00:00:00:02:00")
    sim.run(max_ms=1)
    assert set(iface.arp.entries) == {PEER, bytes([192, 0, 2, 200])} | \
        {bytes([192, 0, 2, 11 + i]) for i in range(2)}
    assert state(stack, bytes([192, 0, 2, 200])) == "reachable"


def test_answers_to_strangers_never_evict_confirmed_neighbours_of_our_own():
    sim, stack, iface, peer = setup(arp_size=2, syn_backlog=16)
    stack.tcp.listen(80)
    for i in range(2):
        iface.arp.learn(bytes([192, 0, 2, 10 + i]), bytes([2, 0, 0, 0, 0, 10 + i]), sim.now)
    for i in range(4):
        peer.send(syn_from("192.0.2.%d" % (100 + i)))
    sim.run(max_ms=1)
    for f in peer.take():                   # the strangers answer for themselves
        if ARP in f:
            peer.reply_arp([f], ip=f[ARP].pdst, mac="02:00:00:00:09:%02x" % int(f[ARP].pdst.split(".")[3]))
    sim.run(max_ms=1)
    assert set(iface.arp.entries) == {bytes([192, 0, 2, 10]), bytes([192, 0, 2, 11])}
    assert len([f for f in peer.take() if f.haslayer("TCP")]) == 4   # answered all the same
    assert stack.stats["arp"]["learn_refused_full"] == 4


def test_unsolicited_replies_for_unknown_addresses_are_not_learned():
    sim, stack, iface, peer = setup()
    for i in range(10):
        peer.send(Ether(dst=STACK_MAC, src=STRANGER_MAC) /
                  ARP(op=2, hwsrc=STRANGER_MAC, psrc="192.0.2.%d" % (100 + i), hwdst=STACK_MAC,
                      pdst=STACK_IP))
    sim.run(max_ms=1)
    assert iface.arp.entries == {} and iface.arp.pending == {}


# -- spoofing (RFC 826 merge, Linux's rules) --------------------------------------------------

def test_a_different_mac_for_a_confirmed_entry_is_a_spoof_suspect_and_locktime_holds():
    sim, stack, iface, peer = setup(arp_locktime_ms=1000)
    ep = stack.udp.bind(4000)
    resolved(sim, stack, peer, ep)
    spoof = Ether(dst=STACK_MAC, src=STRANGER_MAC) / ARP(op=2, hwsrc=STRANGER_MAC, psrc=PEER_IP,
                                                          hwdst=STACK_MAC, pdst=STACK_IP)
    peer.send(spoof)                        # right after the real reply: the first one wins
    sim.run(max_ms=1)
    st = stack.stats["arp"]
    assert st["spoof_suspect"] == 1 and st["spoof_suspect_reachable"] == 1
    assert st["mac_change_locked"] == 1
    assert iface.arp.entries[PEER].mac == bytes.fromhex("020000000001")
    sim.advance(1000)
    peer.send(spoof)                        # later: the merge rule applies, as in Linux
    sim.run(max_ms=1)
    assert st is not stack.stats["arp"]
    st = stack.stats["arp"]
    assert st["spoof_suspect"] == 2 and st["spoof_suspect_reachable"] == 2
    assert st["mac_changed"] == 1
    assert iface.arp.entries[PEER].mac == bytes.fromhex("020000000066")
    assert state(stack) == "reachable"


def test_a_gratuitous_arp_overrides_the_locktime_and_a_broadcast_confirms_nothing():
    sim, stack, iface, peer = setup()
    ep = stack.udp.bind(4000)
    resolved(sim, stack, peer, ep)
    peer.send(Ether(dst="ff:ff:ff:ff:ff:ff", src=STRANGER_MAC) /
              ARP(op=1, hwsrc=STRANGER_MAC, psrc=PEER_IP, pdst=PEER_IP))
    sim.run(max_ms=1)
    assert iface.arp.entries[PEER].mac == bytes.fromhex("020000000066")
    assert state(stack) == "stale" and stack.stats["arp"]["mac_changed"] == 1


# -- the property: under any input, the rate and the bounds hold --------------------------------

_HOSTS = ["192.0.2.%d" % i for i in (1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13)]
_MACS = ["02:00:00:00:00:%02x" % i for i in range(1, 5)]
_op = st.one_of(
    st.tuples(st.just("arp"), st.sampled_from([1, 2]), st.sampled_from(_HOSTS),
              st.sampled_from(_MACS), st.sampled_from(_HOSTS + [STACK_IP]), st.booleans()),
    st.tuples(st.just("udp"), st.sampled_from(_HOSTS + ["198.51.100.1", "203.0.113.9"])),
    st.tuples(st.just("syn"), st.sampled_from(_HOSTS + ["198.51.100.7"]), st.integers(1, 60000)),
    st.tuples(st.just("ping"), st.sampled_from(_HOSTS)),
    st.tuples(st.just("suspect"), st.sampled_from(_HOSTS + ["198.51.100.1"])),
    st.tuples(st.just("clock"), st.integers(0, 8000)),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=st.lists(_op, max_size=60),
       start=st.sampled_from([0, ticks.PERIOD - 20000]),
       sizes=st.tuples(st.integers(1, 6), st.integers(1, 4), st.integers(1, 4)))
def test_no_target_is_asked_twice_within_a_second_and_the_tables_stay_bounded(ops, start, sizes):
    from scapy.layers.inet import ICMP, IP, TCP
    size, pending, recent = sizes
    nic = ListNIC()
    stack = Stack("board", arp_size=size, arp_pending=pending, arp_recent=recent,
                  arp_retry_ms=700, syn_backlog=8)
    clock = [0]                              # unwrapped virtual ms since start
    iface = stack.add_interface(nic, mac=STACK_MAC, ip=STACK_IP + "/24", gateway=PEER_IP,
                                now_ms=start)
    stack.tcp.listen(80)
    ep = stack.udp.bind(4000)
    asked = {}                               # target -> unwrapped times of requests for it
    a = iface.arp

    def now():
        return (start + clock[0]) % ticks.PERIOD

    def step():
        stack.poll(now())
        for f in nic.sent:
            if f[12:14] == b"\x08\x06" and f[20:22] == b"\x00\x01" and f[38:42] != f[28:32]:
                times = asked.setdefault(f[38:42], [])
                assert not times or clock[0] - times[-1] >= 1000, (f[38:42], times, clock[0])
                times.append(clock[0])
        del nic.sent[:]
        assert len(a.entries) <= size
        assert len(a.pending) <= pending
        assert len(a.recent) <= recent + 1   # the gateway is always asked
        assert set(a.timed) <= set(a.entries)
        assert "drop_internal_error" not in stack.stats["stack"]

    for op in ops:
        kind = op[0]
        if kind == "arp":
            _, code, src, mac, dst, unicast = op
            frame = arp_frame(code, mac, src, dst, eth_dst=STACK_MAC if unicast else "ff:ff:ff:ff:ff:ff")
            stack.input(iface, bytes(frame), now())
        elif kind == "udp":
            try:
                ep.sendto(b"x", (op[1], 9))
            except OSError:
                pass
        elif kind == "syn":
            stack.input(iface, bytes(Ether(dst=STACK_MAC, src=_MACS[0]) / IP(src=op[1], dst=STACK_IP) /
                                     TCP(sport=op[2], dport=80, flags="S")), now())
        elif kind == "ping":
            stack.input(iface, bytes(Ether(dst=STACK_MAC, src=_MACS[0]) / IP(src=op[1], dst=STACK_IP) /
                                     ICMP()), now())
        elif kind == "suspect":
            stack.ip.neighbor_suspect(ip_aton(op[1]))
        else:
            # Step through the interval as a runner would, at each deadline poll reports
            end = clock[0] + op[1]
            while True:
                step()
                wait = stack.poll(now())
                if wait is None or clock[0] + max(wait, 1) > end:
                    break
                clock[0] += max(wait, 1)
            clock[0] = end
        step()
