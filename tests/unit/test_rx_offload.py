"""The core's receive side with a NIC that offloads checksums and hands over super-frames
(nic.py: csum_offload, rx_max, rx_csum_valid), and the same frames on a NIC without them."""

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
