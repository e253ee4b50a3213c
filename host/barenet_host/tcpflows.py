"""The TCP connections in a packet capture, each with its segments in capture order: what
`barenet plot` draws a time-sequence graph from. CPython only.

Frames are decoded with the core's own codecs (barenet.wire). TCP checksums are not verified:
a capture on the sending host sees segments before the NIC fills them in (checksum offload),
and one cut by its snaplen has only the headers.
"""

from barenet.addr import ip_ntoa
from barenet.wire import Malformed, ethernet, ipv4, tcp

from barenet_host import pcap

_LINKTYPES = (pcap.LINKTYPE_ETHERNET, pcap.LINKTYPE_RAW)


class Seg:
    """One segment as the graph needs it; seq, ack and the SACK blocks as on the wire."""

    __slots__ = ("t_us", "fwd", "seq", "ack", "flags", "wnd", "length", "sack", "wscale")

    def __init__(self, t_us, fwd, s, length):
        self.t_us = t_us
        self.fwd = fwd       # sent by the endpoint that sent the connection's first segment
        self.seq = s.seq
        self.ack = s.ack
        self.flags = s.flags
        self.wnd = s.wnd
        self.length = length
        self.sack = s.sack
        self.wscale = s.wscale


class Flow:
    """One connection: its endpoints ("a.b.c.d:port"; `a` sent the first segment seen, the SYN
    when the capture has it) and its segments."""

    def __init__(self, a, b):
        self.a = a
        self.b = b
        self.segs = []

    def payload(self, fwd):
        return sum(s.length for s in self.segs if s.fwd == fwd)

    def __str__(self):
        return "%s <-> %s" % (self.a, self.b)


def _datagram(linktype, frame):
    """The IPv4 datagram in a frame, or None (another protocol)."""
    if linktype == pcap.LINKTYPE_ETHERNET:
        if ethernet.ethertype(frame) != ethernet.TYPE_IPV4:
            return None
        return frame[ethernet.HEADER_LEN:]
    return frame if len(frame) and frame[0] >> 4 == 4 else None


def flows(f):
    """A classic pcap file object -> (the TCP flows in order of first appearance, frames not
    taken: other protocols, fragments, malformed). Raises ValueError for a file that is not a
    pcap of a supported link type, or a cut-short record."""
    linktype, frames = pcap.read(f)
    if linktype not in _LINKTYPES:
        raise ValueError("link type %d is not supported (Ethernet 1 or raw IP 101)" % linktype)
    found = []
    by_key = {}
    skipped = 0
    for t_us, frame, orig in frames:
        if orig > len(frame):
            # Cut by the snaplen (tcpdump -s 128): the headers are whole, and zeros stand in for
            # the payload, so that its length still comes from the IP header.
            frame += bytes(orig - len(frame))
        view = memoryview(frame)
        try:
            dgram = _datagram(linktype, view)
            if dgram is None:
                skipped += 1
                continue
            h, payload = ipv4.parse(dgram)
            if h.proto != ipv4.PROTO_TCP or h.mf or h.frag_off:
                skipped += 1
                continue
            s = tcp.parse(payload)
        except Malformed:
            skipped += 1
            continue
        src = "%s:%d" % (ip_ntoa(h.src), s.sport)
        dst = "%s:%d" % (ip_ntoa(h.dst), s.dport)
        key = (src, dst) if src < dst else (dst, src)
        flow = by_key.get(key)
        if flow is None or _reopens(flow, s, src):
            flow = by_key[key] = Flow(src, dst)
            found.append(flow)
        flow.segs.append(Seg(t_us, src == flow.a, s, len(s.payload)))
    return found, skipped


def _reopens(flow, s, src):
    """A SYN other than the flow's own (retransmitted) one starts a new incarnation."""
    if s.flags & (tcp.SYN | tcp.ACK) != tcp.SYN:
        return False
    first = flow.segs[0]
    return not (first.fwd == (src == flow.a) and first.seq == s.seq)
