"""wire/ipv4.py against scapy: headers both ways (flags, fragment offset, options skipped,
checksum), link padding trimmed, and every rejection reason."""

import pytest
from hypothesis import given, settings, strategies as st
from scapy.layers.inet import IP, UDP, IPOption_NOP, IPOption_RR
from scapy.utils import checksum

from barenet.addr import ip_aton, ip_ntoa
from barenet.wire import ipv4

SRC, DST = "192.0.2.1", "198.51.100.7"
S, D = ip_aton(SRC), ip_aton(DST)


def build(payload, **kw):
    buf = bytearray(20 + len(payload))
    assert ipv4.emit(buf, 0, kw.pop("src", S), kw.pop("dst", D), kw.pop("proto", 17),
                     len(payload), kw.pop("ident", 0x1234), **kw) == 20
    buf[20:] = payload
    return bytes(buf)


def scapy_checksum_ok(raw):
    """scapy recomputes the header checksum when the field is deleted; ours must match. The
    header alone: dissecting the payload can change the header scapy rebuilds (its IGMP layer,
    bound once scapy.all is loaded, adds a Router Alert option to a proto-2 datagram's)."""
    p = IP(raw[:(raw[0] & 0x0F) * 4])
    orig = p.chksum
    del p.chksum
    return IP(bytes(p)).chksum == orig


def test_barenet_builds_scapy_decodes():
    raw = build(b"hello", ident=0xBEEF, ttl=3, tos=0xB8, df=True, proto=6)
    p = IP(raw)
    assert (p.version, p.ihl, p.tos, p.len, p.id, p.ttl, p.proto) == (4, 5, 0xB8, 25, 0xBEEF, 3, 6)
    assert (p.src, p.dst, str(p.flags), p.frag) == (SRC, DST, "DF", 0)
    assert bytes(p.payload) == b"hello"
    assert scapy_checksum_ok(raw)


def test_fragment_fields():
    raw = build(bytes(16), mf=True, frag_off=1480)
    p = IP(raw)
    assert (str(p.flags), p.frag) == ("MF", 185)  # scapy counts the offset in 8-byte units
    assert scapy_checksum_ok(raw)
    h, _ = ipv4.parse(memoryview(raw))
    assert (h.mf, h.df, h.frag_off) == (True, False, 1480)


def test_emit_at_offset_leaves_prefix_alone():
    buf = bytearray(b"\xaa" * 14 + bytes(24))
    ipv4.emit(buf, 14, S, D, 1, 4, 7)
    assert buf[:14] == b"\xaa" * 14
    assert scapy_checksum_ok(bytes(buf[14:]))


def test_scapy_builds_barenet_parses():
    raw = bytes(IP(src=SRC, dst=DST, id=777, ttl=200, tos=4, flags="MF", frag=3, proto=17)
                / b"payload!")
    h, payload = ipv4.parse(memoryview(raw))
    assert (h.hlen, h.tos, h.total_len, h.ident, h.ttl, h.proto) == (20, 4, 28, 777, 200, 17)
    assert (h.src, h.dst, h.df, h.mf, h.frag_off) == (S, D, False, True, 24)
    assert bytes(payload) == b"payload!"
    assert bytes(h.datagram) == raw


def test_options_are_skipped():
    raw = bytes(IP(src=SRC, dst=DST, proto=1, options=[IPOption_RR(routers=["192.0.2.9"]),
                                                       IPOption_NOP()]) / b"data")
    h, payload = ipv4.parse(memoryview(raw))
    assert h.hlen == IP(raw).ihl * 4 > 20
    assert bytes(payload) == b"data" and h.proto == 1


def test_link_padding_is_trimmed():
    raw = bytes(IP(src=SRC, dst=DST) / b"ab") + bytes(24)  # padded to Ethernet's minimum
    h, payload = ipv4.parse(memoryview(raw))
    assert bytes(payload) == b"ab" and len(h.datagram) == 22


def _set(raw, i, v):
    b = bytearray(raw)
    b[i] = v
    return bytes(b)


def _fix(raw):
    """Recompute the header checksum of a hand-damaged header, so only the damage is wrong."""
    b = bytearray(raw)
    hl = min((b[0] & 15) * 4, len(b))
    b[10:12] = b"\x00\x00"
    b[10:12] = checksum(bytes(b[:hl])).to_bytes(2, "big")
    return bytes(b)


GOOD = build(b"0123456789")


@pytest.mark.parametrize("raw,reason", [
    (b"", "short"),
    (GOOD[:19], "short"),
    (_fix(_set(GOOD, 0, 0x65)), "version"),
    (_fix(_set(GOOD, 0, 0x44)), "hlen"),        # IHL 4: 16-byte header
    (_fix(_set(GOOD, 0, 0x40)), "hlen"),
    (_set(GOOD, 0, 0x46), "checksum"),          # IHL 6: the checksum now covers 4 more bytes
    (_fix(_set(GOOD, 0, 0x4F)), "length"),      # IHL 15: 60-byte header > 30-byte datagram
    (_fix(_set(GOOD, 3, 19)), "length"),        # total length 19 < header
    (_fix(_set(GOOD, 3, 31)), "length"),        # total length beyond what arrived
    (GOOD[:29], "length"),                      # truncated datagram
    (_set(GOOD, 10, GOOD[10] ^ 0x01), "checksum"),
    (_set(GOOD, 8, GOOD[8] ^ 0x80), "checksum"),  # ttl flipped, checksum not updated
])
def test_malformed(raw, reason):
    with pytest.raises(ValueError) as e:
        ipv4.parse(memoryview(raw))
    assert e.value.args[0] == reason


def test_verify_false_skips_the_checksum_only():
    raw = _set(GOOD, 10, GOOD[10] ^ 0xFF)
    h, payload = ipv4.parse(memoryview(raw), verify=False)
    assert bytes(payload) == b"0123456789"
    with pytest.raises(ValueError, match="version"):
        ipv4.parse(memoryview(_set(raw, 0, 0x55)), verify=False)


ips = st.binary(min_size=4, max_size=4)


@settings(max_examples=300, deadline=None)
@given(src=ips, dst=ips, proto=st.integers(0, 255), payload=st.binary(max_size=200),
       ident=st.integers(0, 0xFFFF), ttl=st.integers(0, 255), tos=st.integers(0, 255),
       df=st.booleans(), mf=st.booleans(), frag8=st.integers(0, 0x1FFF))
def test_round_trip_and_scapy_agree(src, dst, proto, payload, ident, ttl, tos, df, mf, frag8):
    raw = build(payload, src=src, dst=dst, proto=proto, ident=ident, ttl=ttl, tos=tos, df=df,
                mf=mf, frag_off=frag8 * 8)
    h, p = ipv4.parse(memoryview(raw))
    assert (h.hlen, h.total_len, h.src, h.dst, h.proto, h.ident, h.ttl, h.tos) == \
        (20, 20 + len(payload), src, dst, proto, ident, ttl, tos)
    assert (h.df, h.mf, h.frag_off, bytes(p)) == (df, mf, frag8 * 8, payload)
    s = IP(raw)
    assert (s.src, s.dst, s.proto, s.id, s.ttl, s.tos, s.frag, s.len) == \
        (ip_ntoa(src), ip_ntoa(dst), proto, ident, ttl, tos, frag8, 20 + len(payload))
    assert (bool(s.flags.DF), bool(s.flags.MF)) == (df, mf)
    assert scapy_checksum_ok(raw)


@settings(max_examples=200, deadline=None)
@given(src=ips, dst=ips, proto=st.integers(0, 255), ident=st.integers(0, 0xFFFF),
       nops=st.integers(0, 40), payload=st.binary(max_size=100))
def test_scapy_built_with_options_parses(src, dst, proto, ident, nops, payload):
    raw = bytes(IP(src=ip_ntoa(src), dst=ip_ntoa(dst), proto=proto, id=ident,
                   options=[IPOption_NOP()] * nops) / payload)
    h, p = ipv4.parse(memoryview(raw))
    assert h.hlen == IP(raw).ihl * 4 and (h.src, h.dst, h.proto, h.ident) == (src, dst, proto, ident)
    assert bytes(p) == payload


class _Capture:
    def __init__(self):
        self.frames = []

    def send(self, frame):
        self.frames.append(bytes(frame))


@settings(max_examples=50, deadline=None)
@given(size=st.integers(1, 9000), mtu=st.sampled_from([68, 576, 1280, 1500]))
def test_stack_fragments_reassemble_in_scapy(size, mtu):
    # The fragmenter (ip.py) uses this codec: scapy must see valid fragments (8-byte aligned
    # offsets, MF on all but the last, checksums) that its own defragmenter joins back into
    # the exact datagram.
    from scapy.layers.inet import defragment
    from scapy.layers.l2 import ARP, Ether

    from barenet.stack import Stack

    nic = _Capture()
    stack = Stack()
    iface = stack.add_interface(nic, mac="02:00:00:00:00:02", ip="192.0.2.2/24", mtu=mtu)
    # The peer asks for us first, so we know its MAC (RFC 826) and everything reaches the NIC
    # (an unsolicited reply would teach nothing, as in Linux without arp_accept).
    stack.input(iface, bytes(Ether(dst="ff:ff:ff:ff:ff:ff", src="02:00:00:00:00:01") /
                             ARP(op=1, hwsrc="02:00:00:00:00:01", psrc="192.0.2.1",
                                 pdst="192.0.2.2")), 0)
    ep = stack.udp.bind(4000)
    data = bytes((i * 13) & 0xFF for i in range(size))
    ep.sendto(data, ("192.0.2.1", 9))
    frags = [Ether(f)[IP] for f in nic.frames if Ether(f).type == 0x0800]
    assert all(len(p) <= mtu for p in frags)
    assert all(scapy_checksum_ok(bytes(p)) for p in frags)
    assert [bool(p.flags.MF) for p in frags] == [True] * (len(frags) - 1) + [False]
    whole = defragment(frags)
    assert len(whole) == 1
    u = IP(bytes(whole[0]))[UDP]
    assert bytes(u.payload) == data and (u.sport, u.dport) == (4000, 9)
    # scapy's recomputed UDP checksum agrees with ours over the reassembled datagram
    c = u.chksum
    del u.chksum
    assert IP(bytes(IP(src="192.0.2.2", dst="192.0.2.1") / u))[UDP].chksum == c


def test_parse_into_fills_one_header_again_and_again():
    # the receive path's form: one Header per stack, addresses as halves and their word sum
    h = ipv4.Header()
    first = build(b"one", src=S, dst=D, proto=6, ident=1, ttl=9)
    second = build(b"second", src=ip_aton("203.0.113.200"), dst=ip_aton("10.1.2.3"),
                   proto=17, ident=2, df=True)
    assert ipv4.parse_into(memoryview(first), h) is h and bytes(h.payload) == b"one"
    assert ipv4.parse_into(memoryview(second), h) is h
    assert (h.proto, h.ident, h.df, h.ttl, bytes(h.payload)) == (17, 2, True, 64, b"second")
    assert (h.src, h.dst) == (ip_aton("203.0.113.200"), ip_aton("10.1.2.3"))
    assert (h.src_hi, h.src_lo, h.dst_hi, h.dst_lo) == (203 << 8, 113 << 8 | 200, 10 << 8 | 1,
                                                        2 << 8 | 3)
    assert h.asum == (203 << 8) + (113 << 8 | 200) + (10 << 8 | 1) + (2 << 8 | 3)
    assert bytes(h.datagram) == second and not h.bcast
    with pytest.raises(ValueError, match="checksum"):
        ipv4.parse_into(memoryview(_set(second, 8, 1)), h)
