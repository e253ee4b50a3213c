"""wire/arp.py against scapy: requests and replies both ways, and every rejection reason."""

import struct

import pytest
from hypothesis import given, settings, strategies as st
from scapy.layers.l2 import ARP, Ether

from barenet.addr import ip_aton, ip_ntoa, mac_aton, mac_ntoa
from barenet.wire import arp, ethernet

MAC_A, MAC_B = "02:00:00:00:00:0a", "02:00:00:00:00:0b"
IP_A, IP_B = "192.0.2.10", "192.0.2.11"


def build(op, sha, spa, tha, tpa):
    buf = bytearray(arp.LEN)
    assert arp.emit(buf, 0, op, sha, spa, tha, tpa) == arp.LEN
    return bytes(buf)


def test_barenet_request_decodes_in_scapy():
    a = ARP(build(arp.OP_REQUEST, mac_aton(MAC_A), ip_aton(IP_A), bytes(6), ip_aton(IP_B)))
    assert (a.hwtype, a.ptype, a.hwlen, a.plen, a.op) == (1, 0x0800, 6, 4, 1)
    assert (a.hwsrc, a.psrc, a.hwdst, a.pdst) == (MAC_A, IP_A, "00:00:00:00:00:00", IP_B)


def test_emit_at_an_offset_behind_ethernet():
    buf = bytearray(14 + arp.LEN)
    ethernet.emit(buf, mac_aton(MAC_A), mac_aton(MAC_B), ethernet.TYPE_ARP)
    arp.emit(buf, 14, arp.OP_REPLY, mac_aton(MAC_B), ip_aton(IP_B), mac_aton(MAC_A), ip_aton(IP_A))
    a = Ether(bytes(buf))[ARP]
    assert (a.op, a.hwsrc, a.psrc, a.hwdst, a.pdst) == (2, MAC_B, IP_B, MAC_A, IP_A)


def test_scapy_reply_with_ethernet_padding_parses():
    # A 60-byte minimum Ethernet frame pads ARP with 18 trailing bytes: they are ignored.
    raw = bytes(ARP(op=2, hwsrc=MAC_B, psrc=IP_B, hwdst=MAC_A, pdst=IP_A)) + bytes(18)
    op, sha, spa, tha, tpa = arp.parse(memoryview(raw))
    assert (op, sha, spa, tha, tpa) == (2, mac_aton(MAC_B), ip_aton(IP_B), mac_aton(MAC_A),
                                        ip_aton(IP_A))


def _raw(**kw):
    return bytes(ARP(op=1, hwsrc=MAC_A, psrc=IP_A, pdst=IP_B, **kw))


@pytest.mark.parametrize("raw,reason", [
    (_raw()[:27], "short"),
    (b"", "short"),
    (_raw(hwtype=6), "unsupported"),       # IEEE 802 hardware
    (_raw(ptype=0x86DD), "unsupported"),   # IPv6 protocol type
    (b"\x00\x01\x08\x00\x05\x04" + _raw()[6:], "unsupported"),   # hlen 5
    (b"\x00\x01\x08\x00\x06\x10" + _raw()[6:], "unsupported"),   # plen 16
    (_raw()[:6] + b"\x00\x03" + _raw()[8:], "op"),               # RARP request
    (_raw()[:6] + b"\x00\x00" + _raw()[8:], "op"),
])
def test_malformed(raw, reason):
    with pytest.raises(ValueError) as e:
        arp.parse(memoryview(raw))
    assert e.value.args[0] == reason


macs = st.binary(min_size=6, max_size=6)
ips = st.binary(min_size=4, max_size=4)


@settings(max_examples=300, deadline=None)
@given(op=st.sampled_from([arp.OP_REQUEST, arp.OP_REPLY]), sha=macs, spa=ips, tha=macs, tpa=ips)
def test_round_trip_and_scapy_agree(op, sha, spa, tha, tpa):
    raw = build(op, sha, spa, tha, tpa)
    assert arp.parse(memoryview(raw)) == (op, sha, spa, tha, tpa)
    a = ARP(raw)
    assert (a.op, a.hwsrc, a.psrc, a.hwdst, a.pdst) == \
        (op, mac_ntoa(sha), ip_ntoa(spa), mac_ntoa(tha), ip_ntoa(tpa))
    # and scapy's own build of the same fields is byte-identical
    assert bytes(ARP(op=op, hwsrc=mac_ntoa(sha), psrc=ip_ntoa(spa), hwdst=mac_ntoa(tha),
                     pdst=ip_ntoa(tpa))) == raw


def test_fields_are_at_rfc826_offsets():
    raw = build(arp.OP_REQUEST, b"\x11" * 6, b"\x22" * 4, b"\x33" * 6, b"\x44" * 4)
    assert struct.unpack("!HHBBH", raw[:8]) == (1, 0x0800, 6, 4, 1)
    assert raw[8:] == b"\x11" * 6 + b"\x22" * 4 + b"\x33" * 6 + b"\x44" * 4
