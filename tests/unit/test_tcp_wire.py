"""wire/tcp.py against scapy: build with barenet and decode with scapy, and the reverse."""

import pytest
from hypothesis import given, settings, strategies as st
from scapy.layers.inet import IP, TCP

from barenet.addr import ip_aton
from barenet.wire import tcp

SRC, DST = "192.0.2.1", "192.0.2.2"
S, D = ip_aton(SRC), ip_aton(DST)


def build(sport, dport, sq, ak, flags, wnd, urp, payload, **opts):
    buf = bytearray(tcp.MAX_HEADER_LEN)
    n = tcp.options(buf, tcp.HEADER_LEN, **opts)
    hlen = tcp.emit(buf, sport, dport, sq, ak, flags, wnd, urp, n)
    hdr = memoryview(buf)[:hlen]
    tcp.finish_checksum(hdr, payload, S, D)
    return bytes(hdr) + payload


def scapy_tcp(raw):
    return IP(bytes(IP(src=SRC, dst=DST, proto=6) / raw))[TCP]


def assert_checksum_ok(t):
    """scapy recomputes the checksum when the field is deleted; ours must match it."""
    orig = t.chksum
    t = t.copy()
    del t.chksum
    assert IP(bytes(IP(src=SRC, dst=DST) / t))[TCP].chksum == orig


def test_syn_with_all_options_decodes_in_scapy():
    raw = build(40000, 80, 2**32 - 5, 0, tcp.SYN, 65535, 0, b"", mss=1460, wscale=7,
                sack_perm=True, ts=(123456, 0))
    t = scapy_tcp(raw)
    assert (t.sport, t.dport, t.seq, t.ack, t.window) == (40000, 80, 2**32 - 5, 0, 65535)
    assert t.flags == "S"
    opts = dict((k, v) for k, v in t.options if k != "NOP")
    assert opts["MSS"] == 1460 and opts["WScale"] == 7 and "SAckOK" in opts
    assert opts["Timestamp"] == (123456, 0)
    assert_checksum_ok(t)


def test_sack_blocks_and_payload():
    raw = build(1, 2, 10, 20, tcp.ACK | tcp.PSH | tcp.URG, 100, 3, b"hello",
                sack=[(100, 200), (300, 400), (2**32 - 10, 5)])
    t = scapy_tcp(raw)
    assert bytes(t.payload) == b"hello" and t.urgptr == 3 and t.flags == "PAU"
    sack = [v for k, v in t.options if k == "SAck"][0]
    assert sack == (100, 200, 300, 400, 2**32 - 10, 5)


@settings(max_examples=200, deadline=None)
@given(sport=st.integers(0, 65535), dport=st.integers(0, 65535), sq=st.integers(0, 2**32 - 1),
       ak=st.integers(0, 2**32 - 1), flags=st.integers(0, 255), wnd=st.integers(0, 65535),
       urp=st.integers(0, 65535), payload=st.binary(max_size=300),
       mss=st.none() | st.integers(0, 65535), ws=st.none() | st.integers(0, 14),
       sp=st.booleans(),
       sack=st.lists(st.tuples(st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1)),
                     max_size=3))
def test_scapy_built_segments_parse(sport, dport, sq, ak, flags, wnd, urp, payload, mss, ws,
                                    sp, sack):
    opts = []
    if mss is not None:
        opts.append(("MSS", mss))
    if ws is not None:
        opts.append(("WScale", ws))
    if sp:
        opts.append(("SAckOK", b""))
    if sack:
        opts.append(("SAck", tuple(x for b in sack for x in b)))
    pkt = IP(src=SRC, dst=DST) / TCP(sport=sport, dport=dport, seq=sq, ack=ak, flags=flags,
                                     window=wnd, urgptr=urp, options=opts) / payload
    raw = bytes(IP(bytes(pkt))[TCP])
    seg = tcp.parse(memoryview(raw), S, D)
    assert (seg.sport, seg.dport, seg.seq, seg.ack, seg.flags, seg.wnd, seg.urp) == \
        (sport, dport, sq, ak, flags, wnd, urp)
    assert seg.mss == mss and seg.wscale == ws and seg.sack_perm == sp
    assert list(seg.sack) == sack
    assert bytes(seg.payload) == payload
    # and our own build of the same fields is byte-identical to scapy's
    ours = build(sport, dport, sq, ak, flags, wnd, urp, payload, mss=mss, wscale=ws,
                 sack_perm=sp, sack=sack or None)
    t = scapy_tcp(ours)
    assert (t.sport, t.dport, t.seq, t.ack, int(t.flags), t.window, t.urgptr) == \
        (sport, dport, sq, ak, flags, wnd, urp)
    assert bytes(t.payload) == payload
    assert_checksum_ok(t)


@pytest.mark.parametrize("raw,reason", [
    (b"\x00" * 19, "short"),
    (bytes(12) + b"\x40" + bytes(7), "hlen"),                      # data offset 16 bytes
    (bytes(12) + b"\x60" + bytes(7) + b"\x02\x04", "hlen"),        # claims 24, has 22
    (bytes(12) + b"\x60" + bytes(7) + b"\x02\x00\x00\x00", "options"),   # option length 0
    (bytes(12) + b"\x60" + bytes(7) + b"\x01\x01\x03\x05", "options"),   # overruns header
])
def test_malformed(raw, reason):
    with pytest.raises(ValueError) as e:
        tcp.parse(memoryview(raw))
    assert str(e.value) == reason


def test_bad_checksum():
    raw = bytearray(build(1, 2, 3, 4, tcp.ACK, 5, 0, b"data"))
    raw[-1] ^= 1
    with pytest.raises(ValueError, match="checksum"):
        tcp.parse(memoryview(raw), S, D)


def with_options(opts):
    raw = bytearray(build(1, 2, 3, 4, tcp.ACK, 5, 0, b""))
    raw[12] = ((20 + len(opts)) // 4) << 4
    raw[20:20] = opts
    return memoryview(bytes(raw))


def test_unknown_option_skipped_and_eol_stops():
    # kind 30 (unknown) is skipped by its length; after EOL come the first bytes of an MSS
    # option that overruns the header, which only a parser that went on past EOL would see
    tail = b"\x02\x04\x01"
    seg = tcp.parse(with_options(b"\x1e\x04\xaa\xbb" + b"\x02\x04\x05\xb4" + b"\x00" + tail))
    assert seg.mss == 1460 and not seg.sack_perm
    with pytest.raises(ValueError, match="options"):       # the same bytes with NOP for EOL
        tcp.parse(with_options(b"\x1e\x04\xaa\xbb" + b"\x02\x04\x05\xb4" + b"\x01" + tail))


@settings(max_examples=200, deadline=None)
@given(sq=st.integers(0, 2**32 - 1), ak=st.integers(0, 2**32 - 1), flags=st.integers(0, 255),
       wnd=st.integers(0, 65535), urp=st.integers(0, 65535))
def test_seq_and_ack_as_halves_both_ways(sq, ak, flags, wnd, urp):
    # emit_halves writes what emit writes; parse keeps SEQ and ACK as halves, and seq/ack
    # (properties, for the rare paths) give the 32-bit values
    a, b = bytearray(tcp.HEADER_LEN), bytearray(tcp.HEADER_LEN)
    tcp.emit(a, 1, 2, sq, ak, flags, wnd, urp)
    tcp.emit_halves(b, 1, 2, sq >> 16, sq & 0xFFFF, ak >> 16, ak & 0xFFFF, flags, wnd, urp)
    assert a == b
    seg = tcp.parse(memoryview(bytes(a)))
    assert (seg.seq_hi, seg.seq_lo, seg.ack_hi, seg.ack_lo) == \
        (sq >> 16, sq & 0xFFFF, ak >> 16, ak & 0xFFFF)
    assert (seg.seq, seg.ack) == (sq, ak)
    seg.seq, seg.ack = ak, sq
    assert (seg.seq_hi, seg.seq_lo, seg.seq, seg.ack) == (ak >> 16, ak & 0xFFFF, ak, sq)


def test_checksum_verified_from_the_address_sum():
    from barenet.wire.checksum import addr_sum
    raw = bytearray(build(1, 2, 2**32 - 5, 2**31, tcp.ACK, 5, 0, b"data"))
    seg = tcp.parse(memoryview(bytes(raw)), None, None, None, addr_sum(S, D))
    assert bytes(seg.payload) == b"data" and seg.seq == 2**32 - 5
    raw[-1] ^= 1
    with pytest.raises(ValueError, match="checksum"):
        tcp.parse(memoryview(bytes(raw)), None, None, None, addr_sum(S, D))
