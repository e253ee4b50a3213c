"""DNS codec (barenet/wire/dns.py) against scapy's DNS, both ways (RFC 1035 4): compression
pointers on decode (4.1.4), TC, CNAME chains, and the malformed inputs it refuses."""

import struct

import pytest
from scapy.layers.dns import DNS, DNSQR, DNSRR, dns_compress

from barenet.wire import Malformed, dns as w


def test_query_is_what_scapy_reads():
    raw = w.query(0x1234, "Board.Example.")
    d = DNS(raw)
    assert (d.id, d.qr, d.rd, d.opcode, d.qdcount, d.ancount) == (0x1234, 0, 1, 0, 1, 0)
    assert d.qd[0].qname == b"Board.Example." and d.qd[0].qtype == 1 and d.qd[0].qclass == 1


def test_compressed_answer_from_scapy():
    r = DNS(id=7, qr=1, aa=1, rd=1, ra=1, qd=DNSQR(qname="www.example.test"),
            an=[DNSRR(rrname="www.example.test", type="CNAME", ttl=30,
                      rdata="host.example.test"),
                DNSRR(rrname="host.example.test", type="A", ttl=300, rdata="192.0.2.9"),
                DNSRR(rrname="host.example.test", type="A", ttl=60, rdata="192.0.2.10")])
    raw = bytes(dns_compress(r))
    assert len(raw) < len(bytes(r))          # pointers were used
    m = w.parse(raw)
    assert (m.id, m.response, m.truncated, m.rcode) == (7, True, False, 0)
    assert m.questions == [("www.example.test", 1, 1)]
    assert m.answers[0] == ("www.example.test", 5, 1, 30, "host.example.test")
    assert m.a_records("www.example.test") == [(bytes([192, 0, 2, 9]), 300),
                                                (bytes([192, 0, 2, 10]), 60)]


def test_truncated_flag_and_rcode():
    m = w.parse(bytes(DNS(id=1, qr=1, tc=1, rcode=3, qd=DNSQR(qname="x.test"))))
    assert m.truncated and m.rcode == w.NXDOMAIN and m.answers == []


def test_build_answer_is_what_scapy_reads():
    raw = w.build(9, w.QR | w.AA | w.RD | w.RA, [("a.test", 1, 1)],
                  [("a.test", 1, 1, 120, bytes([198, 51, 100, 1]))])
    d = DNS(raw)
    assert (d.id, d.qr, d.aa, d.ra, d.ancount) == (9, 1, 1, 1, 1)
    assert (d.an[0].rrname, d.an[0].ttl, d.an[0].rdata) == (b"a.test.", 120, "198.51.100.1")


def _hdr(qd=1, an=0):
    return struct.pack("!HHHHHH", 1, 0x8180, qd, an, 0, 0)


@pytest.mark.parametrize("raw, reason", [
    (b"\x00" * 11, "short"),
    (_hdr() + b"\xc0\x0c\x00\x01\x00\x01", "pointer"),        # points at itself
    (_hdr() + b"\x01a\xc0\x0c\x00\x01\x00\x01", "pointer"),   # a loop back to its start
    (_hdr() + b"\x40" + b"a" * 64 + b"\x00\x00\x01\x00\x01", "label"),
    (_hdr() + b"\x05ab", "name"),
    (_hdr() + (b"\x3f" + b"a" * 63) * 5 + b"\x00\x00\x01\x00\x01", "name"),  # over 255
    (_hdr() + b"\x01a\x00\x00\x01", "short"),
    (_hdr(an=1) + b"\x01a\x00\x00\x01\x00\x01" + b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x05"
     b"\x00\x09\x01", "rdata"),
    (_hdr(qd=600), "count"),
])
def test_malformed(raw, reason):
    with pytest.raises(Malformed) as e:
        w.parse(raw)
    assert e.value.args[0] == reason


def test_build_refuses_bad_names():
    for name in ("a..b", "x" * 64 + ".test", ".".join(["abcdefg"] * 40)):
        with pytest.raises(ValueError):
            w.query(1, name)
