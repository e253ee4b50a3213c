"""`--forward tcp:[HOSTADDR:]PORT=BOARDPORT` (or udp:, repeatable): a host socket whose
connections (or datagrams) the gateway carries to a port of the board: the only way in
through the NAT. HOSTADDR is 127.0.0.1 unless given.

Each host peer of a UDP forward is a flow of its own (InboundUDPFlow): a gateway UDP port
that sends the peer's datagrams to the board and the board's answers back to the peer.
"""

import socket

from barenet.addr import ip_ntoa

DEFAULT_ADDR = "127.0.0.1"
BACKLOG = 128
BURST = 64          # datagrams read from a UDP forward's socket per wakeup


class Forward:
    def __init__(self, proto, addr, port, board_port, text):
        self.proto = proto
        self.addr = addr
        self.port = port
        self.board_port = board_port
        self.text = text
        self.sock = None
        self.peers = {}     # udp: host peer (addr, port) -> its InboundUDPFlow

    def __repr__(self):
        return "%s:%s:%d=%d" % (self.proto, self.addr, self.port, self.board_port)


def parse(text):
    """'tcp:127.0.0.1:8080=80' -> Forward; ValueError with a one-line reason."""
    proto, colon, rest = text.partition(":")
    if proto not in ("tcp", "udp") or not colon:
        raise ValueError("forward %r: expected tcp:[HOSTADDR:]PORT=BOARDPORT or udp:..."
                         % text)
    host, eq, board = rest.partition("=")
    if not eq:
        raise ValueError("forward %r: the board port is missing (tcp:[HOSTADDR:]PORT="
                         "BOARDPORT)" % text)
    addr, _, port = host.rpartition(":")
    addr = addr or DEFAULT_ADDR
    try:
        socket.inet_aton(addr)
        if addr.count(".") != 3:
            raise OSError
    except OSError:
        raise ValueError("forward %r: %r is not an IPv4 address" % (text, addr))
    ports = []
    for what, p in (("host port", port), ("board port", board)):
        if not p.isdigit() or not 0 < int(p) < 65536:
            raise ValueError("forward %r: the %s must be 1-65535 (tcp:[HOSTADDR:]PORT="
                             "BOARDPORT)" % (text, what))
        ports.append(int(p))
    return Forward(proto, addr, ports[0], ports[1], text)


def listen(fwd):
    """Bind (and for tcp listen) for fwd; OSError (its strerror one line) when the port is
    busy."""
    tcp = fwd.proto == "tcp"
    s = socket.socket(socket.AF_INET, (socket.SOCK_STREAM if tcp else socket.SOCK_DGRAM)
                      | socket.SOCK_NONBLOCK | socket.SOCK_CLOEXEC)
    try:
        if tcp:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((fwd.addr, fwd.port))
        if tcp:
            s.listen(BACKLOG)
    except OSError:
        s.close()
        raise
    fwd.sock = s
    return s


class InboundUDPFlow:
    """A host peer of a UDP forward: its datagrams go to the board from a gateway port of
    its own, and what the board sends to that port goes back to the peer."""

    proto = "udp"

    def __init__(self, gw, fwd, peer, now):
        self.gw = gw
        self.fwd = fwd
        self.peer = peer
        self.last = now
        self.up = self.down = 0
        self.ep = gw.stack.udp.bind(0)
        iface_ip = gw.stack.interfaces[0].ip
        self.key = ("udp", gw.board_ip, fwd.board_port, iface_ip, self.ep.port)

    def kind(self):
        return "udp"

    def row(self):
        return {"proto": "udp", "board": "%s:%d" % (ip_ntoa(self.key[1]), self.key[2]),
                "remote": "%s:%d" % self.peer, "dir": "in", "state": "open",
                "bytes_up": self.up, "bytes_down": self.down, "buffered": 0}

    def from_host(self, data, now):
        self.last = now
        try:
            self.ep.sendto(data, (ip_ntoa(self.key[1]), self.key[2]))
        except OSError:
            self.gw.count("udp_drop_board")
            return
        self.down += len(data)

    def pump(self, now):
        """The board's answers, back to the peer (UDP: a full host socket drops them)."""
        while True:
            try:
                got = self.ep.recvfrom()
            except OSError:
                self.gw.count("udp_port_unreachable")   # the board's port is closed
                continue
            if got is None:
                return
            try:
                self.fwd.sock.sendto(got[0], self.peer)
            except OSError:
                self.gw.count("udp_drop_host_full")
                continue
            self.up += len(got[0])
            self.last = now

    def close(self, why):
        self.ep.close()
        self.fwd.peers.pop(self.peer, None)
