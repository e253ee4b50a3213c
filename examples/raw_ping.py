"""Ping over a raw ICMP socket: builds ICMP echo requests (RFC 792), checks the replies, prints
the round-trip times. Plain `socket` code: it runs on CPython's own sockets (as root) and,
unchanged, on barenet after `barenet.socket.install(stack, driver)`, on CPython or MicroPython.

    python3 raw_ping.py HOST [COUNT [SIZE]]        # as root

main(argv) imports `socket` when called, so a program that installs barenet first and then
calls main() pings over barenet. It returns the number of replies received.

A raw IPv4 socket reads whole datagrams, IP header first (Linux), and an ICMP one sees every
ICMP message of the host (its own requests too on loopback): a reply is ours when it is an echo
reply with our identifier and sequence number and an intact payload.
"""

import random
import struct
import sys
import time

ECHO_REPLY = 0
ECHO_REQUEST = 8


def checksum(b):
    """The Internet checksum (RFC 1071)."""
    if len(b) % 2:
        b = b + b"\0"
    s = 0
    for i in range(0, len(b), 2):
        s += (b[i] << 8) | b[i + 1]
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def echo_request(ident, seq, data):
    msg = struct.pack("!BBHHH", ECHO_REQUEST, 0, 0, ident, seq) + data
    return msg[:2] + struct.pack("!H", checksum(msg)) + msg[4:]


def parse_reply(datagram, ident, seq, data):
    """-> the TTL of datagram if it is the echo reply to (ident, seq, data), else None."""
    ihl = (datagram[0] & 15) * 4
    icmp = datagram[ihl:]
    if len(icmp) < 8 or checksum(icmp) != 0:
        return None
    typ, code, _, rid, rseq = struct.unpack("!BBHHH", icmp[:8])
    if typ != ECHO_REPLY or code != 0 or rid != ident or rseq != seq or icmp[8:] != data:
        return None
    return datagram[8]


def _ms():
    if hasattr(time, "ticks_ms"):      # MicroPython
        return time.ticks_ms()
    return time.monotonic() * 1000


def _since(t0):
    if hasattr(time, "ticks_diff"):
        return time.ticks_diff(time.ticks_ms(), t0)
    return time.monotonic() * 1000 - t0


def ping(socket, host, count=3, size=56, timeout=2.0, out=print):
    """Send count echo requests of size bytes of data to host; -> replies received."""
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    ident = random.getrandbits(16)
    received = 0
    try:
        s.settimeout(timeout)
        out("PING %s: %d data bytes" % (host, size))
        for seq in range(count):
            data = bytes((seq + i) & 0xFF for i in range(size))
            t0 = _ms()
            s.sendto(echo_request(ident, seq, data), (host, 0))
            ttl = None
            try:
                for _ in range(64):      # skip others' ICMP (bounded), until ours or timeout
                    d, src = s.recvfrom(65535)
                    if src[0] == host:
                        ttl = parse_reply(d, ident, seq, data)
                        if ttl is not None:
                            break
            except OSError as e:         # the timeout: TimeoutError, or ETIMEDOUT
                out("icmp_seq=%d: no reply (%s)" % (seq, e))
                continue
            if ttl is None:
                out("icmp_seq=%d: no reply" % seq)
                continue
            received += 1
            out("%d bytes from %s: icmp_seq=%d ttl=%d time=%.3f ms"
                % (size + 8, host, seq, ttl, _since(t0)))
    finally:
        s.close()
    out("%d packets transmitted, %d received" % (count, received))
    return received


def main(argv):
    import socket
    if not argv:
        print("usage: raw_ping.py HOST [COUNT [SIZE]]")
        return 0
    count = int(argv[1]) if len(argv) > 1 else 3
    size = int(argv[2]) if len(argv) > 2 else 56
    return ping(socket, argv[0], count, size)


if __name__ == "__main__":
    n = 3 if len(sys.argv) < 3 else int(sys.argv[2])
    sys.exit(0 if main(sys.argv[1:]) == n else 1)
