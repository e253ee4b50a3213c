"""ICMP messages (RFC 792): echo, destination unreachable, time exceeded."""

import struct

from ..compat import const
from . import Malformed
from .checksum import checksum, csum, finish

HEADER_LEN = const(8)
ECHO_REPLY = const(0)
DEST_UNREACH = const(3)
SOURCE_QUENCH = const(4)
REDIRECT = const(5)
ECHO_REQUEST = const(8)
TIME_EXCEEDED = const(11)
PARAM_PROBLEM = const(12)
# Destination unreachable codes (RFC 792, RFC 1191)
NET_UNREACH = const(0)
HOST_UNREACH = const(1)
PROTO_UNREACH = const(2)
PORT_UNREACH = const(3)
FRAG_NEEDED = const(4)
ADMIN_PROHIBITED = const(13)  # RFC 1812 5.2.7.1: communication administratively prohibited
# Time exceeded codes
TTL_EXCEEDED = const(0)
REASSEMBLY_EXCEEDED = const(1)


def parse(data):
    """memoryview -> (type, code, rest, body); rest is the 32-bit word after the checksum
    (identifier/sequence for echo, next-hop MTU in its low 16 bits for FRAG_NEEDED)."""
    if len(data) < HEADER_LEN:
        raise Malformed("short")
    if checksum(data) != 0:
        raise Malformed("checksum")
    typ, code, _, rest = struct.unpack_from("!BBHI", data, 0)
    return typ, code, rest, data[HEADER_LEN:]


def emit_header(hdr, typ, code, rest, body):
    """Write the 8-byte header for body into hdr[0:8], checksum over both included; returns 8.

    The body is not copied: the IP layer sends header and body side by side."""
    struct.pack_into("!BBHI", hdr, 0, typ, code, 0, rest)
    c = finish(csum(body, csum(memoryview(hdr)[0:HEADER_LEN])))
    hdr[2] = c >> 8
    hdr[3] = c & 0xFF
    return HEADER_LEN


def emit(buf, off, typ, code, rest, body):
    """Write header + body at buf[off:] with the checksum; returns the message length."""
    n = HEADER_LEN + len(body)
    buf[off + HEADER_LEN:off + n] = body
    emit_header(memoryview(buf)[off:off + HEADER_LEN], typ, code, rest,
                memoryview(buf)[off + HEADER_LEN:off + n])
    return n


def echo_rest(ident, seq):
    return ((ident & 0xFFFF) << 16) | (seq & 0xFFFF)
