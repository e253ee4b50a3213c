"""`--forward tcp:[HOSTADDR:]PORT=BOARDPORT` (repeatable): a host listening socket whose
connections the gateway carries to a port of the board (the only way in through the NAT).
HOSTADDR is 127.0.0.1 unless given."""

import socket

DEFAULT_ADDR = "127.0.0.1"
BACKLOG = 128


class Forward:
    def __init__(self, proto, addr, port, board_port, text):
        self.proto = proto
        self.addr = addr
        self.port = port
        self.board_port = board_port
        self.text = text
        self.sock = None

    def __repr__(self):
        return "%s:%s:%d=%d" % (self.proto, self.addr, self.port, self.board_port)


def parse(text):
    """'tcp:127.0.0.1:8080=80' -> Forward; ValueError with a one-line reason."""
    proto, colon, rest = text.partition(":")
    if proto != "tcp" or not colon:
        raise ValueError("forward %r: expected tcp:[HOSTADDR:]PORT=BOARDPORT (only tcp is "
                         "supported)" % text)
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
    """Bind and listen for fwd; OSError (its strerror one line) when the port is busy."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM | socket.SOCK_NONBLOCK
                      | socket.SOCK_CLOEXEC)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((fwd.addr, fwd.port))
        s.listen(BACKLOG)
    except OSError:
        s.close()
        raise
    fwd.sock = s
    return s
