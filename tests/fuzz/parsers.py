"""The wire parsers under fuzz, one `Parser` each, and the TCP options generator.

test_fuzz_wire.py runs the same contract over every entry of PARSERS:

1. any bytes, and valid bytes mutated (cut, bit-flipped, padded, spliced): the parser returns
   or raises `Malformed`, nothing else (`Malformed` is the peer's fault, anything else ours);
2. valid input built by barenet's emitter parses back to the fields it was built from;
3. the same bytes decoded by scapy (an independent codec) give the same fields.

A new parser (SLIP, DHCP, DNS, mDNS) plugs in with one more `Parser(...)` in PARSERS: a
function that builds well-formed input with the emitter from a fuzzlib.Knobs and returns
(fields, bytes), the call that parses a memoryview, the function that turns its result into
the fields, and scapy's reading of the bytes. Knobs, not one hypothesis draw per field: the
draws cost more than the parser and scapy together.
"""

import struct

from scapy.layers.dhcp import BOOTP, DHCP
from scapy.layers.dns import DNS
from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.l2 import ARP, Dot3, Ether
from scapy.utils import checksum as scapy_checksum

from barenet.wire import arp, dhcp, dns, ethernet, icmp, ipv4, tcp, udp
from fuzzlib import knobs

SRC = bytes([192, 0, 2, 1])
DST = bytes([192, 0, 2, 2])


class Parser:
    def __init__(self, name, build, parse, fields, scapy_fields):
        self.name = name
        self.valid = knobs.map(build)     # strategy of (fields, bytes)
        self.parse = parse                # memoryview -> result; raises only Malformed
        self.fields = fields              # result -> fields
        self.scapy_fields = scapy_fields  # bytes -> fields as scapy decodes them

    def __repr__(self):
        return self.name


def _mac(s):
    return bytes.fromhex(s.replace(":", ""))


def _ip(s):
    return bytes(int(x) for x in s.split("."))


def _pseudo_ok(src, dst, proto, seg):
    """The transport checksum is right (scapy's checksum over the pseudo-header and segment)."""
    return scapy_checksum(src + dst + struct.pack("!BBH", 0, proto, len(seg)) + seg) == 0


def _bytes(k, n):
    return bytes(k.byte() for _ in range(n))


def _payload(k):
    """Short, or about a full Ethernet frame's worth."""
    return k.blob(k.pick([k.below(65), 1400 + k.below(81)]))


# -- Ethernet --------------------------------------------------------------------------------

def _eth_build(dst, src, etype, payload):
    b = bytearray(14)
    ethernet.emit(b, dst, src, etype)
    return (dst, src, etype, payload), bytes(b) + payload


def _eth_fields(r):
    dst, src, etype, payload = r
    return bytes(dst), bytes(src), etype, bytes(payload)


def _eth_scapy(raw):
    e = Ether(raw)
    # scapy reads an EtherType up to 1500 as an 802.3 length (Dot3): the same 16 bits
    etype = e.len if isinstance(e, Dot3) else e.type
    return _mac(e.dst), _mac(e.src), etype, raw[14:]


ETHERNET = Parser("ethernet", lambda k: _eth_build(_bytes(k, 6), _bytes(k, 6), k.int(2),
                                                   _payload(k)), ethernet.parse,
                  _eth_fields, _eth_scapy)


# -- ARP -------------------------------------------------------------------------------------

def _arp_build(op, sha, spa, tha, tpa):
    b = bytearray(arp.LEN)
    arp.emit(b, 0, op, sha, spa, tha, tpa)
    return (op, sha, spa, tha, tpa), bytes(b)


def _arp_scapy(raw):
    a = ARP(raw)
    return a.op, _mac(a.hwsrc), _ip(a.psrc), _mac(a.hwdst), _ip(a.pdst)


ARP_ = Parser("arp", lambda k: _arp_build(k.pick([1, 2]), _bytes(k, 6), _bytes(k, 4),
                                          _bytes(k, 6), _bytes(k, 4)),
              arp.parse, tuple, _arp_scapy)


# -- IPv4 ------------------------------------------------------------------------------------

def _ipv4_build(src, dst, proto, payload, ident, ttl, tos, df, mf, frag_units, nopts, pad):
    frag_off = frag_units * 8
    b = bytearray(20)
    ipv4.emit(b, 0, src, dst, proto, len(payload), ident, ttl, tos, df, mf, frag_off)
    if nopts:
        # Options (here NOPs, RFC 791 3.1) are skipped by the parser: add them to the header
        # the emitter wrote, and fix its length fields and checksum.
        b += b"\x01" * (4 * nopts)
        b[0] = 0x45 + nopts
        struct.pack_into("!H", b, 2, len(b) + len(payload))
        struct.pack_into("!H", b, 10, 0)
        struct.pack_into("!H", b, 10, scapy_checksum(bytes(b)))
    fields = (20 + 4 * nopts, tos, src, dst, proto, ident, ttl, df, mf, frag_off, payload)
    return fields, bytes(b) + payload + pad  # pad: link-layer padding beyond the total length


def _ipv4_fields(r):
    h, payload = r
    return (h.hlen, h.tos, h.src, h.dst, h.proto, h.ident, h.ttl, h.df, h.mf, h.frag_off,
            bytes(payload))


def _ipv4_scapy(raw):
    hlen = (raw[0] & 15) * 4
    p = IP(raw[:hlen])      # the header alone: scapy's upper layers may rebuild it otherwise
    assert scapy_checksum(raw[:hlen]) == 0
    return (p.ihl * 4, p.tos, _ip(p.src), _ip(p.dst), p.proto, p.id, p.ttl, "DF" in p.flags,
            "MF" in p.flags, p.frag * 8, raw[hlen:p.len])


IPV4 = Parser("ipv4", lambda k: _ipv4_build(_bytes(k, 4), _bytes(k, 4), k.byte(), _payload(k),
                                           k.int(2), k.byte(), k.byte(), k.byte() & 1 == 1,
                                           k.byte() & 1 == 1, k.int(2) & 0x1FFF,
                                           k.byte() % 11, k.blob(k.byte() % 31)),
              ipv4.parse, _ipv4_fields, _ipv4_scapy)


# -- ICMP ------------------------------------------------------------------------------------

def _icmp_build(typ, code, rest, body):
    b = bytearray(8 + len(body))
    icmp.emit(b, 0, typ, code, rest, body)
    return (typ, code, rest, body), bytes(b)


def _icmp_fields(r):
    typ, code, rest, body = r
    return typ, code, rest, bytes(body)


def _icmp_scapy(raw):
    m = ICMP(raw + bytes(20))  # room for the fields scapy reads for timestamp/mask types
    assert scapy_checksum(raw) == 0
    return m.type, m.code, struct.unpack_from("!I", raw, 4)[0], raw[8:]


ICMP_ = Parser("icmp", lambda k: _icmp_build(k.byte(), k.byte(), k.int(4), _payload(k)),
               icmp.parse, _icmp_fields,
               _icmp_scapy)


# -- UDP -------------------------------------------------------------------------------------

def _udp_build(sport, dport, payload, no_sum):
    b = bytearray(8)
    udp.emit_header(b, SRC, DST, sport, dport, payload)
    if no_sum:
        b[6:8] = b"\x00\x00"  # RFC 768: zero means the sender computed none
    return (sport, dport, payload), bytes(b) + payload


def _udp_fields(r):
    sport, dport, payload = r
    return sport, dport, bytes(payload)


def _udp_scapy(raw):
    u = UDP(raw)
    assert u.chksum == 0 or _pseudo_ok(SRC, DST, 17, raw)
    return u.sport, u.dport, raw[8:u.len]


UDP_ = Parser("udp", lambda k: _udp_build(k.int(2), k.int(2), _payload(k), k.byte() & 1),
              lambda d: udp.parse(d, SRC, DST), _udp_fields, _udp_scapy)


# -- TCP -------------------------------------------------------------------------------------

def _tcp_build(sport, dport, sq, ak, flags, wnd, urp, payload, mss, ws, sack_perm, ts, sack):
    # The caller keeps the options within 40 bytes (tcp.options' contract): as many blocks
    # as the other options leave room for (RFC 2018 3: three beside the timestamps)
    used = (mss is not None) * 4 + (ws is not None) * 4 + sack_perm * 4 + (ts is not None) * 12
    sack = sack[:max(0, (40 - used - 4) // 8)]
    b = bytearray(tcp.MAX_HEADER_LEN)
    n = tcp.options(b, tcp.HEADER_LEN, mss=mss, wscale=ws, sack_perm=sack_perm, ts=ts, sack=sack)
    hlen = tcp.emit(b, sport, dport, sq, ak, flags, wnd, urp, n)
    hdr = memoryview(b)[:hlen]
    tcp.finish_checksum(hdr, payload, SRC, DST)
    fields = (sport, dport, sq, ak, flags, wnd, urp, mss, ws, sack_perm, ts,
              tuple(sack or ()), payload)
    return fields, bytes(hdr) + payload


def _tcp_fields(s):
    ts = None if s.tsval is None else (s.tsval, s.tsecr)
    return (s.sport, s.dport, s.seq, s.ack, s.flags, s.wnd, s.urp, s.mss, s.wscale, s.sack_perm,
            ts, s.sack, bytes(s.payload))


def _tcp_scapy(raw):
    t = TCP(raw)
    assert _pseudo_ok(SRC, DST, 6, raw)
    o = {}
    for k, v in t.options:
        o[k] = v
    sack = o.get("SAck", ())
    return (t.sport, t.dport, t.seq, t.ack, int(t.flags), t.window, t.urgptr, o.get("MSS"),
            o.get("WScale"), "SAckOK" in o, o.get("Timestamp"),
            tuple(zip(sack[0::2], sack[1::2])), raw[t.dataofs * 4:])


def _maybe(k, v):
    return None if k.byte() & 1 else v


TCP_ = Parser("tcp", lambda k: _tcp_build(
                  k.int(2), k.int(2), k.int(4), k.int(4), k.byte(), k.int(2), k.int(2),
                  _payload(k), _maybe(k, k.int(2)), _maybe(k, k.byte()), k.byte() & 1 == 1,
                  _maybe(k, (k.int(4), k.int(4))),
                  [(k.int(4), k.int(4)) for _ in range(k.byte() % (tcp.MAX_SACK_BLOCKS + 1))]),
              lambda d: tcp.parse(d, SRC, DST), _tcp_fields, _tcp_scapy)



# -- DHCP ------------------------------------------------------------------------------------

def _dhcp_build(k):
    op = k.pick([dhcp.BOOTREQUEST, dhcp.BOOTREPLY])
    fields = (op, k.int(4), _bytes(k, 6), _bytes(k, 4), _bytes(k, 4), k.pick([0, 0x8000]),
              1 + k.below(8), _maybe(k, _bytes(k, 4)), _maybe(k, k.int(4)))
    opts = {dhcp.OPT_MSG_TYPE: bytes([fields[6]])}
    if fields[7] is not None:
        opts[dhcp.OPT_SERVER_ID] = fields[7]
    if fields[8] is not None:
        opts[dhcp.OPT_LEASE_TIME] = dhcp.u32(fields[8])
    m = dhcp.Message(op, fields[1], fields[2], opts, ciaddr=fields[3], yiaddr=fields[4],
                     flags=fields[5])
    return fields, dhcp.build(m)


def _dhcp_fields(m):
    return (m.op, m.xid, m.chaddr, m.ciaddr, m.yiaddr, m.flags, m.type, m.addr(dhcp.OPT_SERVER_ID),
            m.u32(dhcp.OPT_LEASE_TIME))


def _dhcp_scapy(raw):
    b = BOOTP(raw)
    o = dict(x for x in b[DHCP].options if isinstance(x, tuple))
    sid = o.get("server_id")
    return (b.op, b.xid, b.chaddr[:b.hlen], _ip(b.ciaddr), _ip(b.yiaddr), b.flags,
            o["message-type"], None if sid is None else _ip(sid), o.get("lease_time"))


DHCP_ = Parser("dhcp", _dhcp_build, dhcp.parse, _dhcp_fields, _dhcp_scapy)


# -- DNS -------------------------------------------------------------------------------------

_LDH = "abcdefghijklmnopqrstuvwxyz0123456789-"


def _dns_build(k):
    name = ".".join("".join(k.pick(_LDH) for _ in range(1 + k.below(12)))
                    for _ in range(1 + k.below(4)))
    flags = dns.QR | (k.byte() & 1) * dns.AA | (k.byte() & 1) * dns.TC | dns.RD | dns.RA | \
        k.below(6)
    answers = [(k.int(4) & 0x7FFFFFFF, _bytes(k, 4)) for _ in range(k.below(5))]
    fields = (k.int(2), flags, name, answers)
    raw = dns.build(fields[0], flags, [(name, dns.TYPE_A, dns.CLASS_IN)],
                    [(name, dns.TYPE_A, dns.CLASS_IN, t, a) for t, a in answers])
    return fields, raw


def _dns_fields(m):
    return (m.id, m.flags, m.questions[0][0], [(r[3], r[4]) for r in m.answers])


def _dns_scapy(raw):
    d = DNS(raw)
    flags = d.qr << 15 | d.opcode << 11 | d.aa << 10 | d.tc << 9 | d.rd << 8 | d.ra << 7 | \
        d.z << 6 | d.ad << 5 | d.cd << 4 | d.rcode
    return (d.id, flags, d.qd[0].qname.decode().rstrip(".").lower(),
            [(r.ttl, _ip(r.rdata)) for r in d.an])


DNS_ = Parser("dns", _dns_build, dns.parse, _dns_fields, _dns_scapy)

PARSERS = [ETHERNET, ARP_, IPV4, ICMP_, UDP_, TCP_, DHCP_, DNS_]


# -- TCP options corner cases ----------------------------------------------------------------
# An options area is a list of items (kind, length field, body); the parser sees their bytes
# back to back, cut at the header length. Lengths are right most of the time, and otherwise
# the ones RFC 9293 3.1 says must not crash a receiver: 0, 1, too short, too long, 255.

def _opt(kind, length, body):
    return (kind, length, bytes(body))


_SACK_SHAPES = ("any", "inverted", "overlapping")


def _sack_item(k):
    blocks = []
    for _ in range(k.byte() % 6):                    # 0..5 blocks: 5 cannot fit in 40 bytes
        shape = k.pick(_SACK_SHAPES)
        if shape == "any":
            blocks.append((k.int(4), k.int(4)))
        elif shape == "inverted":
            a = k.int(4)
            blocks.append((a, (a - 100) & 0xFFFFFFFF))
        else:
            blocks.append(k.pick([(1000, 2000), (1500, 2500), (1000, 2000)]))
    body = b"".join(struct.pack("!II", a, b) for a, b in blocks)
    return _opt(tcp.OPT_SACK, 2 + len(body), body)


def tcp_option(k):
    """One option item, from a fuzzlib.Knobs."""
    c = k.byte() % 9
    if c == 0:
        return _opt(tcp.OPT_NOP, None, b"")
    if c == 1:
        return _opt(tcp.OPT_EOL, None, b"")
    if c == 2:
        return _opt(tcp.OPT_MSS, 4, struct.pack("!H", k.pick([1460, 0, 1, 536, 65535, k.int(2)])))
    if c == 3:
        return _opt(tcp.OPT_WSCALE, 3, [k.pick([7, 0, 14, 15, 255, k.byte()])])
    if c == 4:
        return _opt(tcp.OPT_SACK_PERM, 2, b"")
    if c == 5:
        return _sack_item(k)
    if c == 6:
        return _opt(tcp.OPT_TS, 10, struct.pack("!II", k.int(4), k.int(4)))
    if c == 7:
        # A known kind with the wrong length: Linux ignores it (tcp_parse_options), so do we.
        kind = k.pick([tcp.OPT_MSS, tcp.OPT_WSCALE, tcp.OPT_SACK_PERM, tcp.OPT_SACK, tcp.OPT_TS])
        n = 2 + k.byte() % 11
        return _opt(kind, n, bytes(n - 2))
    # Unknown kinds, skipped by length; lengths 0 and 1 are illegal, 255 runs past any header.
    kind = k.pick([6, 7, 9, 30, 254, 255, 6 + k.byte() % 250])
    if kind == tcp.OPT_TS:
        kind = 9
    n = k.pick([0, 1, 2, 3, 255, 2 + k.byte() % 39])
    return _opt(kind, n, bytes(max(0, n - 2)))


def tcp_options(k, most=12):
    """Up to `most` option items, from a fuzzlib.Knobs."""
    return [tcp_option(k) for _ in range(k.byte() % (most + 1))]


def options_bytes(items):
    out = bytearray()
    for kind, length, body in items:
        out.append(kind)
        if length is not None:
            out.append(length)
            out += body
    return bytes(out)


def expected_options(items, room):
    """What a receiver makes of the items within `room` bytes of options (RFC 9293 3.1): the
    last well-formed instance of each option, or "malformed" for a length under 2 or running
    past the header. Works on the items, not on their bytes, as an independent reading."""
    got = {"mss": None, "wscale": None, "sack_perm": False, "ts": None, "sack": ()}
    pos = 0
    for kind, length, body in items:
        if pos >= room or kind == tcp.OPT_EOL:
            break
        if kind == tcp.OPT_NOP:
            pos += 1
            continue
        if pos + 1 >= room or length < 2 or pos + length > room:
            return "malformed"
        if kind == tcp.OPT_MSS and length == 4:
            got["mss"] = struct.unpack("!H", body)[0]
        elif kind == tcp.OPT_WSCALE and length == 3:
            got["wscale"] = body[0]
        elif kind == tcp.OPT_SACK_PERM and length == 2:
            got["sack_perm"] = True
        elif kind == tcp.OPT_SACK and (length - 2) % 8 == 0:
            got["sack"] = tuple(struct.unpack_from("!II", body, i) for i in range(0, len(body), 8))
        elif kind == tcp.OPT_TS and length == 10:
            got["ts"] = struct.unpack("!II", body)
        pos += length
    return got
