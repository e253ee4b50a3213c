"""Interface: one NIC with its MAC, IPv4 address/prefix, gateway, MTU and transmit buffer."""

from .addr import and4, parse_cidr, prefix_mask, ip_aton, mac_aton
from .compat import const

ETH_HLEN = const(14)


class Interface:
    """A NIC as the stack sees it. `nic` is any object with send(frame) (see DESIGN.md)."""

    def __init__(self, nic, mac, ip, gateway=None, mtu=1500, name="eth0"):
        if not 68 <= mtu <= 65535:  # RFC 791: every host must accept 68-byte datagrams
            raise ValueError("MTU out of range: %r" % (mtu,))
        self.nic = nic
        self.name = name
        self.mac = mac_aton(mac)
        self.ip, self.prefix = parse_cidr(ip) if isinstance(ip, str) else (ip_aton(ip), 32)
        self.mask = prefix_mask(self.prefix)
        self.network = and4(self.ip, self.mask)
        self.broadcast = bytes(self.network[i] | (~self.mask[i] & 0xFF) for i in range(4))
        self.gateway = ip_aton(gateway) if gateway else None
        if self.gateway is not None and not self.on_link(self.gateway):
            raise ValueError("gateway is not on the interface's subnet")
        self.mtu = mtu
        self.up = True
        self.stats = {}
        # One frame-sized transmit buffer: IP builds at [14:], the link layer fills [0:14].
        self.txbuf = bytearray(ETH_HLEN + mtu)

    def on_link(self, dst):
        m = self.mask
        n = self.network
        return (dst[0] & m[0]) == n[0] and (dst[1] & m[1]) == n[1] \
            and (dst[2] & m[2]) == n[2] and (dst[3] & m[3]) == n[3]


class Loopback:
    """The internal interface for datagrams to our own addresses: they never reach a NIC."""

    name = "lo"
    mtu = 65535
    nic = None

    def __init__(self):
        self.stats = {}
