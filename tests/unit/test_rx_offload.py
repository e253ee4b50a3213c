"""The core's receive side with a NIC that offloads checksums and hands over super-frames
(nic.py: csum_offload, rx_max, rx_csum_valid), and the same frames on a NIC without them."""

import pytest
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import Ether

from barenet.loop import Loop
from barenet.stack import Stack
from barenet.tcp.state import STATE_NAMES
from peer import PEER_IP, PEER_MAC, STACK_IP, STACK_MAC, ListNIC


class PlainNIC(ListNIC):
    """A NIC without offloads that, as a real one, truncates a frame longer than buf."""

    def recv_into(self, buf):
        if not self.waiting:
            return 0
        f = self.take()
        n = min(len(f), len(buf))
        buf[:n] = f[:n]
        return n

    def take(self):
        return self.waiting.pop(0)


class OffloadNIC(PlainNIC):
    """waiting holds (frame, rx_csum_valid) pairs."""

    csum_offload = True
    rx_max = 65535
    rx_csum_valid = False

    def take(self):
        f, self.rx_csum_valid = self.waiting.pop(0)
        return f


def world(nic):
    stack = Stack("host")
    stack.add_interface(nic, mac=STACK_MAC, ip=STACK_IP + "/24")
    return stack, Loop(stack)


def udp_frame(payload, chksum=None):
    pkt = Ether(src=PEER_MAC, dst=STACK_MAC) / IP(src=PEER_IP, dst=STACK_IP) / \
        UDP(sport=5000, dport=7, chksum=chksum) / payload
    return bytes(pkt)


def test_a_trusted_frame_skips_the_udp_checksum_and_an_untrusted_one_is_checked():
    nic = OffloadNIC()
    stack, loop = world(nic)
    ep = stack.udp.bind(port=7)
    # 0x1234 is wrong for this datagram: the partial sum a local sender leaves (NEEDS_CSUM)
    nic.waiting = [(udp_frame(b"trusted", 0x1234), True), (udp_frame(b"checked", 0x1234), False)]
    loop.step(0)
    assert ep.recvfrom()[0] == b"trusted"
    assert ep.recvfrom() is None
    assert stack.udp.stats["drop_checksum"] == 1


def test_a_nic_without_offload_has_every_checksum_checked():
    nic = PlainNIC([udp_frame(b"bad", 0x1234), udp_frame(b"good")])
    stack, loop = world(nic)
    ep = stack.udp.bind(port=7)
    loop.step(0)
    assert ep.recvfrom()[0] == b"good"
    assert ep.recvfrom() is None
    assert stack.udp.stats["drop_checksum"] == 1


def test_a_super_frame_beyond_the_mtu_arrives_whole():
    nic = OffloadNIC()
    stack, loop = world(nic)
    ep = stack.udp.bind(port=7)
    big = bytes(range(256)) * 160      # 40960 bytes in one unfragmented datagram
    nic.waiting = [(udp_frame(big), True)]
    loop.step(0)
    assert ep.recvfrom()[0] == big


def test_the_same_super_frame_is_truncated_and_dropped_without_rx_max():
    big = bytes(range(256)) * 160
    nic = PlainNIC([udp_frame(big)])
    stack, loop = world(nic)
    ep = stack.udp.bind(port=7)
    loop.step(0)
    assert ep.recvfrom() is None
    assert stack.ip.stats.get("drop_length", 0) + stack.ip.stats.get("drop_short", 0) == 1


def test_a_trusted_tcp_syn_with_a_partial_checksum_is_taken():
    nic = OffloadNIC()
    stack, loop = world(nic)
    stack.tcp.listen(9)
    syn = Ether(src=PEER_MAC, dst=STACK_MAC) / IP(src=PEER_IP, dst=STACK_IP) / \
        TCP(sport=4000, dport=9, flags="S", seq=1000, chksum=0x1234)
    nic.waiting = [(bytes(syn), False), (bytes(syn), True)]
    loop.step(0)
    assert stack.tcp.stats["drop_checksum"] == 1
    # The trusted one made a half-open connection (its SYN-ACK waits for ARP)
    assert [(c.rport, STATE_NAMES[c.state]) for c in stack.tcp.conns.values()] == [(4000, "SYN_RECEIVED")]


# -- the send side: TSO super-segments --------------------------------------------------------

class TSONIC(PlainNIC):
    """A NIC with TSO, cutting super-segments as a kernel's GSO does (with scapy, an independent
    implementation): each piece of mss bytes behind a copy of the headers, sequence numbers
    advanced, lengths and checksums made whole. It keeps what send_tso was given."""

    csum_offload = True
    rx_max = 65535
    tso_max = 65535
    rx_csum_valid = True

    def __init__(self, lose_every=0):
        PlainNIC.__init__(self)
        self.tso = []           # (frame, mss) as given
        self.lose_every = lose_every    # drop every n-th piece cut, as a lossy wire would
        self.pieces = 0

    def send_tso(self, frame, mss):
        frame = bytes(frame)
        self.tso.append((frame, mss))
        pkt = Ether(frame)
        data = bytes(pkt[TCP].payload)
        for off in range(0, len(data), mss):
            piece = pkt.copy()
            piece[TCP].remove_payload()
            piece[TCP].seq = (pkt[TCP].seq + off) % 2**32
            if off + mss < len(data):
                piece[TCP].flags = pkt[TCP].flags & ~0x09       # FIN and PSH on the last only
            del piece[IP].len, piece[IP].chksum, piece[TCP].chksum
            self.pieces += 1
            if not self.lose_every or self.pieces % self.lose_every:
                self.sent.append(bytes(piece / data[off:off + mss]))

    def take(self):
        return self.waiting.pop(0)


@pytest.mark.parametrize("lose_every", [0, 37])
def test_tcp_sends_super_segments_that_the_nic_cuts_into_a_byte_exact_stream(lose_every):
    # With pieces lost, recovery (SACK, RACK) retransmits inside super-segments already sent
    a_nic, b_nic = TSONIC(lose_every), PlainNIC()
    a = Stack("host")
    a.add_interface(a_nic, mac=STACK_MAC, ip=STACK_IP + "/24")
    b = Stack("host")
    b.add_interface(b_nic, mac=PEER_MAC, ip=PEER_IP + "/24")
    loops = (Loop(a), Loop(b))
    lst = b.tcp.listen(9)
    c = a.tcp.connect(PEER_IP, 9)
    data = bytes(range(251)) * 2000             # 502 000 bytes
    got = bytearray()
    sent = 0
    srv = None
    for t in range(0, 20000):
        for lp in loops:
            lp.step(t)
        b_nic.waiting += a_nic.sent
        a_nic.waiting += b_nic.sent
        a_nic.sent, b_nic.sent = [], []
        srv = srv or lst.accept()
        if sent < len(data):
            sent += c.send(memoryview(data)[sent:])
        if srv is not None:
            got += srv.recv(1 << 20) or b""
        if len(got) == len(data):
            break
    assert bytes(got) == data
    assert a_nic.tso, "no super-segment was sent"
    if lose_every:
        assert a.tcp.stats.get("rtx_segs", 0) > 0
    mss = c.mss
    for frame, gso in a_nic.tso:
        pkt = Ether(frame)
        n = len(pkt[TCP].payload)
        assert gso == mss and mss < n and len(frame) - 14 <= 65535
        # What a NIC completing checksums expects in the field: the folded pseudo-header sum
        tl = len(pkt[IP]) - pkt[IP].ihl * 4
        words = sum(int.from_bytes(bytes(pkt[IP])[12 + i:14 + i], "big") for i in range(0, 8, 2))
        assert pkt[TCP].chksum == (words + 6 + tl) % 0xFFFF


def test_cwr_goes_on_a_segment_of_its_own_never_on_a_super_segment():
    # RFC 3168 6.1.2: CWR marks one segment; on a super-segment the NIC would copy it onto
    # every piece (Linux's GSO clears it on all but the first). ECN on, some pieces CE-marked.
    a_nic, b_nic = TSONIC(), PlainNIC()
    a = Stack("host", ecn=True)
    a.add_interface(a_nic, mac=STACK_MAC, ip=STACK_IP + "/24")
    b = Stack("host", ecn=True)
    b.add_interface(b_nic, mac=PEER_MAC, ip=PEER_IP + "/24")
    loops = (Loop(a), Loop(b))
    lst = b.tcp.listen(9)
    c = a.tcp.connect(PEER_IP, 9)
    data = bytes(range(251)) * 2000
    got = bytearray()
    sent = n = 0
    srv = None
    for t in range(0, 20000):
        for lp in loops:
            lp.step(t)
        for f in a_nic.sent:
            n += 1
            p = Ether(f)
            if n % 40 == 0 and p[IP].tos & 3 == 2:
                p[IP].tos |= 3                          # an AQM router's CE mark
                del p[IP].chksum
                f = bytes(p)
            b_nic.waiting.append(f)
        a_nic.waiting += b_nic.sent
        a_nic.sent, b_nic.sent = [], []
        srv = srv or lst.accept()
        if sent < len(data):
            sent += c.send(memoryview(data)[sent:])
        if srv is not None:
            got += srv.recv(1 << 20) or b""
        if len(got) == len(data):
            break
    assert bytes(got) == data
    assert a_nic.tso and b.tcp.stats["ecn_ce_rx"] and a.tcp.stats["ecn_cwr_tx"]
    assert not [f for f, _ in a_nic.tso if Ether(f)[TCP].flags & 0x80]
