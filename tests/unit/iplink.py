"""A stack on an IP link (TUN/SLIP style: bare datagrams, no ARP in the way) for tests that
feed it hand-made datagrams at explicit virtual times and read what it sends."""

from barenet.stack import Stack
from barenet.wire import ipv4
from peer import ListNIC

OURS = bytes([192, 0, 2, 2])
PORT = 9
T0 = (1 << 30) - 20000  # just before the tick counter wraps: deadlines cross it


def src(n):
    """The n-th test sender, 192.0.2.(10 + n)."""
    return bytes([192, 0, 2, 10 + n])


def frame(s, ident, off, chunk, mf, proto=17):
    """A datagram (or a fragment of one) from s to us carrying chunk."""
    d = bytearray(20 + len(chunk))
    ipv4.emit(d, 0, s, OURS, proto, len(chunk), ident, mf=mf, frag_off=off)
    d[20:] = chunk
    return d


class IPLink:
    """One stack with a UDP port (PORT) bound; check() runs after every frame and step."""

    def __init__(self, profile="board", **kw):
        self.stack = Stack(profile, **kw)
        self.nic = ListNIC()
        self.iface = self.stack.add_interface(self.nic, link="ip", ip="192.0.2.2/24", now_ms=T0)
        self.ep = self.stack.udp.bind(PORT, queue=1000)
        self.now = T0

    def feed(self, d):
        self.stack.input(self.iface, d, self.now)
        self.stack.poll(self.now)
        self.check()

    def frag(self, s, ident, off, chunk, mf, proto=17):
        self.feed(frame(s, ident, off, chunk, mf, proto))

    def advance(self, ms):
        self.now = (self.now + ms) % (1 << 30)
        self.stack.poll(self.now)
        self.check()

    def received(self):
        out = []
        while True:
            d = self.ep.recvfrom()
            if d is None:
                return out
            out.append(d)

    def taken(self):
        """What the stack sent since the last call (datagrams, as bytes)."""
        out = self.nic.sent[:]
        del self.nic.sent[:]
        return out

    def count(self, layer, name):
        return self.stack.stats[layer].get(name, 0)

    def ip(self, name):
        return self.count("ip", name)

    def check(self):
        assert self.stack.stats["stack"].get("drop_internal_error", 0) == 0, self.stack.last_error
