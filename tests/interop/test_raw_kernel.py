"""barenet's raw IP endpoints (stack.raw, barenet/raw.py) against the Linux kernel on a TAP.

A ping written against a raw ICMP endpoint (the caller builds the echo request, reads the reply
with its IP header); copies of the kernel's echo requests and of its ICMP errors; IP_HDRINCL;
and datagrams of the experimental protocol 253 (RFC 3692) exchanged both ways with a kernel
`socket(AF_INET, SOCK_RAW, 253)` inside the namespace, fragmented ones included.
"""

import json
import struct

import pytest
from scapy.utils import checksum as inet_sum  # RFC 1071, not barenet's

pytestmark = pytest.mark.root

KERNEL = "192.0.2.1"
US = "192.0.2.2"


def echo_request(ident, seq, data):
    msg = struct.pack("!BBHHH", 8, 0, 0, ident, seq) + data
    return msg[:2] + struct.pack("!H", inet_sum(msg)) + msg[4:]


def drain(ep):
    out = []
    while ep.pending():
        out.append(ep.recvfrom())
    return out


def watch(barenet, ms=50):
    """Have the runner step every ms even without traffic, so that a run(until=...) waiting
    for a kernel process to exit (no fd event) sees it soon after."""
    barenet.runner.add_task(lambda now: ms)


def finish(proc, timeout=15):
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err
    return json.loads(out)


def test_ping_the_kernel_over_a_raw_icmp_endpoint(barenet):
    ep = barenet.stack.raw.open(1)
    for seq in range(3):
        ep.sendto(echo_request(0x6262, seq, b"raw ping %d" % seq), (KERNEL, 0))
        assert barenet.run(until=ep.pending, timeout_s=5), "no reply to seq %d" % seq
        (d, addr), = drain(ep)
        assert addr == (KERNEL, 0)
        ihl = (d[0] & 0x0F) * 4
        assert d[0] >> 4 == 4 and d[9] == 1 and (d[2] << 8 | d[3]) == len(d)
        assert d[12:16] == bytes([192, 0, 2, 1]) and d[16:20] == bytes([192, 0, 2, 2])
        assert inet_sum(bytes(d[:ihl])) == 0 and inet_sum(bytes(d[ihl:])) == 0
        typ, code, _, ident, got_seq = struct.unpack("!BBHHH", d[ihl:ihl + 8])
        assert (typ, code, ident, got_seq, d[ihl + 8:]) == (0, 0, 0x6262, seq, b"raw ping %d" % seq)
    assert barenet.stack.stats["raw"]["tx"] == 3


def test_copies_of_kernel_echo_requests_and_of_its_icmp_errors(barenet, kernel):
    ep = barenet.stack.raw.open(1)
    watch(barenet)
    ping = kernel.ns.popen(["ping", "-c", "2", "-i", "0.2", "-W", "2", US],
                           stdout=-1, stderr=-1, text=True)
    try:
        assert barenet.run(until=lambda: ping.poll() is not None, timeout_s=10)
    finally:
        if ping.poll() is None:
            ping.kill()
    out, err = ping.communicate(timeout=5)
    assert " 2 received" in out, out + err  # barenet's ICMP still answers
    requests = [d for d, _ in drain(ep) if d[20] == 8]
    assert len(requests) == 2
    # a UDP datagram to a closed kernel port: the kernel's port unreachable, copied to us
    barenet.stack.udp.bind(40000).sendto(b"anyone?", (KERNEL, 9))
    assert barenet.run(until=ep.pending, timeout_s=5)
    (d, addr), = drain(ep)
    assert addr == (KERNEL, 0) and (d[20], d[21]) == (3, 3)
    assert d[28 + 9] == 17 and d[28 + 20 + 2:28 + 20 + 4] == b"\x00\x09"  # it quotes ours


KERNEL_253 = r"""
import json, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 253)
icmp = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
s.settimeout(10)
icmp.setblocking(False)
big = bytes(i & 0xFF for i in range(int(sys.argv[1])))
s.sendto(b"kernel says hi", ("192.0.2.2", 0))
s.sendto(big, ("192.0.2.2", 0))   # the kernel fragments it: 1500-byte MTU
got = []
while len(got) < 2:
    d, a = s.recvfrom(65535)
    if a[0] == "192.0.2.2":
        ihl = (d[0] & 15) * 4
        got.append([a[0], d[8], d[ihl:].hex() if len(d) < 100 else len(d) - ihl,
                    d[ihl:] == big if len(d) >= 100 else None])
unreach = []
while True:
    try:
        d, a = icmp.recvfrom(65535)
    except BlockingIOError:
        break
    if d[20] == 3:
        unreach.append(d[21])
print(json.dumps({"got": got, "unreach": unreach}))
"""


def test_protocol_253_both_ways_with_a_kernel_raw_socket(barenet, kernel):
    ep = barenet.stack.raw.open(253)
    watch(barenet)
    size = 4000
    proc = kernel.popen_py(KERNEL_253, str(size))
    try:
        assert barenet.run(until=lambda: ep.pending() >= 2, timeout_s=10), proc.stderr.read()
        (small, a1), (whole, a2) = drain(ep)
        assert a1 == a2 == (KERNEL, 0)
        assert small[9] == 253 and small[20:] == b"kernel says hi"
        # reassembled before delivery: one datagram, its header's length the whole one
        assert len(whole) == 20 + size and (whole[2] << 8 | whole[3]) == 20 + size
        assert whole[20:] == bytes(i & 0xFF for i in range(size))
        ep.ttl = 33
        ep.sendto(b"barenet answers", (KERNEL, 0))
        ep.sendto(bytes(i & 0xFF for i in range(size)), KERNEL)  # fragmented by barenet
        assert barenet.run(until=lambda: proc.poll() is not None, timeout_s=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    r = finish(proc)
    assert r["got"] == [[US, 33, b"barenet answers".hex(), None], [US, 33, size, True]]
    assert r["unreach"] == []  # a raw endpoint took 253: no protocol unreachable
    assert barenet.stack.stats["ip"].get("drop_proto", 0) == 0
    assert barenet.stack.stats["ip"]["tx_fragment"] >= 3


KERNEL_HDRINCL = r"""
import json, socket
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 253)
s.settimeout(10)
while True:
    d, a = s.recvfrom(65535)
    if a[0] == "192.0.2.2":
        break
print(json.dumps({"hdr": d[:20].hex(), "payload": d[20:].hex()}))
"""


def test_hdrincl_the_kernel_accepts_the_header_barenet_completed(barenet, kernel):
    ep = barenet.stack.raw.open(253)
    ep.hdrincl = True
    proc = kernel.popen_py(KERNEL_HDRINCL)
    try:
        # A wrong checksum, which the stack must replace. The kernel socket must exist before
        # the datagram arrives, and it announces nothing: send every 250 ms until the kernel
        # has what it waits for (at most 40 times).
        hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 0, 0, 0, 7, 253, 0xBEEF, bytes(4),
                          bytes([192, 0, 2, 1]))
        sent = []

        def resend(now):
            if proc.poll() is not None or len(sent) >= 40:
                return 50
            ep.sendto(hdr + b"my own header", KERNEL)
            sent.append(now)
            return 250

        barenet.runner.add_task(resend)
        assert barenet.run(until=lambda: proc.poll() is not None, timeout_s=12)
    finally:
        if proc.poll() is None:
            proc.kill()
    r = finish(proc)
    h = bytes.fromhex(r["hdr"])
    assert bytes.fromhex(r["payload"]) == b"my own header"
    assert h[8] == 7 and h[9] == 253 and h[12:16] == bytes([192, 0, 2, 2])
    assert h[4:6] != b"\0\0"  # the stack picked an ident
    assert barenet.stack.stats["raw"]["tx_hdrincl"] == len(sent)
