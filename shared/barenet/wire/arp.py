"""ARP packets for Ethernet/IPv4 (RFC 826): the only hardware/protocol pair barenet speaks."""

import struct

from ..compat import const
from . import Malformed

LEN = const(28)
OP_REQUEST = const(1)
OP_REPLY = const(2)
_HTYPE_ETHERNET = const(1)
_PTYPE_IPV4 = const(0x0800)


def parse(data):
    """memoryview -> (op, sha, spa, tha, tpa) as bytes."""
    if len(data) < LEN:
        raise Malformed("short")
    htype, ptype, hlen, plen, op = struct.unpack_from("!HHBBH", data, 0)
    if htype != _HTYPE_ETHERNET or ptype != _PTYPE_IPV4 or hlen != 6 or plen != 4:
        raise Malformed("unsupported")
    if op != OP_REQUEST and op != OP_REPLY:
        raise Malformed("op")
    return op, bytes(data[8:14]), bytes(data[14:18]), bytes(data[18:24]), bytes(data[24:28])


def emit(buf, off, op, sha, spa, tha, tpa):
    struct.pack_into("!HHBBH", buf, off, _HTYPE_ETHERNET, _PTYPE_IPV4, 6, 4, op)
    buf[off + 8:off + 14] = sha
    buf[off + 14:off + 18] = spa
    buf[off + 18:off + 24] = tha
    buf[off + 24:off + 28] = tpa
    return LEN
