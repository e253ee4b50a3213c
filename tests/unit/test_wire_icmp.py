"""wire/icmp.py against scapy: echo request/reply, destination unreachable (port unreachable,
fragmentation needed with the next-hop MTU), time exceeded; checksum both ways."""

import pytest
from hypothesis import given, settings, strategies as st
from scapy.layers.inet import ICMP, IP, IPerror, UDP, UDPerror
from scapy.utils import checksum as scapy_checksum

from barenet.wire import icmp

SRC, DST = "192.0.2.1", "192.0.2.2"


def build(typ, code, rest, body):
    buf = bytearray(icmp.HEADER_LEN + len(body))
    assert icmp.emit(buf, 0, typ, code, rest, body) == len(buf)
    return bytes(buf)


def scapy_icmp(raw):
    return IP(bytes(IP(src=SRC, dst=DST, proto=1) / raw))[ICMP]


def quoted_udp():
    """A datagram as an ICMP error quotes it: IP header + the UDP header."""
    return bytes(IP(src=DST, dst="198.51.100.1", id=99) / UDP(sport=5000, dport=53) / b"q")[:28]


def test_echo_request_decodes_in_scapy():
    raw = build(icmp.ECHO_REQUEST, 0, icmp.echo_rest(0x1234, 7), b"ping data")
    m = scapy_icmp(raw)
    assert (m.type, m.code, m.id, m.seq, bytes(m.payload)) == (8, 0, 0x1234, 7, b"ping data")
    assert scapy_checksum(raw) == 0


def test_echo_reply_from_scapy_parses():
    raw = bytes(ICMP(type=0, id=0xFFFF, seq=0x8001) / b"xyz")
    typ, code, rest, body = icmp.parse(memoryview(raw))
    assert (typ, code, rest >> 16, rest & 0xFFFF, bytes(body)) == (0, 0, 0xFFFF, 0x8001, b"xyz")


def test_port_unreachable_quotes_the_datagram():
    q = quoted_udp()
    raw = build(icmp.DEST_UNREACH, icmp.PORT_UNREACH, 0, q)
    m = scapy_icmp(raw)
    assert (m.type, m.code) == (3, 3)
    assert m[IPerror].id == 99 and (m[UDPerror].sport, m[UDPerror].dport) == (5000, 53)
    assert scapy_checksum(raw) == 0


def test_fragmentation_needed_carries_next_hop_mtu():
    # RFC 1191 4: the next-hop MTU is the low 16 bits of the word after the checksum.
    raw = build(icmp.DEST_UNREACH, icmp.FRAG_NEEDED, 1400, quoted_udp())
    m = scapy_icmp(raw)
    assert (m.type, m.code, m.nexthopmtu) == (3, 4, 1400)
    raw = bytes(ICMP(type=3, code=4, nexthopmtu=576) / quoted_udp())
    typ, code, rest, body = icmp.parse(memoryview(raw))
    assert (typ, code, rest & 0xFFFF, bytes(body)) == (3, 4, 576, quoted_udp())


def test_time_exceeded_both_ways():
    raw = build(icmp.TIME_EXCEEDED, icmp.REASSEMBLY_EXCEEDED, 0, quoted_udp())
    m = scapy_icmp(raw)
    assert (m.type, m.code, m[IPerror].dst) == (11, 1, "198.51.100.1")
    raw = bytes(ICMP(type=11, code=0) / quoted_udp())
    assert icmp.parse(memoryview(raw))[:3] == (11, 0, 0)


def test_odd_length_body_checksum():
    raw = build(icmp.ECHO_REPLY, 0, 1, b"abc")
    assert scapy_checksum(raw) == 0
    assert scapy_icmp(raw).chksum == ICMP(bytes(ICMP(type=0, id=0, seq=1) / b"abc")).chksum


def test_emit_at_offset_into_bigger_buffer():
    buf = bytearray(b"\xee" * 30)
    n = icmp.emit(buf, 20, icmp.ECHO_REQUEST, 0, 5, b"")
    assert n == 8 and buf[:20] == b"\xee" * 20 and buf[28:] == b"\xee" * 2
    assert scapy_checksum(bytes(buf[20:28])) == 0


@pytest.mark.parametrize("raw,reason", [
    (b"", "short"),
    (build(8, 0, 0, b"")[:7], "short"),
    (b"\x08\x00\x00\x00\x00\x00\x00\x00", "checksum"),
    (build(8, 0, 0, b"x")[:-1] + b"y", "checksum"),
    (build(0, 0, 0, b"abcd")[:-1], "checksum"),   # truncated: the sum no longer checks out
])
def test_malformed(raw, reason):
    with pytest.raises(ValueError) as e:
        icmp.parse(memoryview(raw))
    assert e.value.args[0] == reason


@settings(max_examples=300, deadline=None)
@given(typ=st.integers(0, 255), code=st.integers(0, 255), rest=st.integers(0, 2**32 - 1),
       body=st.binary(max_size=200))
def test_round_trip_and_scapy_checksum_agree(typ, code, rest, body):
    raw = build(typ, code, rest, body)
    typ2, code2, rest2, body2 = icmp.parse(memoryview(raw))
    assert (typ2, code2, rest2, bytes(body2)) == (typ, code, rest, body)
    assert scapy_checksum(raw) == 0
    if typ in (0, 3, 4, 5, 8, 11, 12):  # scapy needs more than 8 bytes for e.g. timestamps
        m = ICMP(raw)
        assert (m.type, m.code) == (typ, code)


@settings(max_examples=200, deadline=None)
@given(ident=st.integers(0, 0xFFFF), seq=st.integers(0, 0xFFFF), data=st.binary(max_size=100))
def test_scapy_echo_is_byte_identical(ident, seq, data):
    for typ in (icmp.ECHO_REQUEST, icmp.ECHO_REPLY):
        assert build(typ, 0, icmp.echo_rest(ident, seq), data) == \
            bytes(ICMP(type=typ, id=ident, seq=seq) / data)


@settings(max_examples=200, deadline=None)
@given(typ=st.integers(0, 255), code=st.integers(0, 255), rest=st.integers(0, 2**32 - 1),
       body=st.binary(max_size=300))
def test_emit_header_matches_emit_without_copying_the_body(typ, code, rest, body):
    # The stack sends with emit_header (the body travels beside it, as UDP's payload does);
    # header + body must be exactly what emit, and scapy, make.
    hdr = bytearray(icmp.HEADER_LEN)
    assert icmp.emit_header(hdr, typ, code, rest, memoryview(body)) == icmp.HEADER_LEN
    assert bytes(hdr) + body == build(typ, code, rest, body)
    assert scapy_checksum(bytes(hdr) + body) == 0
