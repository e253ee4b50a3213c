"""A Linux TUN device as a barenet NIC: bare IPv4 datagrams in and out through /dev/net/tun
(IFF_TUN | IFF_NO_PI), the `ip` link type of barenet/nic.py: no MAC, no ARP. The code is
tuntap.py's, shared with TAP.
"""

from barenet.nic import IP

from barenet_host.devices.tuntap import IFF_TUN, TunTapDevice


class TunDevice(TunTapDevice):
    """One TUN interface: see TunTapDevice for create and the errors. `mtu` is the largest
    datagram barenet reads (the kernel side's MTU is set with `ip link`)."""

    MODE = IFF_TUN
    KIND = "TUN"
    link = IP

    def __init__(self, name, create=True, mtu=1500):
        TunTapDevice.__init__(self, name, create)
        self.mtu = mtu


def open_spec(spec, create=True):
    """`tun:NAME[,mtu=N]` (devices/spec.py) -> a TunDevice."""
    return TunDevice(spec.target, create=create, mtu=spec.mtu or 1500)
