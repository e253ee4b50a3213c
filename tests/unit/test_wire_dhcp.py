"""DHCP codec (barenet/wire/dhcp.py) against scapy's BOOTP/DHCP, both ways (RFC 2131 2,
RFC 2132), and the malformed inputs it must refuse with Malformed."""

import pytest
from scapy.layers.dhcp import BOOTP, DHCP

from barenet.wire import Malformed, dhcp as w

MAC = bytes.fromhex("020000000002")


def scapy_opts(raw):
    return dict(o for o in BOOTP(raw)[DHCP].options if isinstance(o, tuple))


def test_build_is_what_scapy_reads():
    m = w.Message(w.BOOTREQUEST, 0xDEADBEEF, MAC,
                  {w.OPT_PARAMS: bytes([1, 3, 6]), w.OPT_REQUESTED_IP: bytes([192, 0, 2, 100]),
                   w.OPT_MSG_TYPE: bytes([w.REQUEST]), w.OPT_CLIENT_ID: b"\x01" + MAC,
                   w.OPT_HOSTNAME: b"board"},
                  ciaddr=bytes([192, 0, 2, 7]), flags=w.FLAG_BROADCAST, secs=3)
    raw = w.build(m)
    assert len(raw) == 300      # the BOOTP minimum (RFC 1542 2.1)
    b = BOOTP(raw)
    assert (b.op, b.xid, b.flags, b.secs, b.htype, b.hlen) == (1, 0xDEADBEEF, 0x8000, 3, 1, 6)
    assert b.chaddr[:6] == MAC and b.ciaddr == "192.0.2.7" and b.yiaddr == "0.0.0.0"
    assert b[DHCP].options[0] == ("message-type", 3)        # the type first
    o = scapy_opts(raw)
    assert o["requested_addr"] == "192.0.2.100" and o["param_req_list"] == [1, 3, 6]
    assert o["client_id"] == b"\x01" + MAC and o["hostname"] == b"board"


def test_parse_reads_what_scapy_builds():
    raw = bytes(BOOTP(op=2, xid=42, yiaddr="192.0.2.100", siaddr="192.0.2.1",
                      chaddr=MAC + bytes(10), flags=0x8000) /
                DHCP(options=[("message-type", "ack"), ("server_id", "192.0.2.1"),
                              ("lease_time", 3600), ("renewal_time", 1800),
                              ("subnet_mask", "255.255.255.0"),
                              ("router", "192.0.2.1"),
                              ("name_server", "192.0.2.53", "198.51.100.53"), "end"]))
    m = w.parse(raw)
    assert (m.op, m.xid, m.type, m.flags) == (2, 42, w.ACK, 0x8000)
    assert m.yiaddr == bytes([192, 0, 2, 100]) and m.chaddr == MAC     # hlen bytes of it
    assert m.addr(w.OPT_SERVER_ID) == bytes([192, 0, 2, 1])
    assert m.u32(w.OPT_LEASE_TIME) == 3600 and m.u32(w.OPT_T1) == 1800
    assert m.u32(w.OPT_T2) is None
    assert m.addrs(w.OPT_DNS) == [bytes([192, 0, 2, 53]), bytes([198, 51, 100, 53])]
    assert m.options[w.OPT_SUBNET_MASK] == bytes([255, 255, 255, 0])


def test_long_options_are_split_and_joined():
    # RFC 3396: a value over 255 bytes goes out in pieces and is read back whole
    v = bytes(range(256)) + b"x" * 44
    raw = w.build(w.Message(w.BOOTREQUEST, 1, MAC, {w.OPT_MSG_TYPE: b"\x01", 224: v}))
    assert w.parse(raw).options[224] == v


@pytest.mark.parametrize("raw, reason", [
    (bytes(100), "short"),
    (b"\x03" + bytes(239), "op"),
    (b"\x01\x01\x11" + bytes(237), "hlen"),
    (b"\x01\x01\x06" + bytes(237), "cookie"),
    (b"\x01\x01\x06" + bytes(233) + b"\x63\x82\x53\x63\x35", "option"),
    (b"\x01\x01\x06" + bytes(233) + b"\x63\x82\x53\x63\x35\x05\x01", "option"),
    (b"\x01\x01\x06" + bytes(233) + b"\x63\x82\x53\x63\x35\x02\x01\x01\xff", "msg_type"),
])
def test_malformed(raw, reason):
    with pytest.raises(Malformed) as e:
        w.parse(raw)
    assert e.value.args[0] == reason
