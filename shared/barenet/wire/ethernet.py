"""Ethernet II frames: destination MAC, source MAC, EtherType, payload (no 802.1Q, no FCS)."""

import struct

from ..compat import const
from . import Malformed

HEADER_LEN = const(14)
TYPE_IPV4 = const(0x0800)
TYPE_ARP = const(0x0806)


def parse(frame):
    """memoryview -> (dst, src, ethertype, payload); dst/src and payload are views into frame."""
    if len(frame) < HEADER_LEN:
        raise Malformed("short")
    return frame[0:6], frame[6:12], (frame[12] << 8) | frame[13], frame[HEADER_LEN:]


def ethertype(frame):
    """The EtherType of a frame, read in place (parse's tuple and views are allocations on
    MicroPython); raises Malformed("short") as parse does."""
    if len(frame) < HEADER_LEN:
        raise Malformed("short")
    return (frame[12] << 8) | frame[13]


def dst_is(frame, mac):
    """Whether the frame's destination MAC is mac (6 bytes), compared in place."""
    return frame[0] == mac[0] and frame[1] == mac[1] and frame[2] == mac[2] and \
        frame[3] == mac[3] and frame[4] == mac[4] and frame[5] == mac[5]


def emit(buf, dst, src, ethertype):
    """Write the header at buf[0:14]; returns 14."""
    buf[0:6] = dst
    buf[6:12] = src
    struct.pack_into("!H", buf, 12, ethertype)
    return HEADER_LEN
