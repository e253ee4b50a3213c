"""TCP segments (RFC 9293 3.1): header and options parsed in place, emitted into a caller's buffer.

Stateless like the rest of `wire/`: `parse` checks lengths and the checksum once and fills a
`Segment` (reusable, so the receive path allocates nothing but the payload view); `emit`
writes a header with options (`emit_halves` takes SEQ and ACK as 16-bit halves), and
`finish_checksum` fills in the checksum over header and payload without concatenating them
(the IP layer sends them side by side).
"""

import struct

from ..compat import const
from . import Malformed
from .checksum import addr_sum, csum, finish

HEADER_LEN = const(20)
MAX_HEADER_LEN = const(60)
PROTO = const(6)

FIN = const(0x01)
SYN = const(0x02)
RST = const(0x04)
PSH = const(0x08)
ACK = const(0x10)
URG = const(0x20)
ECE = const(0x40)
CWR = const(0x80)

# Option kinds (RFC 9293 3.2, RFC 7323, RFC 2018).
OPT_EOL = const(0)
OPT_NOP = const(1)
OPT_MSS = const(2)
OPT_WSCALE = const(3)
OPT_SACK_PERM = const(4)
OPT_SACK = const(5)
OPT_TS = const(8)

MAX_SACK_BLOCKS = const(4)  # 4 * 8 + 2 = 34 bytes: the most that fits in 40 bytes of options
_CHECKSUM_OFF = const(16)
_TS_HLEN = const(32)        # a header with NOP,NOP,TS and nothing else


class Segment:
    """One parsed segment. Options absent from the segment read as None (sack_perm: False).

    SEQ and ACK are kept as 16-bit halves (`seq_hi`, `seq_lo`, `ack_hi`, `ack_lo`): on a
    32-bit MicroPython port a 32-bit value >= 2**30 is a heap int, and a connection never
    needs one (it turns the halves into offsets of its own, tcp/seq.py). `seq` and `ack` give
    the 32-bit values, for the rare paths (a RST to a closed port) and for tests. `seq_off` and
    `ack_off` are the connection's offsets for them (tcp/state.py arrived), not wire fields.
    `sack` is a tuple of (left, right) pairs of 32-bit values (empty without the option);
    `payload` is a memoryview into the caller's buffer, valid only while that buffer is.
    Timestamps (RFC 7323 3) likewise: `ts` tells whether the option came, `tsv_hi`..`tse_lo`
    are TSval and TSecr as halves, `tsval` and `tsecr` the 32-bit values (None without it).
    """

    def __init__(self):
        self.sport = self.dport = self.flags = self.wnd = self.urp = 0
        self.seq_hi = self.seq_lo = self.ack_hi = self.ack_lo = 0
        self.seq_off = self.ack_off = 0
        self.ip_ecn = 0     # the ECN field of the IP header it came in (TCP sets it)
        self.hlen = HEADER_LEN
        self.mss = self.wscale = None
        self.ts = False
        self.tsv_hi = self.tsv_lo = self.tse_hi = self.tse_lo = 0
        self.sack_perm = False
        self.sack = ()
        self.payload = None

    @property
    def tsval(self):
        return (self.tsv_hi << 16) | self.tsv_lo if self.ts else None

    @property
    def tsecr(self):
        return (self.tse_hi << 16) | self.tse_lo if self.ts else None

    @property
    def seq(self):
        return (self.seq_hi << 16) | self.seq_lo

    @seq.setter
    def seq(self, v):
        self.seq_hi = (v >> 16) & 0xFFFF
        self.seq_lo = v & 0xFFFF

    @property
    def ack(self):
        return (self.ack_hi << 16) | self.ack_lo

    @ack.setter
    def ack(self, v):
        self.ack_hi = (v >> 16) & 0xFFFF
        self.ack_lo = v & 0xFFFF


def parse(data, src=None, dst=None, seg=None, asum=None):
    """memoryview of a TCP segment -> Segment. Raises Malformed(reason) when malformed.

    The checksum is verified when src and dst (4-byte addresses) are given, or asum, the sum
    of their four 16-bit words (ipv4.Header.asum). Fields are read byte by byte: an
    unpack_from tuple would be an allocation per segment on MicroPython.
    """
    n = len(data)
    if n < HEADER_LEN:
        raise Malformed("short")
    if seg is None:
        seg = Segment()
    hlen = (data[12] >> 4) * 4
    if hlen < HEADER_LEN or hlen > n:
        raise Malformed("hlen")
    if src is not None:
        asum = addr_sum(src, dst)
    if asum is not None and finish(csum(data, asum + PROTO + n)) != 0:
        raise Malformed("checksum")
    seg.sport = (data[0] << 8) | data[1]
    seg.dport = (data[2] << 8) | data[3]
    seg.seq_hi = (data[4] << 8) | data[5]
    seg.seq_lo = (data[6] << 8) | data[7]
    seg.ack_hi = (data[8] << 8) | data[9]
    seg.ack_lo = (data[10] << 8) | data[11]
    seg.flags = data[13]
    seg.wnd = (data[14] << 8) | data[15]
    seg.urp = (data[18] << 8) | data[19]
    seg.hlen = hlen
    seg.mss = seg.wscale = None
    seg.ts = False
    seg.sack_perm = False
    seg.sack = ()
    if hlen == _TS_HLEN and data[20] == OPT_NOP and data[21] == OPT_NOP and \
            data[22] == OPT_TS and data[23] == 10:
        # RFC 7323 Appendix A: the aligned NOP,NOP,TS that every segment of a connection with
        # timestamps carries (Linux's tcp_parse_aligned_timestamp), read without the general
        # loop, whose call frame is a heap allocation on MicroPython
        _take_ts(data, 22, seg)
    elif hlen > HEADER_LEN:
        _parse_options(data, hlen, seg)
    seg.payload = data[hlen:n]
    return seg


def _parse_options(data, hlen, seg):
    # RFC 9293 3.1: an implementation must skip unknown options by their length and must not
    # crash on an illegal length; such a segment is dropped as malformed.
    i = HEADER_LEN
    while i < hlen:
        kind = data[i]
        if kind == OPT_EOL:
            return
        if kind == OPT_NOP:
            i += 1
            continue
        if i + 1 >= hlen:
            raise Malformed("options")
        olen = data[i + 1]
        if olen < 2 or i + olen > hlen:
            raise Malformed("options")
        # Options with a wrong fixed length are ignored, as Linux does (tcp_parse_options).
        if kind == OPT_MSS:
            if olen == 4:
                seg.mss = (data[i + 2] << 8) | data[i + 3]
        elif kind == OPT_WSCALE:
            if olen == 3:
                seg.wscale = data[i + 2]
        elif kind == OPT_SACK_PERM:
            if olen == 2:
                seg.sack_perm = True
        elif kind == OPT_SACK:
            if (olen - 2) % 8 == 0:
                seg.sack = tuple(struct.unpack_from("!II", data, j)
                                 for j in range(i + 2, i + olen, 8))
        elif kind == OPT_TS:
            if olen == 10:
                _take_ts(data, i, seg)
        i += olen


def _take_ts(data, i, seg):
    # the TS option at data[i] (kind 8, length 10): TSval and TSecr as halves
    seg.ts = True
    seg.tsv_hi = (data[i + 2] << 8) | data[i + 3]
    seg.tsv_lo = (data[i + 4] << 8) | data[i + 5]
    seg.tse_hi = (data[i + 6] << 8) | data[i + 7]
    seg.tse_lo = (data[i + 8] << 8) | data[i + 9]


def options(buf, off, mss=None, wscale=None, sack_perm=False, ts=None, sack=None):
    """Write options at buf[off:], each 4-byte aligned with NOPs; returns their length.

    ts is (tsval, tsecr); sack is a sequence of (left, right) blocks (at most MAX_SACK_BLOCKS,
    fewer when timestamps take room: RFC 2018 3).
    """
    i = off
    if mss is not None:
        struct.pack_into("!BBH", buf, i, OPT_MSS, 4, mss)
        i += 4
    if wscale is not None:
        struct.pack_into("!BBBB", buf, i, OPT_NOP, OPT_WSCALE, 3, wscale)
        i += 4
    if sack_perm:
        struct.pack_into("!BBBB", buf, i, OPT_NOP, OPT_NOP, OPT_SACK_PERM, 2)
        i += 4
    if ts is not None:
        i += ts_option(buf, i, ts[0] >> 16, ts[0] & 0xFFFF, ts[1] >> 16, ts[1] & 0xFFFF)
    if sack:
        struct.pack_into("!BBBB", buf, i, OPT_NOP, OPT_NOP, OPT_SACK, 2 + 8 * len(sack))
        i += 4
        for left, right in sack:
            struct.pack_into("!II", buf, i, left, right)
            i += 8
    if i - off > MAX_HEADER_LEN - HEADER_LEN:
        raise ValueError("options do not fit in the header")
    return i - off


def ts_option(buf, off, v_hi, v_lo, e_hi, e_lo):
    """Write NOP, NOP, TS (RFC 7323 3.2, the layout Linux sends and Appendix A suggests, so
    the 32-bit fields are aligned) with TSval and TSecr as halves; returns its length, 12."""
    struct.pack_into("!BBBBHHHH", buf, off, OPT_NOP, OPT_NOP, OPT_TS, 10, v_hi, v_lo, e_hi, e_lo)
    return 12


def emit(buf, sport, dport, sq, ak, flags, wnd, urp=0, opt_len=0):
    """Write the fixed header at buf[0:20] for options already at buf[20:20+opt_len]; sq and ak
    are 32-bit values (see emit_halves for the connection's path).

    The checksum field is left zero: call finish_checksum once the payload is known.
    Returns the header length.
    """
    return emit_halves(buf, sport, dport, sq >> 16, sq & 0xFFFF, ak >> 16, ak & 0xFFFF, flags,
                       wnd, urp, opt_len)


def emit_halves(buf, sport, dport, sq_hi, sq_lo, ak_hi, ak_lo, flags, wnd, urp=0, opt_len=0):
    """emit, with SEQ and ACK given as 16-bit halves (no 32-bit int is made on the way)."""
    hlen = HEADER_LEN + opt_len
    struct.pack_into("!HHHHHHHHHH", buf, 0, sport, dport, sq_hi, sq_lo, ak_hi, ak_lo,
                     ((hlen >> 2) << 12) | flags, wnd, 0, urp)
    return hlen


def partial_checksum(hdr, n, asum):
    """Put only the pseudo-header sum (asum: the addresses' word sum; n: the segment's
    length) into hdr's checksum field, folded and not complemented: what a NIC that
    completes checksums (a TAP's NEEDS_CSUM, nic.py send_tso) adds the segment to."""
    c = (asum + PROTO + n) % 0xFFFF
    hdr[_CHECKSUM_OFF] = c >> 8
    hdr[_CHECKSUM_OFF + 1] = c & 0xFF


def finish_checksum(hdr, payload, src, dst, asum=None):
    """Fill the checksum of the header memoryview hdr (its length is the header length);
    payload may be None. asum: the addresses' word sum (addr_sum(src, dst)) if known."""
    n = len(hdr)
    if payload is not None:
        n += len(payload)
    if asum is None:
        asum = addr_sum(src, dst)
    acc = csum(hdr, asum + PROTO + n)
    if payload is not None:
        acc = csum(payload, acc)
    c = finish(acc)
    hdr[_CHECKSUM_OFF] = c >> 8
    hdr[_CHECKSUM_OFF + 1] = c & 0xFF
