"""UDP datagrams (RFC 768). A zero checksum on receive means the sender computed none."""

import struct

from ..compat import const
from . import Malformed
from .checksum import csum, finish, pseudo

HEADER_LEN = const(8)
_PROTO = const(17)


def parse(data, src, dst, verify=True):
    """memoryview of the UDP datagram -> (sport, dport, payload view); verify False trusts
    the checksum (a NIC's receive offload checked it, nic.py)."""
    n = len(data)
    if n < HEADER_LEN:
        raise Malformed("short")
    sport, dport, length, cs = struct.unpack_from("!HHHH", data, 0)
    if length < HEADER_LEN or length > n:
        raise Malformed("length")
    if verify and cs and finish(csum(data[0:length], pseudo(src, dst, _PROTO, length))) != 0:
        raise Malformed("checksum")
    return sport, dport, data[HEADER_LEN:length]


def emit_header(buf, src, dst, sport, dport, payload):
    """Write the 8-byte header for payload into buf[0:8], checksum included; returns 8.

    The payload is not copied: the IP layer sends header and payload side by side."""
    n = HEADER_LEN + len(payload)
    struct.pack_into("!HHHH", buf, 0, sport, dport, n, 0)
    acc = csum(memoryview(buf)[0:HEADER_LEN], pseudo(src, dst, _PROTO, n))
    c = finish(csum(payload, acc))
    if c == 0:
        c = 0xFFFF
    buf[6] = c >> 8
    buf[7] = c & 0xFF
    return HEADER_LEN
