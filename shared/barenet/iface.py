"""Interfaces: one NIC each, its link type, its IPv4 configuration, and its output side.

Two link types (see nic.py):
- `ethernet` (TAP, W5500 MACRAW, ENC28J60): frames carry an Ethernet II header; the next hop's
  MAC comes from the interface's ARP cache, which queues datagrams while it resolves.
- `ip` (TUN, SLIP): frames are bare IPv4 datagrams; no MAC, no ARP. The link is
  point-to-point or a subnet: every address routed to it simply leaves through it.

As lwIP's netif: IP builds each datagram once in the interface's transmit buffer, after room
for the link header, and calls `output(n, next_hop, now)`; the interface frames it (or queues
it behind ARP) and hands it to the NIC. On input, `receive(frame, now)` strips the link layer.
"""

from .addr import ANY, BROADCAST_MAC, LIMITED_BROADCAST, and4, ip_aton, is_multicast, mac_aton, \
    parse_cidr, prefix_mask
from .compat import oserror, ENOBUFS
from .neighbor import ARPCache
from .nic import ETHERNET, IP
from .readiness import Ready
from .stats import inc
from .wire import Malformed, ethernet

_ETH_HLEN = ethernet.HEADER_LEN


def multicast_mac(group):
    """RFC 1112 6.4: 01:00:5e and the group's low 23 bits."""
    return bytes((0x01, 0x00, 0x5E, group[1] & 0x7F, group[2], group[3]))


class Interface(Ready):
    """What every link type shares: the NIC, the address, the transmit buffer, up/down.

    `up` is the administrative state, `link_up` the carrier (a cable, a USB serial port):
    routing uses an interface only while both hold (`running`). Its readiness signal
    (readiness.py) fires when the carrier or the address changes, for the apps to notice.
    """

    link = None
    hlen = 0
    # Set by the loop step for each frame from a NIC with csum_offload (nic.py): TCP and UDP
    # then skip verifying a checksum the NIC vouches for.
    rx_csum_ok = False

    def __init__(self, stack, nic, mtu, name):
        if not 68 <= mtu <= 65535:  # RFC 791: every host must accept 68-byte datagrams
            raise ValueError("MTU out of range: %r" % (mtu,))
        self.stack = stack
        self.nic = nic
        self.name = name
        self.mtu = mtu
        # What one read may bring: a receive offload's super-frame is larger than the MTU
        self.rx_max = max(mtu, getattr(nic, "rx_max", mtu))
        # The largest TCP super-segment (IP datagram) the NIC cuts up itself; 0: none
        self.tso_max = getattr(nic, "tso_max", 0)
        self.up = True
        self.link_up = getattr(nic, "link_up", True)
        self.running = self.link_up
        self.stats = {}
        # One frame-sized transmit buffer: IP builds at [hlen:], the link header fills [0:hlen].
        self.txbuf = bytearray(self.hlen + max(mtu, self.tso_max))
        self._txmv = memoryview(self.txbuf)
        # The last frame's view of txbuf, kept for the next frame of the same length (a bulk
        # sender's are all full-sized), so that sending one makes no view
        self._txview = self._txmv[0:0]
        self.link_changes = 0
        # IPv4 multicast groups joined (RFC 1112 level 2), as 16-bit halves for IP's input
        # check; the group MACs an Ethernet link takes in (RFC 1112 6.4)
        self.groups = []
        self.group_macs = []
        self._set(ANY, 0, None)

    def join(self, group):
        """Take in datagrams to the multicast group (a dotted str or 4 bytes). No IGMP report
        is sent: the groups barenet joins are link-local (224.0.0.0/24: mDNS), which RFC 4541
        2.1.2 has switches flood whatever IGMP says."""
        g = ip_aton(group)
        if not is_multicast(g):
            raise ValueError("%r is not an IPv4 multicast group" % (group,))
        halves = ((g[0] << 8) | g[1], (g[2] << 8) | g[3])
        if halves not in self.groups:
            self.groups.append(halves)
            self.group_macs.append(multicast_mac(g))

    def leave(self, group):
        g = ip_aton(group)
        halves = ((g[0] << 8) | g[1], (g[2] << 8) | g[3])
        if halves in self.groups:
            i = self.groups.index(halves)
            del self.groups[i]
            del self.group_macs[i]

    # -- configuration ---------------------------------------------------------------------

    def _set(self, ip, prefix, gateway, dns=()):
        self.ip = ip
        self.dns = list(dns)    # name servers learned with the address (DHCP option 6)
        self.prefix = prefix
        self.configured = ip != ANY
        if self.configured:
            self.mask = prefix_mask(prefix)
            self.network = and4(ip, self.mask)
            self.broadcast = bytes(self.network[i] | (~self.mask[i] & 0xFF) for i in range(4))
        else:
            # Unconfigured (before DHCP): nothing is on-link, only the limited broadcast
            # goes out (from 0.0.0.0, RFC 1122 3.2.1.3) and comes in.
            self.mask = LIMITED_BROADCAST
            self.network = LIMITED_BROADCAST
            self.broadcast = LIMITED_BROADCAST
        self.gateway = gateway
        # The same addresses as 16-bit halves, for IP's checks of every received datagram
        self.ip_hi = (ip[0] << 8) | ip[1]
        self.ip_lo = (ip[2] << 8) | ip[3]
        b = self.broadcast
        self.bcast_hi = (b[0] << 8) | b[1]
        self.bcast_lo = (b[2] << 8) | b[3]

    def configure(self, ip=None, prefix=None, gateway=None, dns=()):
        """Set the address: `configure("192.0.2.2/24", gateway="192.0.2.1")`, or
        `configure(ip_bytes, 24)`; `configure()` returns to the unconfigured state, where the
        interface sends and receives only the limited broadcast (what DHCP needs). dns: the
        name servers that came with the address (the resolver asks them, barenet/dns.py).

        Connections on an address that goes away are aborted, and UDP endpoints bound to it
        move to the new one (as lwIP's netif_set_ipaddr does); the new address is announced
        with a gratuitous ARP."""
        if ip is None:
            new, plen = ANY, 0
        elif isinstance(ip, str) and "/" in ip:
            new, plen = parse_cidr(ip)
        else:
            new = ip_aton(ip)
            plen = 32 if prefix is None else prefix
        if not 0 <= plen <= 32:
            raise ValueError("invalid prefix length %r" % (plen,))
        gw = ip_aton(gateway) if gateway else None
        old = (self.ip, self.prefix, self.gateway, self.dns)
        self._set(new, plen, gw, [ip_aton(d) for d in dns])
        if gw is not None and not self._gateway_ok(gw):
            self._set(old[0], old[1], old[2], old[3])
            raise ValueError("gateway is not on the interface's subnet")
        self.stack.address_changed(self, old[0])
        self._event()

    def _gateway_ok(self, gw):
        return self.on_link(gw)

    def on_link(self, dst):
        m = self.mask
        n = self.network
        return (dst[0] & m[0]) == n[0] and (dst[1] & m[1]) == n[1] \
            and (dst[2] & m[2]) == n[2] and (dst[3] & m[3]) == n[3]

    def set_link(self, up):
        """The carrier came or went; True if that is a change."""
        up = bool(up)
        if up == self.link_up:
            return False
        self.link_up = up
        self.running = up and self.up
        self.link_changes += 1
        inc(self.stats, "link_up" if up else "link_down")
        self._event()
        return True

    # -- output ----------------------------------------------------------------------------

    def announce(self):
        """Tell the link about our address (gratuitous ARP on Ethernet; nothing on ip links)."""

    def suspect_neighbor(self, ip, now):
        """An upper layer suspects the link address of ip (see IP.neighbor_suspect)."""

    def poll(self, now):
        return None

    def _send(self, n, gso=0):
        inc(self.stats, "tx")
        v = self._txview
        if len(v) != n:
            v = self._txview = self._txmv[0:n]
        if gso:
            self.nic.send_tso(v, gso)
        else:
            self.nic.send(v)


class EthernetInterface(Interface):
    """Ethernet II with ARP (RFC 826, RFC 894: IPv4 over Ethernet)."""

    link = ETHERNET
    hlen = _ETH_HLEN

    def __init__(self, stack, nic, mac, mtu, name):
        self.mac = mac_aton(mac)
        Interface.__init__(self, stack, nic, mtu, name)
        self.eth_stats = stack.eth_stats
        self.arp = ARPCache(self, stack.cfg, stack.arp_stats)

    def announce(self):
        if self.configured and self.running:
            self.arp.announce()

    def suspect_neighbor(self, ip, now):
        self.arp.suspect(ip, now)

    def poll(self, now):
        return self.arp.poll(now)

    def output(self, n, next_hop, now, gso=0):
        """Send the datagram in txbuf[14:14 + n] to next_hop (None: link broadcast), or queue
        it until ARP resolves next_hop. gso: a TSO super-segment's MSS (_send)."""
        if next_hop is None:
            mac = BROADCAST_MAC
        elif is_multicast(next_hop):
            mac = multicast_mac(next_hop)     # a group: no ARP (RFC 1112 6.4)
        else:
            mac = self.arp.lookup(next_hop, now)
            if mac is None:
                if gso:
                    return      # ARP's queue sends plain frames: TCP's retransmission recovers
                if not self.arp.resolve(next_hop, self._txmv[_ETH_HLEN:_ETH_HLEN + n], now):
                    # ARP cannot hold it: the sender hears of it (UDP sendto raises), as a
                    # full buffer pushes back instead of losing the datagram in silence.
                    raise oserror(ENOBUFS)
                return
        self.send_ip(mac, n, gso)

    def send_ip(self, mac, n, gso=0):
        """Frame the datagram in txbuf[14:14 + n] for mac and send it."""
        ethernet.emit(self.txbuf, mac, self.mac, ethernet.TYPE_IPV4)
        self._send(_ETH_HLEN + n, gso)

    def send_waiting(self, mac, datagram):
        """ARP answered: send a datagram that waited for it."""
        n = len(datagram)
        self.txbuf[_ETH_HLEN:_ETH_HLEN + n] = datagram
        self.send_ip(mac, n)

    def unresolved(self, datagram, now):
        """ARP gave up on the next hop of datagram."""
        self.stack.ip.resolution_failed(datagram, now)

    def receive(self, frame, now):
        st = self.eth_stats
        try:
            etype = ethernet.ethertype(frame)
        except Malformed as e:
            inc(st, "drop_" + e.args[0])
            return
        inc(st, "rx")
        inc(self.stats, "rx")
        # Frames for our MAC, broadcast, and the groups joined
        if not ethernet.dst_is(frame, self.mac) and not ethernet.dst_is(frame, BROADCAST_MAC):
            if not (frame[0] & 1 and self._group_frame(frame)):
                inc(st, "drop_not_for_us")
                return
        if etype == ethernet.TYPE_IPV4:
            self.stack.ip.input(self, frame[_ETH_HLEN:], now)
        elif etype == ethernet.TYPE_ARP:
            self.arp.input(frame[_ETH_HLEN:], now, ethernet.dst_is(frame, self.mac))
        else:
            inc(st, "drop_ethertype")


    def _group_frame(self, frame):
        for mac in self.group_macs:
            if ethernet.dst_is(frame, mac):
                return True
        return False


class IPInterface(Interface):
    """A link that carries bare IPv4 datagrams (TUN, SLIP): no link header, no ARP."""

    link = IP
    mac = None

    def _gateway_ok(self, gw):
        # Point-to-point: the far end need not share our subnet (a /32 and its peer).
        return True

    def output(self, n, next_hop, now, gso=0):
        self._send(n, gso)

    def receive(self, frame, now):
        inc(self.stats, "rx")
        self.stack.ip.input(self, frame, now)


class Loopback:
    """The internal interface for datagrams to our own addresses: they never reach a NIC."""

    name = "lo"
    mtu = 65535
    rx_csum_ok = False
    tso_max = 0
    nic = None
    hlen = 0

    def __init__(self):
        self.stats = {}
