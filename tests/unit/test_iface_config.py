"""Interfaces that change: configure() at run time, the unconfigured state DHCP needs, and the
carrier going down and coming back (reported by the NIC's `link_up`, seen by the loop step)."""

import pytest
from scapy.layers.inet import IP, TCP as ScapyTCP, UDP
from scapy.layers.l2 import ARP, Ether

from barenet.compat import ECONNABORTED, ENETDOWN, ENETUNREACH
from barenet.nic import Wrapper
from barenet_host.vwire import Sim
from peer import PEER_IP, PEER_MAC, STACK_IP, STACK_MAC, Peer

NEW_IP = "192.0.2.50"


def unconfigured(**kw):
    sim = Sim()
    wire = sim.wire()
    stack, iface = sim.host(wire, STACK_MAC, None, **kw)
    peer = Peer(wire)
    sim.run(max_ms=1)
    return sim, stack, iface, peer


def test_an_unconfigured_interface_is_silent_and_announces_nothing():
    sim, stack, iface, peer = unconfigured()
    assert not iface.configured and iface.ip == bytes(4)
    assert peer.take() == []                           # no gratuitous ARP for 0.0.0.0
    with pytest.raises(OSError) as e:
        stack.udp.bind().sendto(b"x", (PEER_IP, 9))   # no route but the limited broadcast
    assert e.value.errno == ENETUNREACH


def test_unconfigured_sends_and_receives_the_limited_broadcast_as_dhcp_needs():
    sim, stack, iface, peer = unconfigured()
    client = stack.udp.bind(68)
    client.sendto(b"DISCOVER", ("255.255.255.255", 67))
    sim.run(max_ms=1)
    (f,) = peer.take()
    # RFC 2131 4.1: from 0.0.0.0 to 255.255.255.255, broadcast MAC
    assert f.dst == "ff:ff:ff:ff:ff:ff" and f[IP].src == "0.0.0.0" and \
        f[IP].dst == "255.255.255.255" and f[UDP].sport == 68 and f[UDP].dport == 67
    offer = Ether(dst="ff:ff:ff:ff:ff:ff", src=PEER_MAC) / \
        IP(src=PEER_IP, dst="255.255.255.255") / UDP(sport=67, dport=68) / b"OFFER"
    peer.send(offer)
    # and unicast to an address that is not ours yet is not ours
    peer.send(Ether(dst=STACK_MAC, src=PEER_MAC) / IP(src=PEER_IP, dst=NEW_IP) /
              UDP(sport=67, dport=68) / b"UNICAST")
    sim.run(max_ms=1)
    assert client.recvfrom() == (b"OFFER", (PEER_IP, 67))
    assert client.recvfrom() is None
    assert stack.stats["ip"]["drop_not_ours"] == 1


def test_configure_announces_the_address_and_answers_for_it():
    sim, stack, iface, peer = unconfigured()
    told = []
    iface.on_event = told.append
    iface.configure(NEW_IP + "/24", gateway=PEER_IP)
    assert told == [iface] and iface.events == 1
    sim.run(max_ms=1)
    (g,) = peer.take()
    assert g[ARP].op == 1 and g[ARP].psrc == NEW_IP and g[ARP].pdst == NEW_IP   # gratuitous
    peer.send(Ether(dst="ff:ff:ff:ff:ff:ff", src=PEER_MAC) /
              ARP(op=1, hwsrc=PEER_MAC, psrc=PEER_IP, pdst=NEW_IP))
    sim.run(max_ms=1)
    (r,) = peer.take()
    assert r[ARP].op == 2 and r[ARP].psrc == NEW_IP and r[ARP].hwsrc == STACK_MAC
    assert iface.gateway == bytes([192, 0, 2, 1]) and iface.prefix == 24


def test_a_gateway_off_the_new_subnet_is_refused_and_nothing_changes():
    sim, stack, iface, peer = unconfigured()
    iface.configure(STACK_IP + "/24")
    with pytest.raises(ValueError):
        iface.configure(NEW_IP + "/24", gateway="198.51.100.1")
    assert iface.ip == bytes([192, 0, 2, 2]) and iface.gateway is None


def test_a_new_address_aborts_connections_on_the_old_and_moves_bound_endpoints():
    sim, stack, iface, peer = unconfigured()
    iface.configure(STACK_IP + "/24")
    sim.run(max_ms=1)
    peer.take()
    iface.arp.learn(bytes([192, 0, 2, 1]), bytes.fromhex(PEER_MAC.replace(":", "")), sim.now)
    lst = stack.tcp.listen(80, addr=STACK_IP)
    ep = stack.udp.bind(7, addr=STACK_IP)
    conn = stack.tcp.connect(PEER_IP, 9)
    sim.run(max_ms=1)
    (syn,) = peer.take()
    assert syn[ScapyTCP].flags == "S"
    iface.configure(NEW_IP + "/24")
    sim.run(max_ms=1)
    # No RST from an address that is no longer ours (RFC 1122 3.2.1.3): only the announcement
    assert [f[ARP].psrc for f in peer.take()] == [NEW_IP]
    assert conn.info()["state"] == "CLOSED" and conn.info()["error"] == ECONNABORTED
    assert stack.tcp.connections() == []
    assert ep.addr == bytes([192, 0, 2, 50]) and lst.addr == bytes([192, 0, 2, 50])
    # the moved endpoint answers on the new address
    peer.send(Ether(dst=STACK_MAC, src=PEER_MAC) / IP(src=PEER_IP, dst=NEW_IP) /
              UDP(sport=1000, dport=7) / b"hi")
    sim.run(max_ms=1)
    assert ep.recvfrom() == (b"hi", (PEER_IP, 1000))


class Cable(Wrapper):
    """A pull NIC whose carrier the test unplugs (as a W5500 PHY reports it)."""

    def __init__(self, nic):
        Wrapper.__init__(self, nic)
        self.plugged = True

    @property
    def link_up(self):
        return self.plugged

    def send(self, frame):
        if self.plugged:
            self.nic.send(frame)

    def recv_into(self, buf):
        return self.nic.recv_into(buf) if self.plugged else 0


def cabled(**kw):
    sim = Sim()
    wire = sim.wire()
    from barenet.stack import Stack

    stack = Stack(**kw)
    cable = Cable(wire.nic())
    iface = stack.add_interface(cable, mac=STACK_MAC, ip=STACK_IP + "/24", now_ms=sim.now)
    sim.add_stack(stack)
    peer = Peer(wire)
    sim.run(max_ms=1)
    peer.take()
    return sim, stack, iface, peer, cable


def test_link_down_is_seen_by_the_loop_step_and_routes_fail_until_it_is_back():
    sim, stack, iface, peer, cable = cabled()
    iface.arp.learn(bytes([192, 0, 2, 1]), bytes.fromhex(PEER_MAC.replace(":", "")), sim.now)
    told = []
    iface.on_event = lambda i: told.append(i.link_up)    # how an app learns of it
    cable.plugged = False
    sim.advance(1)
    assert not iface.link_up and not iface.running and told == [False]
    assert iface.arp.entries == {}                      # who is on the link may change
    assert stack.stats["if_eth0"]["link_down"] == 1
    with pytest.raises(OSError) as e:
        stack.udp.bind().sendto(b"x", (PEER_IP, 9))
    assert e.value.errno == ENETUNREACH
    cable.plugged = True
    sim.advance(1)
    assert iface.running and stack.stats["if_eth0"]["link_up"] == 1 and told == [False, True]
    (g,) = peer.take()
    assert g[ARP].psrc == STACK_IP and g[ARP].pdst == STACK_IP   # announced again
    assert iface.link_changes == 2


def test_tcp_takes_link_loss_as_a_soft_error_and_retransmits_when_it_returns():
    sim, stack, iface, peer, cable = cabled(rto_min_ms=200)
    iface.arp.learn(bytes([192, 0, 2, 1]), bytes.fromhex(PEER_MAC.replace(":", "")), sim.now)
    conn = stack.tcp.connect(PEER_IP, 9, src_port=4000)
    sim.run(max_ms=1)
    (syn,) = peer.take()
    peer.send(Ether(dst=STACK_MAC, src=PEER_MAC) / IP(src=PEER_IP, dst=STACK_IP) /
              ScapyTCP(sport=9, dport=4000, flags="SA", seq=100, ack=syn[ScapyTCP].seq + 1,
                       window=65535, options=[("MSS", 1460)]))
    sim.run(max_ms=1)
    peer.take()
    assert conn.info()["state"] == "ESTABLISHED"
    cable.plugged = False
    conn.send(b"while unplugged")
    sim.advance(20000)                  # many backed-off RTOs: the connection stays
    assert conn.info()["state"] == "ESTABLISHED" and conn.info()["timeouts"] >= 3
    assert conn.soft_error == ENETDOWN
    rto = conn.info()["rto_ms"]
    assert rto >= 3200
    cable.plugged = True
    sim.advance(1)
    # Back at once, not after the backed-off RTO: the announcement, then (the neighbours were
    # flushed when the link went) ARP for the peer, then the data.
    frames = peer.take()
    assert [f[ARP].pdst for f in frames] == [STACK_IP, PEER_IP]
    peer.reply_arp(frames)
    sim.advance(1)
    data = [f for f in peer.take() if ScapyTCP in f]
    assert data and bytes(data[0][ScapyTCP].payload) == b"while unplugged"
    peer.send(Ether(dst=STACK_MAC, src=PEER_MAC) / IP(src=PEER_IP, dst=STACK_IP) /
              ScapyTCP(sport=9, dport=4000, flags="A", seq=101,
                       ack=data[0][ScapyTCP].seq + len(b"while unplugged"), window=65535))
    sim.run(max_ms=1)
    assert conn.info()["unacked"] == 0 and conn.soft_error == 0


def test_an_unanswered_connection_over_a_dead_link_reports_enetdown():
    sim, stack, iface, peer, cable = cabled(rto_min_ms=200, syn_retries=2)
    iface.arp.learn(bytes([192, 0, 2, 1]), bytes.fromhex(PEER_MAC.replace(":", "")), sim.now)
    conn = stack.tcp.connect(PEER_IP, 9)
    sim.run(max_ms=1)
    cable.plugged = False
    sim.advance(60000)
    assert conn.info()["state"] == "CLOSED" and conn.info()["error"] == ENETDOWN
