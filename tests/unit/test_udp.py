"""UDP endpoints: binding, ephemeral ports, bounded queues, broadcast, checksums."""

import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether

from barenet.compat import EADDRINUSE, EADDRNOTAVAIL, EMSGSIZE
from barenet.udp import EPHEMERAL_HIGH, EPHEMERAL_LOW
from peer import PEER_IP, PEER_MAC, STACK_IP, STACK_MAC, setup


def eth(pkt, dst=STACK_MAC):
    return Ether(dst=dst, src=PEER_MAC) / pkt


def test_bind_rules():
    sim, stack, iface, peer = setup()
    a = stack.udp.bind(5000)
    with pytest.raises(OSError) as e:
        stack.udp.bind(5000)
    assert e.value.args[0] == EADDRINUSE
    with pytest.raises(OSError) as e:
        stack.udp.bind(5001, addr="192.0.2.99")
    assert e.value.args[0] == EADDRNOTAVAIL
    ports = {stack.udp.bind().port for _ in range(5)}
    assert len(ports) == 5 and all(EPHEMERAL_LOW <= p <= EPHEMERAL_HIGH for p in ports)
    a.close()
    stack.udp.bind(5000)  # free again after close


def test_receive_queue_is_bounded_and_keeps_the_oldest():
    sim, stack, iface, peer = setup(udp_queue=4)
    ep = stack.udp.bind(9)
    for i in range(6):
        peer.send(eth(IP(src=PEER_IP, dst=STACK_IP) / UDP(sport=7, dport=9) / (b"%d" % i)))
    sim.run(max_ms=1)
    got = []
    while ep.pending():
        got.append(ep.recvfrom()[0])
    assert got == [b"0", b"1", b"2", b"3"]
    assert stack.stats["udp"]["drop_queue_full"] == 2


@pytest.mark.parametrize("dst", ["255.255.255.255", "192.0.2.255"])
def test_broadcast_datagrams_reach_an_endpoint(dst):
    sim, stack, iface, peer = setup()
    ep = stack.udp.bind(6000)
    peer.send(eth(IP(src=PEER_IP, dst=dst) / UDP(sport=7, dport=6000) / b"hi all", dst="ff:ff:ff:ff:ff:ff"))
    sim.run(max_ms=1)
    assert ep.recvfrom() == (b"hi all", (PEER_IP, 7))


def test_zero_checksum_means_none_and_bad_checksum_is_dropped():
    sim, stack, iface, peer = setup()
    ep = stack.udp.bind(9)
    peer.send(eth(IP(src=PEER_IP, dst=STACK_IP) / UDP(sport=7, dport=9, chksum=0) / b"no sum"))
    peer.send(eth(IP(src=PEER_IP, dst=STACK_IP) / UDP(sport=7, dport=9, chksum=0x1111) / b"bad sum"))
    sim.run(max_ms=1)
    assert ep.recvfrom() == (b"no sum", (PEER_IP, 7))
    assert ep.recvfrom() is None
    assert stack.stats["udp"]["drop_checksum"] == 1


def test_sent_datagrams_carry_a_checksum_scapy_accepts():
    sim, stack, iface, peer = setup()
    stack.interfaces[0].arp.learn(bytes([192, 0, 2, 1]), bytes.fromhex("020000000001"), sim.now)
    for n in (0, 1, 2, 1471, 1472):
        stack.udp.bind().sendto(bytes(range(7, 7 + n % 200)) * (n // 200 + 1), (PEER_IP, 9))
    sim.run(max_ms=1)
    for f in peer.take():
        sent = f[UDP].chksum
        rebuilt = IP(bytes(f[IP]))
        del rebuilt[UDP].chksum  # scapy recomputes it over the pseudo-header
        assert IP(bytes(rebuilt))[UDP].chksum == sent


def test_oversized_datagram_is_emsgsize():
    sim, stack, iface, peer = setup()
    with pytest.raises(OSError) as e:
        stack.udp.bind().sendto(b"x" * 65508, (PEER_IP, 9))
    assert e.value.args[0] == EMSGSIZE


def test_errors_carry_errno_like_the_runtimes_own_sockets():
    # CPython sets OSError.errno (and the subclass) only when a message comes with the number.
    sim, stack, iface, peer = setup()
    stack.udp.bind(5000)
    with pytest.raises(OSError) as e:
        stack.udp.bind(5000)
    assert e.value.errno == EADDRINUSE and "EADDRINUSE" in str(e.value)
    ep = stack.udp.bind(4000)
    ep.sendto(b"x", (STACK_IP, 9))  # closed port on ourselves: port unreachable via loopback
    sim.run(max_ms=1)
    with pytest.raises(ConnectionRefusedError):
        ep.recvfrom()
