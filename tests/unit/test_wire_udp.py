"""wire/udp.py against scapy: header and pseudo-header checksum both ways, the 0 -> 0xFFFF
rule on send and "zero means no checksum" on receive (RFC 768), and every rejection reason."""

import pytest
from hypothesis import given, settings, strategies as st
from scapy.layers.inet import IP, UDP

from barenet.addr import ip_aton, ip_ntoa
from barenet.wire import udp
from barenet.wire.checksum import csum, finish, pseudo

SRC, DST = "192.0.2.1", "203.0.113.5"
S, D = ip_aton(SRC), ip_aton(DST)


def build(sport, dport, payload, src=S, dst=D):
    hdr = bytearray(udp.HEADER_LEN)
    assert udp.emit_header(hdr, src, dst, sport, dport, payload) == 8
    return bytes(hdr) + payload


def scapy_udp(raw, src=SRC, dst=DST):
    return IP(bytes(IP(src=src, dst=dst, proto=17) / raw))[UDP]


def scapy_sum(u, src=SRC, dst=DST):
    """The checksum scapy computes for the same datagram."""
    u = u.copy()
    del u.chksum
    return IP(bytes(IP(src=src, dst=dst) / u))[UDP].chksum


def test_barenet_builds_scapy_decodes():
    raw = build(40000, 7, b"echo me")
    u = scapy_udp(raw)
    assert (u.sport, u.dport, u.len, bytes(u.payload)) == (40000, 7, 15, b"echo me")
    assert u.chksum == scapy_sum(u) != 0


def test_scapy_builds_barenet_parses():
    raw = bytes(IP(bytes(IP(src=SRC, dst=DST) / UDP(sport=53, dport=1024) / b"answer"))[UDP])
    sport, dport, payload = udp.parse(memoryview(raw), S, D)
    assert (sport, dport, bytes(payload)) == (53, 1024, b"answer")


def test_computed_zero_is_sent_as_ffff():
    # RFC 768: a computed checksum of 0 goes on the wire as 0xFFFF (0 means "none").
    # Choose a payload word that makes the sum come out as -0.
    # With a zero payload word the checksum is c0; adding c0 as that word makes the
    # folded sum 0xFFFF, whose complement is 0.
    c0 = finish(csum(build(1, 2, b"\x00\x00")[:6] + bytes(4), pseudo(S, D, 17, 10)))
    raw = build(1, 2, c0.to_bytes(2, "big"))
    assert raw[6:8] == b"\xff\xff"
    assert scapy_sum(scapy_udp(raw)) == 0xFFFF
    assert udp.parse(memoryview(raw), S, D)[2] == c0.to_bytes(2, "big")


def test_zero_checksum_means_none_on_receive():
    raw = bytearray(bytes(UDP(sport=9, dport=9, chksum=0) / b"no checksum"))
    assert raw[6:8] == b"\x00\x00"
    raw[-1] = ord("M")  # corruption goes unnoticed: the sender asked for no checksum
    assert bytes(udp.parse(memoryview(raw), S, D)[2]) == b"no checksuM"


def test_checksum_covers_the_pseudo_header():
    raw = build(1, 2, b"data")
    with pytest.raises(ValueError, match="checksum"):
        udp.parse(memoryview(raw), S, ip_aton("203.0.113.6"))


def test_ip_payload_longer_than_udp_length_is_trimmed():
    raw = build(1, 2, b"abc") + b"\x00junk"
    assert bytes(udp.parse(memoryview(raw), S, D)[2]) == b"abc"


def _with_len(raw, n):
    return raw[:4] + n.to_bytes(2, "big") + b"\x00\x00" + raw[8:]  # checksum off: length only


GOOD = build(1000, 2000, b"0123456789")


@pytest.mark.parametrize("raw,reason", [
    (b"", "short"),
    (GOOD[:7], "short"),
    (_with_len(GOOD, 7), "length"),
    (_with_len(GOOD, 0), "length"),
    (_with_len(GOOD, 19), "length"),     # claims one byte more than arrived
    (GOOD[:-1], "length"),               # truncated
    (GOOD[:-1] + b"X", "checksum"),
    (GOOD[:6] + bytes([GOOD[6] ^ 0x10]) + GOOD[7:], "checksum"),
])
def test_malformed(raw, reason):
    with pytest.raises(ValueError) as e:
        udp.parse(memoryview(raw), S, D)
    assert e.value.args[0] == reason


ips = st.binary(min_size=4, max_size=4)
ports = st.integers(0, 65535)


@settings(max_examples=300, deadline=None)
@given(src=ips, dst=ips, sport=ports, dport=ports, payload=st.binary(max_size=300))
def test_round_trip_and_scapy_agree(src, dst, sport, dport, payload):
    raw = build(sport, dport, payload, src, dst)
    s2, d2, p2 = udp.parse(memoryview(raw), src, dst)
    assert (s2, d2, bytes(p2)) == (sport, dport, payload)
    u = scapy_udp(raw, ip_ntoa(src), ip_ntoa(dst))
    assert (u.sport, u.dport, u.len, bytes(u.payload)) == (sport, dport, 8 + len(payload), payload)
    assert u.chksum == scapy_sum(u, ip_ntoa(src), ip_ntoa(dst))


@settings(max_examples=200, deadline=None)
@given(src=ips, dst=ips, sport=ports, dport=ports, payload=st.binary(max_size=300))
def test_scapy_built_parses_and_is_byte_identical(src, dst, sport, dport, payload):
    pkt = IP(src=ip_ntoa(src), dst=ip_ntoa(dst)) / UDP(sport=sport, dport=dport) / payload
    raw = bytes(IP(bytes(pkt))[UDP])
    s2, d2, p2 = udp.parse(memoryview(raw), src, dst)
    assert (s2, d2, bytes(p2)) == (sport, dport, payload)
    assert build(sport, dport, payload, src, dst) == raw
