"""SO_RCVBUF/SO_SNDBUF set before connect() and listen() reach the wire (barenet only; the
two-target tests in tests/sockets/test_linger_bufsize.py see their effect from outside): the
SYN and the SYN,ACK offer the smaller window with the window scale that fits it, as Linux's
tcp_select_initial_window picks it from the socket's rcvbuf, and the TCBs hold those sizes."""

from barenet.socket import Sockets, SOL_SOCKET, SO_RCVBUF, SO_SNDBUF
from barenet_host.vwire import Sim, SimDriver
from test_socket_options import Sniffer


def syns(frames):
    """{flags: (window, wscale or None)} of the SYN and SYN,ACK on the wire."""
    out = {}
    for f in frames:
        if len(f) < 54 or f[12:14] != b"\x08\x00" or f[14 + 9] != 6:
            continue
        t = f[14 + (f[14] & 15) * 4:]
        flags = t[13]
        if not flags & 0x02:
            continue
        ws = None
        opts = t[20:(t[12] >> 4) * 4]
        i = 0
        while i < len(opts) and opts[i] != 0:
            if opts[i] == 1:
                i += 1
                continue
            if opts[i] == 3:
                ws = opts[i + 2]
            i += opts[i + 1]
        out["SA" if flags & 0x10 else "S"] = ((t[14] << 8) | t[15], ws)
    return out


def exchange(rcv_cli=None, rcv_srv=None, snd_cli=None):
    sim = Sim()
    sniff = Sniffer()
    wire = sim.wire(pcap=sniff)
    a, _ = sim.host(wire, "02:00:00:00:00:01", "192.0.2.1/24", profile="host")
    b, _ = sim.host(wire, "02:00:00:00:00:02", "192.0.2.2/24", profile="host")
    drv = SimDriver(sim)
    srv, cli = Sockets(a, drv), Sockets(b, drv)
    lst = srv.socket()
    if rcv_srv:
        lst.setsockopt(SOL_SOCKET, SO_RCVBUF, rcv_srv)
    lst.bind(("192.0.2.1", 80))
    lst.listen()
    c = cli.socket()
    if rcv_cli:
        c.setsockopt(SOL_SOCKET, SO_RCVBUF, rcv_cli)
    if snd_cli:
        c.setsockopt(SOL_SOCKET, SO_SNDBUF, snd_cli)
    c.settimeout(5)
    c.connect(("192.0.2.1", 80))
    lst.settimeout(5)
    conn, _ = lst.accept()
    return syns(sniff.frames), c._ep, conn._ep


def test_the_profiles_window_by_default():
    w, c, s = exchange()
    assert w == {"S": (65535, 3), "SA": (65535, 3)}      # 256 KB: window scale 3
    assert c.rcvbuf.size == s.rcvbuf.size == c.sndbuf.size == 262144


def test_smaller_buffers_offer_a_smaller_window_and_scale():
    w, c, s = exchange(rcv_cli=4096, rcv_srv=3000, snd_cli=10000)
    assert w == {"S": (4096, 0), "SA": (3000, 0)}
    assert (c.rcvbuf.size, c.sndbuf.size) == (4096, 10000)
    assert (s.rcvbuf.size, s.sndbuf.size) == (3000, 262144)   # sndbuf left as the profile's
    assert c.rcvbuf.start == 4096 and c.rcvbuf.cap <= 4096     # storage within the new size


def test_values_beyond_the_bounds_are_clamped():
    w, c, s = exchange(rcv_cli=100, rcv_srv=1 << 30)
    assert w["S"] == (2048, 0) and c.rcvbuf.size == 2048
    assert s.rcvbuf.size == 262144 and w["SA"] == (65535, 3)
