"""IPv4 headers (RFC 791): parsed in place, options skipped, checksum verified and emitted."""

import struct

from ..compat import const
from . import Malformed
from .checksum import csum_at, finish

HEADER_LEN = const(20)
PROTO_ICMP = const(1)
PROTO_TCP = const(6)
PROTO_UDP = const(17)
_DF = const(0x4000)
_MF = const(0x2000)
_OFFSET_MASK = const(0x1FFF)


class Header:
    """A parsed IPv4 header, reusable (parse_into fills it in place, as tcp.Segment): the IP
    layer keeps one and parses every datagram into it. `frag_off` is in bytes. The addresses
    are kept as 16-bit halves (`src_hi`, `src_lo`, `dst_hi`, `dst_lo`) and their sum (`asum`,
    what the transports' pseudo-header needs), all small ints; `src` and `dst` make the 4-byte
    bytes on demand, for the paths that keep an address. `buf` is the datagram as given,
    `datagram` a view of it up to the total length and `payload` the payload view (both valid
    only while the frame is; `datagram` is made on demand, for ICMP quoting). `bcast` is not a
    header field: the IP layer sets it when the destination was a broadcast address, so the
    transports need not work it out again."""

    def __init__(self):
        self.hlen = HEADER_LEN
        self.tos = self.total_len = self.ident = self.frag_off = self.ttl = self.proto = 0
        self.df = self.mf = False
        self.src_hi = self.src_lo = self.dst_hi = self.dst_lo = self.asum = 0
        self.buf = self.payload = None
        self.bcast = False

    @property
    def src(self):
        return bytes(self.buf[12:16])

    @property
    def dst(self):
        return bytes(self.buf[16:20])

    @property
    def datagram(self):
        return self.buf[0:self.total_len]


def parse(data, verify=True):
    """memoryview of an IPv4 datagram -> (Header, payload view), trimmed to total length.

    Link-layer padding beyond the total length is ignored; a datagram claiming more bytes
    than arrived is malformed. A new Header each call: the receive path uses parse_into.
    """
    h = parse_into(data, Header(), verify)
    return h, h.payload


def parse_into(data, h, verify=True):
    """parse, into the Header h; -> h, with h.payload set. Fields are read byte by byte: an
    unpack_from tuple, a Header and the address bytes would be allocations per datagram on
    MicroPython."""
    n = len(data)
    if n < HEADER_LEN:
        raise Malformed("short")
    vihl = data[0]
    if vihl >> 4 != 4:
        raise Malformed("version")
    hlen = (vihl & 0x0F) * 4
    if hlen < HEADER_LEN:
        raise Malformed("hlen")
    total = (data[2] << 8) | data[3]
    if total < hlen or total > n:
        raise Malformed("length")
    if verify and finish(csum_at(data, 0, hlen)) != 0:
        raise Malformed("checksum")
    frag = (data[6] << 8) | data[7]
    h.hlen = hlen
    h.tos = data[1]
    h.total_len = total
    h.ident = (data[4] << 8) | data[5]
    h.df = bool(frag & _DF)
    h.mf = bool(frag & _MF)
    h.frag_off = (frag & _OFFSET_MASK) * 8
    h.ttl = data[8]
    h.proto = data[9]
    sh = (data[12] << 8) | data[13]
    sl = (data[14] << 8) | data[15]
    dh = (data[16] << 8) | data[17]
    dl = (data[18] << 8) | data[19]
    h.src_hi = sh
    h.src_lo = sl
    h.dst_hi = dh
    h.dst_lo = dl
    h.asum = sh + sl + dh + dl
    h.buf = data
    h.bcast = False
    h.payload = data[hlen:total]
    return h


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
    c = finish(csum_at(buf, off, off + HEADER_LEN))
    buf[off + 10] = c >> 8
    buf[off + 11] = c & 0xFF
    return HEADER_LEN


def complete(buf, off, n, src, ident):
    """Fill in a caller-built header at buf[off:] for an n-byte datagram, as Linux does for
    IP_HDRINCL (raw(7), raw_send_hdrinc): the total length always, the source when it is
    0.0.0.0, the ident (from ident(), called only then) when it is 0, then the checksum. The
    caller's other fields (TTL, TOS, flags, options) go out as given."""
    struct.pack_into("!H", buf, off + 2, n)
    if buf[off + 12] == 0 and buf[off + 13] == 0 and buf[off + 14] == 0 and buf[off + 15] == 0:
        buf[off + 12:off + 16] = src
    if buf[off + 4] == 0 and buf[off + 5] == 0:
        struct.pack_into("!H", buf, off + 4, ident())
    buf[off + 10] = buf[off + 11] = 0
    c = finish(csum_at(buf, off, off + (buf[off] & 0x0F) * 4))
    buf[off + 10] = c >> 8
    buf[off + 11] = c & 0xFF
