"""barenet.addr against CPython's ipaddress, an independent reading of the same RFCs."""

import ipaddress

from barenet.addr import is_multicast


def test_is_multicast_is_class_d_for_every_first_octet_and_its_edges():
    # RFC 1112 4: the first octet decides; check each with the lowest and highest rest
    for first in range(256):
        for rest in (b"\x00\x00\x00", b"\xff\xff\xff"):
            ip = bytes([first]) + rest
            assert is_multicast(ip) == ipaddress.IPv4Address(ip).is_multicast, ip
