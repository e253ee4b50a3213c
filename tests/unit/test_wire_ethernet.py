"""wire/ethernet.py against scapy: Ethernet II headers both ways, and the short-frame check."""

import pytest
from hypothesis import given, settings, strategies as st
from scapy.layers.l2 import Ether

from barenet.addr import mac_aton, mac_ntoa
from barenet.wire import ethernet

MAC_A, MAC_B = "02:00:00:00:00:0a", "02:00:00:00:00:0b"


def test_barenet_builds_scapy_decodes():
    buf = bytearray(14 + 4)
    n = ethernet.emit(buf, mac_aton(MAC_A), mac_aton(MAC_B), ethernet.TYPE_ARP)
    buf[n:] = b"abcd"
    e = Ether(bytes(buf))
    assert (n, e.dst, e.src, e.type) == (14, MAC_A, MAC_B, 0x0806)
    assert bytes(e.payload) == b"abcd"


def test_scapy_builds_barenet_parses():
    raw = bytes(Ether(dst="ff:ff:ff:ff:ff:ff", src=MAC_B, type=0x0800) / b"payload")
    dst, src, etype, payload = ethernet.parse(memoryview(raw))
    assert (bytes(dst), bytes(src), etype) == (b"\xff" * 6, mac_aton(MAC_B), 0x0800)
    assert bytes(payload) == b"payload"


def test_payload_is_a_view_not_a_copy():
    raw = bytearray(bytes(Ether(dst=MAC_A, src=MAC_B, type=0x0800) / b"xyz"))
    _, _, _, payload = ethernet.parse(memoryview(raw))
    raw[14] = ord("X")
    assert bytes(payload) == b"Xyz"


@pytest.mark.parametrize("n", [0, 1, 13])
def test_short(n):
    with pytest.raises(ValueError) as e:
        ethernet.parse(memoryview(bytes(n)))
    assert e.value.args[0] == "short"


def test_header_only_is_valid():
    assert bytes(ethernet.parse(memoryview(bytes(14)))[3]) == b""


macs = st.binary(min_size=6, max_size=6)


@settings(max_examples=300, deadline=None)
# EtherTypes below 0x0600 are IEEE 802.3 lengths, which scapy decodes as Dot3 (not Ethernet II).
@given(dst=macs, src=macs, etype=st.integers(0x0600, 0xFFFF), payload=st.binary(max_size=100))
def test_round_trip_and_scapy_agree(dst, src, etype, payload):
    buf = bytearray(14 + len(payload))
    ethernet.emit(buf, dst, src, etype)
    buf[14:] = payload
    d, s, t, p = ethernet.parse(memoryview(buf))
    assert (bytes(d), bytes(s), t, bytes(p)) == (dst, src, etype, payload)
    e = Ether(bytes(buf))
    assert (e.dst, e.src, e.type) == (mac_ntoa(dst), mac_ntoa(src), etype)
