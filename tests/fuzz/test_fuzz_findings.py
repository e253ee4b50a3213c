"""Core bugs the fuzzers found, each as the smallest input that shows it (fixes belong in the
core; these tests stay as regressions)."""

import struct

from fuzzlib import (OUR_IP, OUR_MAC, PEER_IP, START_MS, UDP_PORT, CaptureNIC, Target, eth,
                     fragment_frame, ipv4_header, tcp_datagram)
from barenet import ticks
from barenet.stack import Stack
from barenet.wire import ethernet
from barenet.wire.tcp import ACK, FIN, SYN, URG
from barenet.wire.checksum import checksum, csum, finish, pseudo


def test_duplicate_fragment_does_not_kill_a_datagram_under_memory_pressure():
    # A duplicate fragment is discarded (RFC 791 3.2 keeps one copy), so it must not count
    # against the reassembly budget. Here the datagram (2065 bytes, budget 3000) is lost:
    # Reassembler.add (ip.py) charges the duplicate of its 2056-byte first fragment before it
    # recognises it as a duplicate, and kills the datagram as "reasm_drop_memory".
    payload = bytes(range(256)) * 8 + b"0123456789abcdefg"  # 2065 bytes, protocol 99
    t = Target()
    first, last = payload[:2056], payload[2056:]
    for off, chunk, mf in [(0, first, True), (0, first, True), (2056, last, False)]:
        t.feed(fragment_frame(PEER_IP, 99, 7, off, chunk, mf))
    ip = t.stack.stats["ip"]
    assert ip.get("reasm_ok", 0) == 1, ip


def _from_wire(src, proto, payload):
    return eth(OUR_MAC, ethernet.TYPE_IPV4,
               ipv4_header(src, OUR_IP, proto, len(payload), 1) + payload)


LOOPBACK_SRC = bytes([127, 0, 0, 1])


def test_loopback_source_from_the_wire_is_discarded():
    # RFC 1122 3.2.1.3: {127, <any>} MUST NOT appear outside a host, and a host MUST silently
    # discard a datagram whose source address is invalid by that section. IP.input checks
    # broadcast and multicast sources only, so this echo request is answered, through the
    # internal loopback, to ourselves.
    echo = bytearray(struct.pack("!BBHI", 8, 0, 0, 0x00010001) + b"spoof")
    echo[2:4] = struct.pack("!H", checksum(echo))
    t = Target()
    t.feed(_from_wire(LOOPBACK_SRC, 1, bytes(echo)))
    st = t.stack.stats
    assert st["icmp"].get("tx_echo_reply", 0) == 0 and st["ip"].get("drop_bad_src") == 1, st


def test_spoofed_loopback_source_cannot_plant_an_error_on_a_local_socket():
    # The same gap, with a consequence: a datagram from the wire "from 127.0.0.1:7" to a closed
    # port makes us send port-unreachable to 127.0.0.1, i.e. to ourselves; UDP.icmp_error then
    # takes the quoted source port 7 for one of ours and our endpoint on port 7 reports
    # ECONNREFUSED on its next recvfrom().
    dgram = bytearray(struct.pack("!HHHH", UDP_PORT, 9, 8 + 3, 0) + b"hey")
    dgram[6:8] = struct.pack("!H", finish(csum(dgram, pseudo(LOOPBACK_SRC, OUR_IP, 17, 11))))
    t = Target()
    t.stack.input(t.iface, _from_wire(LOOPBACK_SRC, 17, bytes(dgram)), t.now)
    t.stack.poll(t.now)
    t.stack.poll(t.now)  # deliver what went to the loopback
    assert t.ep.error == 0, t.stack.stats


def test_shutdown_in_simultaneous_open_keeps_the_handshake():
    # Found by test_fuzz_tcp_state.py. connect(), then the peer's SYN without ACK (a
    # simultaneous open, RFC 9293 3.5 figure 7) puts the connection in SYN_RECEIVED; a
    # shutdown_write() there moved it to FIN_WAIT_1 at once, so the peer's ACK of our SYN never
    # completed the handshake (input.complete_handshake runs in SYN_RECEIVED only) and the
    # connection had no congestion control: the ACK raised inside input() and the next
    # retransmission timeout out of poll(). RFC 9293 3.10.4 CLOSE in SYN-RECEIVED: with data
    # to send, "queue for processing after entering ESTABLISHED state".
    nic = CaptureNIC()
    stack = Stack("board")
    iface = stack.add_interface(nic, ip="192.0.2.2/24", link="ip", now_ms=START_MS)
    c = stack.tcp.connect("192.0.2.1", 9000)
    c.send(b"hello")
    stack.poll(START_MS)
    iss = struct.unpack_from("!I", nic.frames[-1], 24)[0]
    now = ticks.add(START_MS, 10)
    stack.input(iface, tcp_datagram(PEER_IP, OUR_IP, 9000, c.lport, 5000, 0, SYN, 65535), now)
    stack.poll(now)
    c.shutdown_write()
    stack.input(iface, tcp_datagram(PEER_IP, OUR_IP, 9000, c.lport, 5001, iss + 1, ACK, 65535),
                now)
    stack.poll(now)
    stack.poll(ticks.add(now, 5000))            # the retransmission timer fires
    assert stack.stats["stack"].get("drop_internal_error", 0) == 0, stack.last_error
    assert c.info()["state"] == "FIN_WAIT_1"
    last = nic.frames[-1]
    assert last[20 + 13] & FIN and last[40:] == b"hello", last


def _connected(win):
    """A board stack on an ip link that connected out to 192.0.2.1:9000, whose SYN-ACK
    (peer ISN 5000) offered win: -> (nic, stack, iface, conn, our ISS)."""
    nic = CaptureNIC()
    stack = Stack("board")
    iface = stack.add_interface(nic, ip="192.0.2.2/24", link="ip", now_ms=START_MS)
    c = stack.tcp.connect("192.0.2.1", 9000)
    stack.poll(START_MS)
    iss = struct.unpack_from("!I", nic.frames[-1], 24)[0]
    stack.input(iface, tcp_datagram(PEER_IP, OUR_IP, 9000, c.lport, 5000, iss + 1, SYN | ACK,
                                    win), START_MS)
    return nic, stack, iface, c, iss


def test_an_old_ack_does_not_update_the_send_window():
    # Found by test_fuzz_tcp_state.py. RFC 9293 3.10.7.4 (fifth, ESTABLISHED): the send window
    # is updated "if SND.UNA =< SEG.ACK =< SND.NXT" (and SND.WL1/WL2 say the segment is newer).
    # The SYN-ACK offers 1 byte; then an ACK of the ISN itself (below SND.UNA, still within
    # RFC 5961 5.2's acceptable range) offers 65535 from there. barenet took the 65535 as
    # counting from SND.UNA and sent 100 bytes past the peer's right edge (ISS + 2).
    nic, stack, iface, c, iss = _connected(1)
    stack.input(iface, tcp_datagram(PEER_IP, OUR_IP, 9000, c.lport, 5001, iss, ACK, 65535),
                START_MS)
    stack.poll(START_MS)
    nic.frames.clear()
    c.send(bytes(100))
    stack.poll(START_MS)
    sent = [len(f) - 40 for f in nic.frames]
    assert sent and max(sent) <= 1, sent


def test_an_urgent_mark_before_the_peers_fin_reads_right():
    # Found by test_fuzz_tcp_state.py in CI. A read finds the urgent mark relative to the next
    # byte to read, which was taken as RCV.NXT - unread: once the peer's FIN is in, RCV.NXT
    # counts it too, so the mark looked one behind the read point, the read size went negative
    # and recv(1) returned 2999 bytes of a 1-byte buffer, leaving its length at -2998.
    nic, stack, iface, c, iss = _connected(65535)
    # "ab", the urgent pointer 1 past "a" (RFC 6093), and the FIN
    stack.input(iface, tcp_datagram(PEER_IP, OUR_IP, 9000, c.lport, 5001, iss + 1,
                                    ACK | FIN | URG, 65535, b"", b"ab", 1), START_MS)
    assert c.recv(1000, oob=True) == b"a"
    assert c.recv(1000) == b"b"         # the urgent byte is out of line (no SO_OOBINLINE)
    assert c.rcvbuf is None or c.rcvbuf.length == 0
    assert c.recv(1000) == b""
