"""IPv4 headers (RFC 791): parsed in place, options skipped, checksum verified and emitted."""

import struct

from ..compat import const
from . import Malformed
from .checksum import checksum

HEADER_LEN = const(20)
PROTO_ICMP = const(1)
PROTO_TCP = const(6)
PROTO_UDP = const(17)
_DF = const(0x4000)
_MF = const(0x2000)
_OFFSET_MASK = const(0x1FFF)


class Header:
    """A parsed IPv4 header. `frag_off` is in bytes; src/dst are 4-byte bytes; `datagram`
    is a view of the whole datagram (valid only while the frame is), for ICMP quoting.
    `bcast` is not a header field: the IP layer sets it when the destination was a
    broadcast address, so the transports need not work it out again."""

    def __init__(self, hlen, tos, total_len, ident, df, mf, frag_off, ttl, proto, src, dst,
                 datagram=None):
        self.hlen = hlen
        self.tos = tos
        self.total_len = total_len
        self.ident = ident
        self.df = df
        self.mf = mf
        self.frag_off = frag_off
        self.ttl = ttl
        self.proto = proto
        self.src = src
        self.dst = dst
        self.datagram = datagram
        self.bcast = False


def parse(data, verify=True):
    """memoryview of an IPv4 datagram -> (Header, payload view), trimmed to total length.

    Link-layer padding beyond the total length is ignored; a datagram claiming more bytes
    than arrived is malformed.
    """
    n = len(data)
    if n < HEADER_LEN:
        raise Malformed("short")
    vihl = data[0]
    if vihl >> 4 != 4:
        raise Malformed("version")
    hlen = (vihl & 0x0F) * 4
    if hlen < HEADER_LEN:
        raise Malformed("hlen")
    tos, total, ident, frag, ttl, proto = struct.unpack_from("!BHHHBB", data, 1)
    if total < hlen or total > n:
        raise Malformed("length")
    if verify and checksum(data[0:hlen]) != 0:
        raise Malformed("checksum")
    h = Header(hlen, tos, total, ident, bool(frag & _DF), bool(frag & _MF),
               (frag & _OFFSET_MASK) * 8, ttl, proto, bytes(data[12:16]), bytes(data[16:20]),
               data[0:total])
    return h, data[hlen:total]


def emit(buf, off, src, dst, proto, payload_len, ident, ttl=64, tos=0, df=False, mf=False,
         frag_off=0):
    """Write a 20-byte header (no options) with its checksum at buf[off:]; returns 20."""
    frag = (frag_off >> 3) & _OFFSET_MASK
    if df:
        frag |= _DF
    if mf:
        frag |= _MF
    struct.pack_into("!BBHHHBBH", buf, off, 0x45, tos, HEADER_LEN + payload_len, ident, frag,
                     ttl, proto, 0)
    buf[off + 12:off + 16] = src
    buf[off + 16:off + 20] = dst
    c = checksum(memoryview(buf)[off:off + HEADER_LEN])
    buf[off + 10] = c >> 8
    buf[off + 11] = c & 0xFF
    return HEADER_LEN
