"""--verbose's per-frame lines (host/barenet_host/trace.py): golden lines for frames scapy
builds, the `[bad LAYER: REASON]` line for what the core's codecs reject, and no exception for
any bytes at all."""

import io

import pytest
from hypothesis import given, settings, strategies as st

from barenet import ticks

from barenet_host.trace import TraceNIC, describe
from peer import ListNIC

scapy = pytest.importorskip("scapy.all")
Ether, ARP, IP, IPv6, TCP, UDP, ICMP = (scapy.Ether, scapy.ARP, scapy.IP, scapy.IPv6, scapy.TCP,
                                        scapy.UDP, scapy.ICMP)

A, B = "192.0.2.1", "192.0.2.2"
MAC_A, MAC_B = "02:00:c0:00:02:01", "02:00:c0:00:02:02"


def eth(pkt, src=MAC_A, dst=MAC_B):
    return bytes(Ether(src=src, dst=dst) / pkt)


@pytest.mark.parametrize("frame, link, line", [
    (eth(ARP(op=1, hwsrc=MAC_A, psrc=A, pdst=B), dst="ff:ff:ff:ff:ff:ff"), "ethernet",
     "ARP, Request who-has 192.0.2.2 tell 192.0.2.1, length 28"),
    (eth(ARP(op=2, hwsrc=MAC_B, psrc=B, hwdst=MAC_A, pdst=A)), "ethernet",
     "ARP, Reply 192.0.2.2 is-at 02:00:c0:00:02:02, length 28"),
    (eth(IP(src=A, dst=B) / TCP(sport=5000, dport=7, flags="S", seq=1, window=64240)),
     "ethernet", "IP 192.0.2.1.5000 > 192.0.2.2.7: Flags [S], seq 1, win 64240, length 0"),
    (bytes(IP(src=B, dst=A) / TCP(sport=7, dport=5000, flags="SA", seq=4294967295, ack=2,
                                  window=65535)), "ip",
     "IP 192.0.2.2.7 > 192.0.2.1.5000: Flags [S.], seq 4294967295, ack 2, win 65535, length 0"),
    (bytes(IP(src=A, dst=B) / TCP(sport=5000, dport=7, flags="PA", seq=4294967290, ack=9,
                                  window=502) / (b"x" * 10)), "ip",
     "IP 192.0.2.1.5000 > 192.0.2.2.7: Flags [P.], seq 4294967290:4, ack 9, win 502, length 10"),
    (bytes(IP(src=A, dst=B) / TCP(flags="FA", seq=5, ack=6, window=1)), "ip",
     "IP 192.0.2.1.20 > 192.0.2.2.80: Flags [F.], seq 5, ack 6, win 1, length 0"),
    (bytes(IP(src=A, dst=B) / TCP(flags="R", seq=5, ack=0, window=0)), "ip",
     "IP 192.0.2.1.20 > 192.0.2.2.80: Flags [R], seq 5, win 0, length 0"),
    (bytes(IP(src=A, dst=B) / TCP(flags=0, seq=5, window=0)), "ip",
     "IP 192.0.2.1.20 > 192.0.2.2.80: Flags [none], seq 5, win 0, length 0"),
    (eth(IP(src=A, dst=B) / ICMP(type=8, id=5, seq=1) / (b"p" * 56)), "ethernet",
     "IP 192.0.2.1 > 192.0.2.2: ICMP echo request, id 5, seq 1, length 64"),
    (bytes(IP(src=B, dst=A) / ICMP(type=0, id=65535, seq=9) / b"p"), "ip",
     "IP 192.0.2.2 > 192.0.2.1: ICMP echo reply, id 65535, seq 9, length 9"),
    (bytes(IP(src=B, dst=A) / ICMP(type=3, code=3) / bytes(28)), "ip",
     "IP 192.0.2.2 > 192.0.2.1: ICMP unreachable, code 3, length 36"),
    (bytes(IP(src=B, dst=A) / ICMP(type=42)), "ip",
     "IP 192.0.2.2 > 192.0.2.1: ICMP type 42, code 0, length 8"),
    (bytes(IP(src=A, dst=B) / UDP(sport=5000, dport=7) / b"hello"), "ip",
     "IP 192.0.2.1.5000 > 192.0.2.2.7: UDP, length 5"),
    (bytes(IP(src=A, dst=B, id=77, flags="MF") / UDP() / bytes(100)), "ip",
     "IP 192.0.2.1 > 192.0.2.2: frag id 77 offset 0+, proto 17, length 108"),
    (bytes(IP(src=A, dst=B, id=77, frag=185, proto=17) / bytes(40)), "ip",
     "IP 192.0.2.1 > 192.0.2.2: frag id 77 offset 1480, proto 17, length 40"),
    (bytes(IP(src=A, dst=B, proto=47) / b"gre!"), "ip",
     "IP 192.0.2.1 > 192.0.2.2: ip-proto-47, length 4"),
    (bytes(IPv6() / UDP()), "ip", "IP6, length 48"),
    (eth(IPv6() / UDP()), "ethernet", "IP6, length 48"),
    (bytes(Ether(src=MAC_A, dst=MAC_B, type=0x88B5) / b"xy"), "ethernet",
     "ethertype 0x88b5, length 2"),
])
def test_golden_lines(frame, link, line):
    assert describe(frame, link) == line
    assert describe(memoryview(frame), link) == line


def flip(frame, i):
    b = bytearray(frame)
    b[i] ^= 1
    return bytes(b)


SYN = bytes(IP(src=A, dst=B) / TCP(sport=5000, dport=7, flags="S", seq=1))
PING = bytes(IP(src=A, dst=B) / ICMP(id=1, seq=1))
DGRAM = bytes(IP(src=A, dst=B) / UDP(sport=1, dport=7) / b"abc")


@pytest.mark.parametrize("frame, link, line", [
    (b"\x01\x02\x03", "ethernet", "[bad ethernet: short], length 3"),
    (b"", "ip", "[bad ip: short], length 0"),
    (b"\x75" + bytes(30), "ip", "[bad ip: version], length 31"),
    (SYN[:30], "ip", "[bad ip: length], length 30"),
    (flip(SYN, 8), "ip", "IP 192.0.2.1 > 192.0.2.2: [bad ip: checksum], length 40"),
    (flip(SYN, 39), "ip", "IP 192.0.2.1 > 192.0.2.2: [bad tcp: checksum], length 20"),
    (flip(PING, 27), "ip", "IP 192.0.2.1 > 192.0.2.2: [bad icmp: checksum], length 8"),
    (flip(DGRAM, 30), "ip", "IP 192.0.2.1 > 192.0.2.2: [bad udp: checksum], length 11"),
    (bytes(Ether(type=0x0806) / (b"\x00\x06\x08\x00\x06\x04\x00\x01" + bytes(20))), "ethernet",
     "ARP, [bad arp: unsupported], length 28"),
    (bytes(Ether(type=0x0806) / (b"\x00\x01\x08\x00\x06\x04\x00\x03" + bytes(20))), "ethernet",
     "ARP, [bad arp: op], length 28"),
    (bytes(Ether(type=0x0806) / bytes(10)), "ethernet", "ARP, [bad arp: short], length 10"),
])
def test_what_the_codecs_reject_is_printed_as_such(frame, link, line):
    assert describe(frame, link) == line


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=200), st.sampled_from(["ethernet", "ip"]))
def test_arbitrary_bytes_never_raise_and_make_one_line(data, link):
    line = describe(data, link)
    assert line and "\n" not in line


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([SYN, PING, DGRAM]), st.binary(min_size=1, max_size=4),
       st.integers(0, 60))
def test_mangled_datagrams_never_raise(frame, junk, at):
    at = min(at, len(frame))
    line = describe(frame[:at] + junk + frame[at + len(junk):], "ip")
    assert line and "\n" not in line


def test_trace_nic_logs_both_directions_with_the_step_time_and_passes_frames_on():
    out = io.StringIO()
    inner = ListNIC([PING])
    inner.link = "ip"
    nic = TraceNIC(inner, out)
    t0 = ticks.PERIOD - 500                      # seconds since the first frame, across the wrap
    nic.poll(t0)
    buf = bytearray(1500)
    assert nic.recv_into(buf) == len(PING) and bytes(buf[:len(PING)]) == PING
    assert nic.recv_into(buf) == 0               # nothing read: nothing logged
    nic.poll(ticks.add(t0, 1234))
    nic.send(memoryview(SYN))
    assert inner.sent == [SYN]
    assert out.getvalue() == (
        "0.000 In  IP 192.0.2.1 > 192.0.2.2: ICMP echo request, id 1, seq 1, length 8\n"
        "1.234 Out IP 192.0.2.1.5000 > 192.0.2.2.7: Flags [S], seq 1, win 8192, length 0\n")
