"""ICMP messages (RFC 792): echo, destination unreachable, time exceeded."""

import struct

from ..compat import const
from .checksum import checksum

HEADER_LEN = const(8)
ECHO_REPLY = const(0)
DEST_UNREACH = const(3)
ECHO_REQUEST = const(8)
TIME_EXCEEDED = const(11)
# Destination unreachable codes (RFC 792, RFC 1191)
NET_UNREACH = const(0)
HOST_UNREACH = const(1)
PROTO_UNREACH = const(2)
PORT_UNREACH = const(3)
FRAG_NEEDED = const(4)
# Time exceeded codes
TTL_EXCEEDED = const(0)
REASSEMBLY_EXCEEDED = const(1)


def parse(data):
    """memoryview -> (type, code, rest, body); rest is the 32-bit word after the checksum
    (identifier/sequence for echo, next-hop MTU in its low 16 bits for FRAG_NEEDED)."""
    if len(data) < HEADER_LEN:
        raise ValueError("short")
    if checksum(data) != 0:
        raise ValueError("checksum")
    typ, code, _, rest = struct.unpack_from("!BBHI", data, 0)
    return typ, code, rest, data[HEADER_LEN:]


def emit(buf, off, typ, code, rest, body):
    """Write header + body at buf[off:] with the checksum; returns the message length."""
    n = HEADER_LEN + len(body)
    struct.pack_into("!BBHI", buf, off, typ, code, 0, rest)
    buf[off + HEADER_LEN:off + n] = body
    c = checksum(memoryview(buf)[off:off + n])
    buf[off + 2] = c >> 8
    buf[off + 3] = c & 0xFF
    return n


def echo_rest(ident, seq):
    return ((ident & 0xFFFF) << 16) | (seq & 0xFFFF)
