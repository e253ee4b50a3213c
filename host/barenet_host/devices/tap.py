"""A Linux TAP device as a barenet NIC: raw Ethernet frames in and out through /dev/net/tun.

The NIC protocol is the core's (barenet/nic.py): `send(frame)`, `recv_into(buf)`, the link
facts, `stats`, and `fileno()` for the host runner's select; the code is tuntap.py's.
"""

from barenet.nic import ETHERNET

from barenet_host.devices.tuntap import IFF_TAP, TunTapDevice


class TapDevice(TunTapDevice):
    """One TAP interface: see TunTapDevice for create and the errors."""

    MODE = IFF_TAP
    KIND = "TAP"
    link = ETHERNET


def open_spec(spec, create=True, offload=False):
    """`tap:NAME` (devices/spec.py) -> a TapDevice; offload: see TunTapDevice."""
    return TapDevice(spec.target, create=create, offload=offload)
