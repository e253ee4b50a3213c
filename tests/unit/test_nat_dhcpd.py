"""The gateway's DHCP server (barenet_host.nat.dhcpd) against clients scripted with scapy on
the virtual wire (RFC 2131 4.3: DISCOVER, REQUEST, DECLINE, RELEASE, INFORM)."""

from scapy.layers.dhcp import BOOTP, DHCP
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import ARP, Ether

from barenet_host.nat.dhcpd import DHCPServer
from barenet_host.vwire import Sim


class World:
    def __init__(self, pool=("192.0.2.100", "192.0.2.110")):
        self.sim = Sim()
        self.wire = self.sim.wire()
        self.gw, _ = self.sim.host(self.wire, "02:00:00:00:00:01", "192.0.2.1/24")
        self.srv = DHCPServer(self.gw, pool[0], pool[1], lease_s=600)
        self.sim.add_task(self.srv.poll, self.gw)
        self.port = self.wire.nic()

    def ask(self, mac, typ, xid=1, ciaddr="0.0.0.0", **opts):
        """One message from client mac; -> the replies (scapy Ether) it brought."""
        self.port.received.clear()
        options = [("message-type", typ)] + list(opts.items()) + ["end"]
        src = ciaddr if ciaddr != "0.0.0.0" else "0.0.0.0"
        dst = "192.0.2.1" if typ == "release" else "255.255.255.255"
        f = (Ether(src=mac, dst="ff:ff:ff:ff:ff:ff" if dst.endswith("255") else
                   "02:00:00:00:00:01") /
             IP(src=src, dst=dst) / UDP(sport=68, dport=67) /
             BOOTP(op=1, xid=xid, ciaddr=ciaddr, flags=0x8000,
                   chaddr=bytes.fromhex(mac.replace(":", "")) + bytes(10)) /
             DHCP(options=options))
        self.port.send(bytes(f))
        self.sim.advance(10)
        for x in list(self.port.received):      # a client with an address answers ARP
            e = Ether(x)
            if e.haslayer(ARP) and e[ARP].op == 1 and e[ARP].pdst == ciaddr:
                self.port.send(bytes(Ether(src=mac, dst=e.src) / ARP(
                    op=2, hwsrc=mac, psrc=ciaddr, hwdst=e.src, pdst=e[ARP].psrc)))
                self.sim.advance(10)
        return [Ether(x) for x in self.port.received if Ether(x).haslayer(BOOTP) and
                Ether(x)[BOOTP].op == 2]


def opts(e):
    return dict(o for o in e[DHCP].options if isinstance(o, tuple))


A = "02:00:00:00:00:0a"
B = "02:00:00:00:00:0b"
C = "02:00:00:00:00:0c"


def test_discover_request_ack():
    w = World()
    offer, = w.ask(A, "discover")
    assert offer[BOOTP].yiaddr == "192.0.2.100" and offer[IP].dst == "255.255.255.255"
    o = opts(offer)
    assert o["message-type"] == 2 and o["server_id"] == "192.0.2.1"
    assert o["subnet_mask"] == "255.255.255.0" and o["router"] == "192.0.2.1"
    assert o["name_server"] == "192.0.2.1" and o["lease_time"] == 600
    assert (o["renewal_time"], o["rebinding_time"]) == (300, 525)
    ack, = w.ask(A, "request", requested_addr="192.0.2.100", server_id="192.0.2.1")
    assert opts(ack)["message-type"] == 5 and ack[BOOTP].yiaddr == "192.0.2.100"
    # a second client gets the next address; the first keeps its own when it asks again
    assert w.ask(B, "discover")[0][BOOTP].yiaddr == "192.0.2.101"
    assert w.ask(A, "discover")[0][BOOTP].yiaddr == "192.0.2.100"


def test_request_for_another_server_frees_the_offer():
    w = World()
    w.ask(A, "discover")
    assert w.ask(A, "request", requested_addr="192.0.2.100", server_id="192.0.2.99") == []
    assert w.ask(B, "discover")[0][BOOTP].yiaddr == "192.0.2.100"


def test_pool_exhausted_means_no_offer():
    w = World(pool=("192.0.2.100", "192.0.2.101"))
    for mac in (A, B):
        ip = w.ask(mac, "discover")[0][BOOTP].yiaddr
        w.ask(mac, "request", requested_addr=ip, server_id="192.0.2.1")
    assert w.ask(C, "discover") == [] and w.srv.stats["pool_exhausted"] == 1


def test_decline_rests_the_address_and_release_frees_one():
    w = World()
    w.ask(A, "discover")
    w.ask(A, "request", requested_addr="192.0.2.100", server_id="192.0.2.1")
    w.ask(A, "decline", requested_addr="192.0.2.100", server_id="192.0.2.1")
    assert w.ask(B, "discover")[0][BOOTP].yiaddr == "192.0.2.101"      # .100 is someone's
    w.ask(B, "request", requested_addr="192.0.2.101", server_id="192.0.2.1")
    w.ask(B, "release", ciaddr="192.0.2.101", server_id="192.0.2.1")
    assert [x[1] for x in w.srv.leases()] == []
    assert w.ask(C, "discover")[0][BOOTP].yiaddr == "192.0.2.101"


def test_renewal_is_answered_at_the_client_address_and_unknown_ones_are_nak():
    w = World()
    w.ask(A, "discover")
    w.ask(A, "request", requested_addr="192.0.2.100", server_id="192.0.2.1")
    ack, = w.ask(A, "request", ciaddr="192.0.2.100")
    assert ack[IP].dst == "192.0.2.100" and opts(ack)["message-type"] == 5
    # INIT-REBOOT for an address off the pool: NAK by broadcast
    nak, = w.ask(B, "request", requested_addr="198.51.100.5")
    assert opts(nak)["message-type"] == 6 and nak[IP].dst == "255.255.255.255"
    # INFORM: configuration without a lease
    inf, = w.ask(C, "inform", ciaddr="192.0.2.50")
    assert opts(inf)["message-type"] == 5 and "lease_time" not in opts(inf)


def test_malformed_is_counted():
    w = World()
    w.port.send(bytes(Ether(src=A, dst="ff:ff:ff:ff:ff:ff") / IP(src="0.0.0.0",
                dst="255.255.255.255") / UDP(sport=68, dport=67) / (b"\x01" * 50)))
    w.sim.advance(10)
    assert w.srv.stats == {"drop_short": 1}
