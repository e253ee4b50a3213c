"""The DHCP client (barenet/dhcp.py) against the gateway's server (barenet_host.nat.dhcpd) on
the virtual wire, in virtual time across the tick wrap. Every frame the client sends is read
back with scapy (an independent decoder) from a sniffer port.

RFC 2131 4.1 (retransmission 4 s doubling to 64 s, +-1 s), 4.4.5 (T1/T2, half the time left and
at least 60 s), 3.1.5 (DECLINE, then 10 s); RFC 5227 2.1.1 (probes from 0.0.0.0)."""

import pytest
from hypothesis import given, settings, strategies as st
from scapy.layers.dhcp import BOOTP, DHCP
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import ARP, Ether

from barenet import dhcp
from barenet.stack import Stack
from barenet.wire import dhcp as w
from barenet_host.nat.dhcpd import DHCPServer
from barenet_host.vwire import Sim

GW_MAC = "02:00:00:00:00:01"
MAC = "02:00:00:00:00:02"
START = (1 << 30) - 20000       # the exchange crosses the tick wrap


class Drop:
    """A fault model for one port: drops the next `count` frames that match pred."""

    def __init__(self, pred, count):
        self.pred = pred
        self.count = count

    def apply(self, frame, now):
        if self.count and self.pred(frame):
            self.count -= 1
            return []
        return [(now, frame)]


def dhcp_type(frame):
    e = Ether(frame)
    if not e.haslayer(BOOTP):
        return None
    return dict(o for o in e[DHCP].options if isinstance(o, tuple)).get("message-type")


class World:
    def __init__(self, lease_s=600, client_faults=None, link="ethernet", **kw):
        self.sim = sim = Sim(start_ms=START)
        self.wire = wire = sim.wire(link=link)
        mac = GW_MAC if link == "ethernet" else None
        self.gw, self.gif = sim.host(wire, mac, "192.0.2.1/24")
        self.srv = DHCPServer(self.gw, "192.0.2.100", "192.0.2.110", lease_s=lease_s)
        sim.add_task(self.srv.poll, self.gw)
        self.stack = Stack("board", seed=7)
        self.iface = self.stack.add_interface(wire.nic(faults=client_faults),
                                              mac=MAC if link == "ethernet" else None,
                                              link=link, now_ms=sim.now)
        sim.add_stack(self.stack)
        self.client = dhcp.DHCPClient(self.stack, self.iface, **kw)
        sim.add_task(self.client.poll, self.stack)
        self.sent = []          # (virtual ms, frame) of every frame the client sends
        sniff = wire.nic()
        sniff.on_frame = self._sniff

    def _sniff(self, frame, now):
        if self.wire.link != "ethernet" or Ether(frame).src == MAC:
            self.sent.append((self.sim.ms, frame))

    def run_until(self, state, max_ms=120000):
        assert self.sim.run(until=lambda: self.client.state == state, max_ms=max_ms), \
            (self.client.state, self.client.stats)
        self.sim.settle()       # what the last step sent reaches the sniffer

    def times(self, msg_type):
        return [t for t, f in self.sent if dhcp_type(f) == msg_type]


def test_full_exchange_probe_then_bound():
    # DISCOVER, OFFER, REQUEST, ACK, three probes 1 s apart, then the address
    wd = World()
    iface = wd.iface
    assert not iface.configured
    wd.run_until(dhcp.PROBING)
    assert not iface.configured             # not before the probe has passed
    wd.run_until(dhcp.BOUND)
    assert iface.configured and iface.ip == bytes([192, 0, 2, 100]) and iface.prefix == 24
    assert iface.gateway == bytes([192, 0, 2, 1]) and iface.dns == [bytes([192, 0, 2, 1])]
    disc, req = (Ether(f) for t, f in wd.sent if dhcp_type(f) in (1, 3))
    for e in (disc, req):
        assert e.dst == "ff:ff:ff:ff:ff:ff" and e[IP].src == "0.0.0.0"
        assert e[IP].dst == "255.255.255.255" and (e[UDP].sport, e[UDP].dport) == (68, 67)
        assert e[BOOTP].flags == 0x8000 and e[BOOTP].chaddr[:6] == bytes.fromhex("020000000002")
    opts = dict(o for o in req[DHCP].options if isinstance(o, tuple))
    assert opts["requested_addr"] == "192.0.2.100" and opts["server_id"] == "192.0.2.1"
    arps = [(t, Ether(f)[ARP]) for t, f in wd.sent if Ether(f).haslayer(ARP)]
    probes = [(t, a) for t, a in arps if a.psrc == "0.0.0.0"]
    assert [a.pdst for _, a in probes] == ["192.0.2.100"] * 3
    assert [probes[i + 1][0] - probes[i][0] for i in range(2)] == [1000, 1000]
    # then the announcement (RFC 5227 3), after the last probe's second
    announce = [(t, a) for t, a in arps if a.psrc == a.pdst == "192.0.2.100"]
    assert announce and announce[0][0] - probes[-1][0] == 1000
    info = wd.client.info()
    assert info["address"] == "192.0.2.100/24" and info["router"] == "192.0.2.1"
    assert info["lease_s"] == 600 and info["server"] == "192.0.2.1"
    assert wd.srv.leases() == [("01" + MAC.replace(":", ""), "192.0.2.100", True)]


def test_lost_offers_retransmit_with_doubling_backoff():
    # RFC 2131 4.1: 4 s, 8 s, 16 s, 32 s, 64 s, 64 s, each +-1 s
    wd = World(client_faults=Drop(lambda f: dhcp_type(f) == 2, 6))
    wd.run_until(dhcp.BOUND, max_ms=400000)
    t = wd.times(1)
    assert len(t) == 7
    gaps = [t[i + 1] - t[i] for i in range(6)]
    for gap, base in zip(gaps, (4000, 8000, 16000, 32000, 64000, 64000)):
        assert base - 1000 <= gap <= base + 1000, gaps
    assert len(set(g % 1000 for g in gaps)) > 1     # randomised, not a fixed schedule
    assert wd.client.stats["retransmit"] == 6


def test_lost_acks_retransmit_request_then_start_over():
    # Four REQUESTs unanswered (4, 8, 16 s apart): back to INIT and a new DISCOVER
    wd = World(client_faults=Drop(lambda f: dhcp_type(f) == 5, 4))
    wd.run_until(dhcp.BOUND, max_ms=200000)
    req = wd.times(3)
    assert len(req) == 5
    gaps = [req[i + 1] - req[i] for i in range(3)]
    for gap, base in zip(gaps, (4000, 8000, 16000)):
        assert base - 1000 <= gap <= base + 1000, gaps
    disc = wd.times(1)
    assert len(disc) == 2 and disc[1] > req[3]
    assert wd.client.stats["request_timeout"] == 1


def test_renew_at_t1_rebind_at_t2_expiry_removes_the_address():
    wd = World(lease_s=600)
    wd.run_until(dhcp.BOUND)
    bound_at = wd.sim.ms
    wd.run_until(dhcp.RENEWING, max_ms=400000)
    renew = [(t, Ether(f)) for t, f in wd.sent if dhcp_type(f) == 3][-1]
    # T1 is half the lease from the REQUEST that got the ACK, unicast to the server
    assert 296000 <= renew[0] - bound_at <= 300000
    e = renew[1]
    assert e[IP].src == "192.0.2.100" and e[IP].dst == "192.0.2.1"
    assert e[BOOTP].ciaddr == "192.0.2.100" and e[BOOTP].flags == 0
    wd.run_until(dhcp.BOUND)
    assert wd.client.stats["renewed"] == 1
    # The server goes away: renew retries (half of the time to T2, at least 60 s), rebind by
    # broadcast at T2, and at the lease's end the address goes
    wd.srv.ep.close()
    t1 = wd.sim.ms
    wd.run_until(dhcp.REBINDING, max_ms=600000)
    wd.run_until(dhcp.SELECTING, max_ms=600000)
    assert not wd.iface.configured and wd.client.stats["expired"] == 1
    reqs = [(t - t1, Ether(f)) for t, f in wd.sent if dhcp_type(f) == 3 and t > t1]
    got = [round(t / 500) * 500 for t, _ in reqs]
    # renewing at 300, 412.5, 472.5 s; rebinding at 525, 585 s (lease 600 s from the renewal)
    assert got == [300000, 412500, 472500, 525000, 585000], got
    assert [e[IP].dst for _, e in reqs] == ["192.0.2.1"] * 3 + ["255.255.255.255"] * 2
    assert wd.client.stats["expired"] == 1


def test_conflict_found_by_the_probe_declines_and_takes_another_address():
    wd = World()
    # A host that already holds .100 without the server knowing: it answers the probe
    other, _ = wd.sim.host(wd.wire, "02:00:00:00:00:99", "192.0.2.100/24")
    wd.run_until(dhcp.BOUND, max_ms=60000)
    assert wd.client.stats["conflict"] == 1 and wd.iface.ip == bytes([192, 0, 2, 101])
    dec = [Ether(f) for t, f in wd.sent if dhcp_type(f) == 4]
    assert len(dec) == 1
    opts = dict(o for o in dec[0][DHCP].options if isinstance(o, tuple))
    assert opts["requested_addr"] == "192.0.2.100" and opts["server_id"] == "192.0.2.1"
    # RFC 2131 3.1.5: the next DISCOVER at least 10 s after the DECLINE
    t_dec = [t for t, f in wd.sent if dhcp_type(f) == 4][0]
    assert wd.times(1)[1] - t_dec >= 10000
    assert wd.stack.arp_stats["probe_conflict"] >= 1


def test_nak_on_renewal_unconfigures_and_starts_over():
    wd = World()
    wd.run_until(dhcp.BOUND)
    wd.srv.pool = [bytes([192, 0, 2, 120])]     # the server renumbered: .100 is not its own
    wd.run_until(dhcp.RENEWING, max_ms=400000)
    assert wd.sim.run(until=lambda: wd.client.stats.get("rx_nak"), max_ms=10000)
    assert not wd.iface.configured and not wd.client.bound
    wd.run_until(dhcp.BOUND, max_ms=60000)
    assert wd.iface.ip == bytes([192, 0, 2, 120]) and wd.client.stats["rx_nak"] == 1


def test_release_gives_the_address_back():
    wd = World()
    wd.run_until(dhcp.BOUND)
    wd.client.release(wd.sim.now)
    wd.sim.advance(1000)
    rel = [Ether(f) for t, f in wd.sent if dhcp_type(f) == 7]
    assert len(rel) == 1 and rel[0][IP].dst == "192.0.2.1"
    assert rel[0][BOOTP].ciaddr == "192.0.2.100"
    assert wd.srv.leases() == [] and not wd.iface.configured
    assert wd.client.state == dhcp.STOPPED and wd.client.poll(wd.sim.now) is None


def test_ip_link_needs_a_client_id_and_skips_the_probe():
    with pytest.raises(ValueError):
        World(link="ip")
    wd = World(link="ip", client_id=b"\x00board-7")
    wd.run_until(dhcp.BOUND, max_ms=30000)
    assert wd.iface.ip == bytes([192, 0, 2, 100])
    assert wd.srv.leases()[0][0] == b"\x00board-7".hex()
    # bound within the first DISCOVER's random delay (<= 1 s): no 3 s of probes
    assert wd.sim.ms - START <= 1000


def test_malformed_replies_are_counted_and_dropped():
    wd = World()
    port = wd.wire.nic()
    frame = bytes(Ether(dst="ff:ff:ff:ff:ff:ff", src=GW_MAC) /
                  IP(src="192.0.2.1", dst="255.255.255.255") / UDP(sport=67, dport=68) /
                  (b"\x02" + bytes(20)))
    port.send(frame)
    wd.run_until(dhcp.BOUND)
    assert wd.client.stats["drop_short"] == 1
    assert wd.stack.stats["stack"].get("drop_internal_error") is None


def test_a_long_lease_is_kept_inside_the_tick_clock():
    # 30 days: deadlines beyond half the 2**30 ms period would wrap (ticks.py)
    wd = World(lease_s=30 * 86400)
    wd.run_until(dhcp.BOUND)
    info = wd.client.info()
    assert info["lease_s"] == (1 << 28) // 1000
    assert 0 < info["renew_in_s"] < info["rebind_in_s"] < info["expires_in_s"]


def test_client_and_server_speak_only_on_their_own_interface():
    # Both stacks have a first interface on another wire: the broadcasts must not go there
    sim = Sim(start_ms=START)
    other, board_link = sim.wire(), sim.wire()
    gw = Stack("board")
    gw.add_interface(other.nic(), mac="02:00:00:00:01:01", ip="198.51.100.1/24", now_ms=sim.now)
    gif = gw.add_interface(board_link.nic(), mac=GW_MAC, ip="192.0.2.1/24", now_ms=sim.now)
    sim.add_stack(gw)
    srv = DHCPServer(gw, "192.0.2.100", "192.0.2.110", iface=gif)
    sim.add_task(srv.poll, gw)
    st = Stack("board")
    st.add_interface(other.nic(), mac="02:00:00:00:01:02", ip="198.51.100.2/24", now_ms=sim.now)
    iface = st.add_interface(board_link.nic(), mac=MAC, now_ms=sim.now)
    sim.add_stack(st)
    c = dhcp.DHCPClient(st, iface)
    sim.add_task(c.poll, st)
    sniff = other.nic()
    assert sim.run(until=lambda: c.state == dhcp.BOUND, max_ms=30000)
    assert iface.ip == bytes([192, 0, 2, 100])
    assert not any(dhcp_type(f) for f in sniff.received)


def _reply_frame(payload):
    """Ethernet + IPv4 + UDP 67 -> 68 broadcast around payload, UDP checksum 0 (none)."""
    import struct
    from barenet.wire import ipv4
    udp = struct.pack("!HHHH", 67, 68, 8 + len(payload), 0) + payload
    ip = bytearray(20)
    ipv4.emit(ip, 0, bytes([192, 0, 2, 1]), b"\xff\xff\xff\xff", 17, len(udp), 1)
    return b"\xff" * 6 + bytes.fromhex("020000000001") + b"\x08\x00" + bytes(ip) + udp


_CODES = [w.OPT_SUBNET_MASK, w.OPT_ROUTER, w.OPT_DNS, w.OPT_LEASE_TIME, w.OPT_T1, w.OPT_T2,
          w.OPT_SERVER_ID, w.OPT_MSG_TYPE]


@given(st.lists(st.tuples(st.sampled_from(_CODES), st.binary(max_size=9)), max_size=10),
       st.sampled_from([w.OFFER, w.ACK, w.NAK, 9]), st.binary(min_size=4, max_size=4))
@settings(max_examples=300, deadline=None)
def test_any_reply_options_leave_the_client_sound(opts, typ, yiaddr):
    # Replies with our xid and MAC but any option values (short, long, contradictory T1/T2,
    # a zero lease, a non-contiguous mask): the client never raises, and a lease it takes is
    # one it can keep (T1 <= T2 <= lease)
    st_ = Stack("board", seed=5)
    iface = st_.add_interface(_Sink(), mac=MAC, now_ms=0)
    c = dhcp.DHCPClient(st_, iface, probe=False, now_ms=0)
    c.poll(c.next_at)                                # DISCOVER sent: SELECTING
    for state in (dhcp.SELECTING, dhcp.REQUESTING):
        o = {w.OPT_MSG_TYPE: bytes([w.OFFER if state == dhcp.SELECTING else typ]),
             w.OPT_SERVER_ID: bytes([192, 0, 2, 1])}
        o.update(dict(opts))
        m = w.Message(w.BOOTREPLY, c.xid, bytes.fromhex(MAC.replace(":", "")), o,
                      yiaddr=yiaddr)
        st_.input(iface, _reply_frame(w.build(m)), 10)
        c.poll(10)
    assert st_.stats["stack"].get("drop_internal_error") is None, st_.last_error
    if c.lease is not None:
        lease, t1, t2 = c.lease[4:]
        assert 0 <= t1 <= t2 <= lease and c.bound == (c.state == dhcp.BOUND)


class _Sink:
    link = "ethernet"
    mtu = 1500

    def send(self, frame):
        pass

    def recv_into(self, buf):
        return 0


def _replug(wd):
    nic = wd.iface.nic
    nic.link_up = False
    wd.sim.advance(2000)
    nic.link_up = True


def test_carrier_back_asks_to_keep_the_address():
    # RFC 2131 3.2 / 4.4.2 INIT-REBOOT: the address in option 50, no server id, no ciaddr
    wd = World()
    wd.run_until(dhcp.BOUND)
    _replug(wd)
    wd.run_until(dhcp.REBOOTING, max_ms=5000)
    wd.run_until(dhcp.BOUND, max_ms=10000)
    e = [Ether(f) for t, f in wd.sent if dhcp_type(f) == 3][-1]
    o = dict(x for x in e[DHCP].options if isinstance(x, tuple))
    assert o["requested_addr"] == "192.0.2.100" and "server_id" not in o
    assert e[BOOTP].ciaddr == "0.0.0.0" and e[IP].dst == "255.255.255.255"
    assert wd.client.stats["rebooted"] == 1 and wd.iface.ip == bytes([192, 0, 2, 100])


def test_carrier_back_on_another_network_is_nak_then_a_new_lease():
    wd = World()
    wd.run_until(dhcp.BOUND)
    wd.srv.pool = [bytes([192, 0, 2, 120])]     # as if plugged into another network
    _replug(wd)
    wd.run_until(dhcp.BOUND, max_ms=60000)
    while wd.iface.ip != bytes([192, 0, 2, 120]):
        wd.run_until(dhcp.BOUND, max_ms=60000)
    assert wd.client.stats["rx_nak"] == 1


def test_carrier_back_with_no_server_keeps_the_lease():
    # RFC 2131 3.2: no answer to the INIT-REBOOT REQUESTs: the lease is used on
    wd = World()
    wd.run_until(dhcp.BOUND)
    t1 = wd.client.t1_at
    wd.srv.ep.close()
    _replug(wd)
    wd.run_until(dhcp.REBOOTING, max_ms=5000)
    wd.run_until(dhcp.BOUND, max_ms=90000)         # four REQUESTs, 4 + 8 + 16 + 32 s
    assert wd.client.stats["request_timeout"] == 1 and wd.iface.ip == bytes([192, 0, 2, 100])
    assert wd.client.t1_at == t1


@pytest.mark.parametrize("spoil, what, why", [
    (lambda s: setattr(s, "lease_s", 0), "ack", "a lease of 0 s"),
    (lambda s: setattr(s, "prefix", 0), "ack", "a subnet mask of /0"),
    (lambda s: setattr(s, "prefix", 32), "ack", "a subnet mask of /32"),
    (lambda s: setattr(s, "pool", [bytes([192, 0, 2, 255])]), "ack",
     "address 192.0.2.255/24 is the subnet's broadcast address"),
    (lambda s: setattr(s, "pool", [bytes([255, 255, 255, 255])]), "offer",
     "address 255.255.255.255 is not a unicast host address (RFC 1122 3.2.1.3)"),
    (lambda s: setattr(s, "pool", [bytes([127, 0, 0, 9])]), "offer",
     "address 127.0.0.9 is not a unicast host address (RFC 1122 3.2.1.3)"),
], ids=["zero-lease", "mask-0", "mask-32", "subnet-broadcast", "broadcast", "loopback"])
def test_a_server_offering_nonsense_is_refused_with_a_log_line(spoil, what, why):
    """The interface stays unconfigured, the refusal is counted and logged once per reply."""
    lines = []
    wd = World(log=lines.append)
    spoil(wd.srv)
    wd.sim.run(until=lambda: False, max_ms=30000)
    assert not wd.iface.configured and not wd.client.bound
    assert wd.client.stats["refused_" + what] >= 1
    assert lines and set(lines) == {"DHCP: refused the %s of 192.0.2.1: %s" % (what, why)}
    assert len(lines) == wd.client.stats["refused_" + what]     # one per reply refused


def test_the_log_says_bound_and_expired():
    lines = []
    wd = World(lease_s=120, log=lines.append)
    wd.run_until(dhcp.BOUND)
    bound = ("DHCP: bound 192.0.2.100/24 router 192.0.2.1 dns 192.0.2.1 lease 120 s from "
             "192.0.2.1")
    assert lines == [bound]
    wd.run_until(dhcp.RENEWING, max_ms=100000)
    wd.run_until(dhcp.BOUND)
    assert lines == [bound]          # a renewal that changes nothing is not news
    wd.srv.ep.close()
    wd.run_until(dhcp.SELECTING, max_ms=200000)
    assert lines == [bound, "DHCP: the lease of 192.0.2.100 expired with no server answering"]
