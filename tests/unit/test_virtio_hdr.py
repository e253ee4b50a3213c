"""The virtio_net_hdr codec (barenet_host/devices/virtio_hdr.py) against the layout of
linux/virtio_net.h: u8 flags, u8 gso_type, then four u16 in host order."""

import struct

import pytest

from barenet_host.devices import virtio_hdr as v


def test_pack_lays_out_the_ten_bytes_in_kernel_order():
    h = v.Header(v.F_NEEDS_CSUM, v.GSO_TCPV4, hdr_len=66, gso_size=1448, csum_start=34,
                 csum_offset=16)
    raw = v.pack(h)
    assert len(raw) == v.LEN == 10
    assert raw[0] == 1 and raw[1] == 1
    assert struct.unpack("=HHHH", raw[2:]) == (66, 1448, 34, 16)


def test_unpack_inverts_pack_and_reads_only_the_header():
    h = v.Header(v.F_DATA_VALID, v.GSO_NONE, 0, 0, 0, 0)
    assert v.unpack(v.pack(h) + b"frame bytes") == h


def test_short_input_is_a_value_error():
    with pytest.raises(ValueError):
        v.unpack(b"\x00" * 9)


@pytest.mark.parametrize("flags,trusted", [(0, False), (v.F_NEEDS_CSUM, True),
                                           (v.F_DATA_VALID, True), (3, True)])
def test_trust_follows_needs_csum_and_data_valid(flags, trusted):
    raw = v.pack(v.Header(flags))
    assert v.trusted(raw) is trusted
    assert v.unpack(raw).csum_trusted is trusted


def test_plain_is_a_header_asking_for_nothing():
    h = v.unpack(v.PLAIN)
    assert h == v.Header() and not h.csum_trusted
