"""`--verbose`: one tcpdump-like line per frame, in both directions, as NIC middleware.

    0.000 In  ARP, Request who-has 192.0.2.2 tell 192.0.2.1, length 28
    0.001 Out IP 192.0.2.2.7 > 192.0.2.1.40000: Flags [S.], seq 1, ack 2, win 64240, length 0

The time is seconds since the first frame traced, from the loop step's clock; sequence numbers
are absolute (tcpdump -S). Frames are decoded with the core's own codecs (barenet/wire); a
frame or a layer they reject is printed as `[bad LAYER: REASON]` with its length, never raised.
"""

from barenet import ticks
from barenet.addr import ip_ntoa, mac_ntoa
from barenet.nic import ETHERNET
from barenet.wire import Malformed, arp, ethernet, icmp, ipv4, tcp, udp

from barenet_host.observe import ObservingNIC

_TYPE_IPV6 = 0x86DD
_ICMP_NAMES = {icmp.ECHO_REPLY: "echo reply", icmp.DEST_UNREACH: "unreachable",
               icmp.SOURCE_QUENCH: "source quench", icmp.REDIRECT: "redirect",
               icmp.ECHO_REQUEST: "echo request", icmp.TIME_EXCEEDED: "time exceeded",
               icmp.PARAM_PROBLEM: "parameter problem"}
# tcpdump's letters, in its order; ACK is the trailing '.'
_TCP_FLAGS = ((tcp.SYN, "S"), (tcp.FIN, "F"), (tcp.PSH, "P"), (tcp.RST, "R"), (tcp.URG, "U"),
              (tcp.CWR, "W"), (tcp.ECE, "E"), (tcp.ACK, "."))


def _bad(layer, e, n):
    return "[bad %s: %s], length %d" % (layer, e.args[0] if e.args else "malformed", n)


def describe(frame, link=ETHERNET):
    """One line (no newline) saying what frame is; frame is bytes or a memoryview."""
    mv = memoryview(frame)
    if link != ETHERNET:
        return _ip(mv)
    try:
        _, _, etype, payload = ethernet.parse(mv)
    except Malformed as e:
        return _bad("ethernet", e, len(mv))
    if etype == ethernet.TYPE_ARP:
        return _arp(payload)
    if etype == ethernet.TYPE_IPV4:
        return _ip(payload)
    if etype == _TYPE_IPV6:
        return "IP6, length %d" % len(payload)
    return "ethertype 0x%04x, length %d" % (etype, len(payload))


def _arp(data):
    try:
        op, sha, spa, _, tpa = arp.parse(data)
    except Malformed as e:
        return "ARP, " + _bad("arp", e, len(data))
    if op == arp.OP_REQUEST:
        return "ARP, Request who-has %s tell %s, length %d" % (ip_ntoa(tpa), ip_ntoa(spa), arp.LEN)
    return "ARP, Reply %s is-at %s, length %d" % (ip_ntoa(spa), mac_ntoa(sha), arp.LEN)


def _ip(data):
    if len(data) and data[0] >> 4 == 6:
        return "IP6, length %d" % len(data)
    try:
        h = ipv4.parse_into(data, ipv4.Header(), verify=False)
    except Malformed as e:
        return _bad("ip", e, len(data))
    src, dst = ip_ntoa(h.src), ip_ntoa(h.dst)
    try:
        ipv4.parse_into(data, ipv4.Header())
    except Malformed as e:
        return "IP %s > %s: %s" % (src, dst, _bad("ip", e, h.total_len))
    payload = h.payload
    n = len(payload)
    if h.mf or h.frag_off:
        # only the first fragment holds the transport header, and not its whole datagram
        return "IP %s > %s: frag id %d offset %d%s, proto %d, length %d" % (
            src, dst, h.ident, h.frag_off, "+" if h.mf else "", h.proto, n)
    try:
        if h.proto == ipv4.PROTO_TCP:
            seg = tcp.parse(payload, asum=h.asum)
            return "IP %s.%d > %s.%d: %s" % (src, seg.sport, dst, seg.dport, _tcp(seg))
        if h.proto == ipv4.PROTO_UDP:
            sport, dport, body = udp.parse(payload, h.src, h.dst)
            return "IP %s.%d > %s.%d: UDP, length %d" % (src, sport, dst, dport, len(body))
        if h.proto == ipv4.PROTO_ICMP:
            return "IP %s > %s: %s" % (src, dst, _icmp(payload))
    except Malformed as e:
        name = {ipv4.PROTO_TCP: "tcp", ipv4.PROTO_UDP: "udp"}.get(h.proto, "icmp")
        return "IP %s > %s: %s" % (src, dst, _bad(name, e, n))
    return "IP %s > %s: ip-proto-%d, length %d" % (src, dst, h.proto, n)


def _tcp(seg):
    flags = "".join(ch for bit, ch in _TCP_FLAGS if seg.flags & bit) or "none"
    n = len(seg.payload)
    seq = "%d:%d" % (seg.seq, (seg.seq + n) & 0xFFFFFFFF) if n else "%d" % seg.seq
    ack = ", ack %d" % seg.ack if seg.flags & tcp.ACK else ""
    return "Flags [%s], seq %s%s, win %d, length %d" % (flags, seq, ack, seg.wnd, n)


def _icmp(data):
    typ, code, rest, body = icmp.parse(data)
    n = len(data)
    if typ in (icmp.ECHO_REQUEST, icmp.ECHO_REPLY):
        return "ICMP %s, id %d, seq %d, length %d" % (_ICMP_NAMES[typ], rest >> 16,
                                                      rest & 0xFFFF, n)
    name = _ICMP_NAMES.get(typ, "type %d" % typ)
    return "ICMP %s, code %d, length %d" % (name, code, n)


class TraceNIC(ObservingNIC):
    """Writes describe()'s line for every frame passing, to out (a text stream), flushed."""

    def __init__(self, nic, out):
        ObservingNIC.__init__(self, nic)
        self.out = out
        self._start = None

    def observe(self, outgoing, frame, now_ms):
        if self._start is None:
            self._start = now_ms
        ms = ticks.diff(now_ms, self._start)
        self.out.write("%d.%03d %s %s\n" % (ms // 1000, ms % 1000, "Out" if outgoing else "In ",
                                           describe(frame, self.link)))
        self.out.flush()
