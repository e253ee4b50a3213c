"""A scripted peer for behaviour tests: an unbound NIC on a virtual wire that records what the
stack sends (decoded by scapy, an independent decoder) and injects frames built with scapy."""

from scapy.layers.inet import IP
from scapy.layers.l2 import ARP, Ether

from barenet.nic import Wrapper
from barenet_host.vwire import Sim

STACK_MAC = "02:00:00:00:00:02"
STACK_IP = "192.0.2.2"
PEER_MAC = "02:00:00:00:00:01"
PEER_IP = "192.0.2.1"


class Peer:
    def __init__(self, wire, mac=PEER_MAC, ip=PEER_IP):
        self.nic = wire.nic()
        self.mac = mac
        self.ip = ip

    def take(self):
        """Every frame received since the last call, decoded by scapy."""
        out = [Ether(f) for f in self.nic.received]
        self.nic.received.clear()
        return out

    def send(self, pkt):
        self.nic.send(bytes(pkt))

    def ip_frames(self):
        return [f for f in self.take() if IP in f]

    def reply_arp(self, frames, ip=None, mac=None):
        """Answer every ARP who-has in frames that asks for ip (default: ours)."""
        ip = ip or self.ip
        mac = mac or self.mac
        for f in frames:
            if ARP in f and f[ARP].op == 1 and f[ARP].pdst == ip:
                self.send(Ether(dst=f.src, src=mac) /
                          ARP(op=2, hwsrc=mac, psrc=ip, hwdst=f[ARP].hwsrc, pdst=f[ARP].psrc))


def setup(start_ms=0, gateway=None, faults=None, **stack_kwargs):
    """(sim, stack, iface, peer): one barenet stack and one scripted peer on a wire."""
    sim = Sim(start_ms)
    wire = sim.wire(faults=faults)
    stack, iface = sim.host(wire, STACK_MAC, STACK_IP + "/24", gateway=gateway, **stack_kwargs)
    peer = Peer(wire)
    sim.run(max_ms=1)
    peer.take()  # drop the gratuitous ARP
    return sim, stack, iface, peer


class ListNIC:
    """A pull NIC (barenet/nic.py) for tests: hands out the frames in `waiting` and keeps what
    is sent (as bytes: a frame is only valid during send())."""

    mtu = 1500

    def __init__(self, frames=(), fd=42):
        self.waiting = list(frames)
        self.sent = []
        self.fd = fd

    def send(self, frame):
        self.sent.append(bytes(frame))

    def recv_into(self, buf):
        if not self.waiting:
            return 0
        f = self.waiting.pop(0)
        buf[:len(f)] = f
        return len(f)

    def fileno(self):
        return self.fd


class CountingNIC(Wrapper):
    """Wraps a NIC and counts frames handed to it (proves loopback never reaches a NIC)."""

    def __init__(self, inner):
        Wrapper.__init__(self, inner)
        self.sent = 0

    def send(self, frame):
        self.sent += 1
        self.nic.send(frame)

    def recv_into(self, buf):
        return self.nic.recv_into(buf)
